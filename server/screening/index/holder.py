"""The worker's in-memory index: loaded for the current snapshot, swapped in atomically.

Screening reads `holder.current` (one attribute read, so a request sees one whole index
from start to end) and never waits on Redis. A watcher follows the reload channel, and
polls the `current` pointer in case a message was missed; when Redis is unreachable it
keeps the last good index and retries. When Redis comes back empty (restarted without
data), it republishes the snapshot it holds.

An index is built once per host (index/files.py): a worker reads the host's file of the
snapshot; if there is none, the first worker to ask starts a builder process (index/build.py)
and the others wait for its file, answering calls meanwhile. Where no file can be written,
the worker builds its own on its event loop, in slices.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import gc
import logging
import os
import sys
import time
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass

import redis

from screening.index.files import IndexFiles
from screening.index.shared import SHARE_KEY_ENV
from screening.matching.matcher import MatchIndex
from screening.model.entities import Entity
from screening.model.entity_table import EntitiesById
from screening.store.connection import AsyncRedis, open_pubsub
from screening.store.snapshots import ListStore, Manifest, entity_chunks

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class LoadedIndex:
    version: str
    manifest: Manifest
    matcher: MatchIndex
    loaded_at: dt.datetime
    build_seconds: float

    @property
    def entities(self) -> Mapping[str, Entity]:
        """The snapshot's entities by id (the matcher's, decoded as they are read)."""
        return EntitiesById(self.matcher.entities, self.matcher.position)

    @classmethod
    def build(cls, manifest: Manifest, entities: list[Entity]) -> LoadedIndex:
        started = time.perf_counter()
        return cls._of(manifest, MatchIndex(entities), started)

    @classmethod
    async def build_async(cls, manifest: Manifest, entities: list[Entity]) -> LoadedIndex:
        """Build cooperatively on the event loop: calls keep being answered meanwhile."""
        started = time.perf_counter()
        matcher = await MatchIndex.build_async(entities)
        return cls._of(manifest, matcher, started)

    @classmethod
    def _of(cls, manifest: Manifest, matcher: MatchIndex, started: float) -> LoadedIndex:
        return cls(
            version=manifest.version,
            manifest=manifest,
            matcher=matcher,
            loaded_at=dt.datetime.now(dt.UTC),
            build_seconds=time.perf_counter() - started,
        )


BUILD_PROGRESS_SECONDS = 5.0


async def _say_building(version: str, entities: int) -> None:
    started = time.perf_counter()
    while True:
        await asyncio.sleep(BUILD_PROGRESS_SECONDS)
        log.info(
            "building index",
            extra={
                "data_version": version,
                "entities": entities,
                "seconds": round(time.perf_counter() - started, 1),
            },
        )


class IndexHolder:
    def __init__(
        self,
        store: ListStore,
        *,
        poll_seconds: float = 5.0,
        on_swap: Callable[[LoadedIndex], None] | None = None,
        files: IndexFiles | None = None,
        redis_url: str = "",
        share_key: str = "",
    ) -> None:
        self.store = store
        self.poll_seconds = poll_seconds
        # The host's index files, and the Redis a builder process reads the snapshot from.
        self.files = files if redis_url else None
        self.redis_url = redis_url
        # The builder's key for index files shared through Redis (index/shared.py).
        self._share_key = share_key
        self.current: LoadedIndex | None = None
        self._on_swap = on_swap
        self._lock = asyncio.Lock()

    def load_sync(self, version: str | None = None) -> LoadedIndex | None:
        """Load and build `version` (default: current). Blocking; call from a thread."""
        manifest = self.store.manifest(version)
        if manifest is None:
            return None
        entities = self.store.entities(manifest)
        return LoadedIndex.build(manifest, entities)

    def swap(self, loaded: LoadedIndex) -> None:
        previous = self.current
        self.current = loaded
        log.info(
            "index swapped",
            extra={
                "data_version": loaded.version,
                "previous_version": previous.version if previous else None,
                "entities": len(loaded.entities),
                "names": loaded.matcher.name_count,
                "build_seconds": round(loaded.build_seconds, 3),
            },
        )
        if self._on_swap is not None:
            self._on_swap(loaded)

    async def refresh(self, version: str | None = None) -> bool:
        """Load `version` (default: current) unless it is the one being served."""
        async with self._lock:
            target = version or await asyncio.to_thread(self.store.current_version)
            if target is None:
                await self._restore_if_lost()
                return False
            if self.current is not None and self.current.version == target:
                return False
            # The index is millions of long-lived objects: a full garbage collection over
            # them takes a second. Build with the collector paused, then freeze what exists
            # so later collections skip it (plain reference counting still frees old ones).
            gc.disable()
            try:
                loaded = await self._load(target)
                if loaded is None:
                    return False
                self.swap(loaded)
            finally:
                gc.freeze()
                gc.enable()
            return True

    async def _load(self, version: str) -> LoadedIndex | None:
        """Fetch a snapshot (in a thread: Redis I/O), decode it source by source and build
        its index on the event loop in slices, so serving never stops for long."""
        manifest = await asyncio.to_thread(self.store.manifest, version)
        if manifest is None:
            return None
        if self.files is not None:
            started = time.perf_counter()
            matcher = await self._from_file(self.files, manifest)
            if matcher is not None:
                _say_read(manifest, matcher, self.files, time.perf_counter() - started)
                return LoadedIndex._of(manifest, matcher, started)
        started = time.perf_counter()
        blobs = await asyncio.to_thread(self.store.blobs, manifest)
        log.info(
            "list data fetched",
            extra={
                "data_version": version,
                "sources": len(blobs),
                "bytes": sum(len(b) for b in blobs.values()),
                "seconds": round(time.perf_counter() - started, 2),
            },
        )
        entities: list[Entity] = []
        for source, blob in blobs.items():
            started, before = time.perf_counter(), len(entities)
            for chunk in entity_chunks(blob):
                entities.extend(chunk)
                await asyncio.sleep(0)
            # Start-up progress, source by source (a worker listens once all are indexed).
            log.info(
                "list data loaded",
                extra={
                    "source": source,
                    "entities": len(entities) - before,
                    "seconds": round(time.perf_counter() - started, 2),
                },
            )
        log.info("building index", extra={"data_version": version, "entities": len(entities)})
        # The build yields to the event loop every few milliseconds: say it is still going.
        ticker = asyncio.create_task(_say_building(version, len(entities)))
        try:
            return await LoadedIndex.build_async(manifest, entities)
        finally:
            ticker.cancel()

    async def _from_file(self, files: IndexFiles, manifest: Manifest) -> MatchIndex | None:
        """The host's index of `manifest`: read, or built first by a builder process this
        worker starts, or by one another process started. None where no file can be had."""
        try:
            while True:
                matcher = await asyncio.to_thread(files.read, manifest)
                if matcher is not None:
                    return matcher
                lock = files.try_lock(manifest)
                if lock is None:
                    await asyncio.sleep(0.05)  # another process builds it
                    continue
                try:
                    # Under the lock: a file written meanwhile is read; a missing or damaged
                    # one is built (once: a build whose file cannot be read leaves it here).
                    matcher = await asyncio.to_thread(files.read, manifest)
                    if matcher is not None:
                        return matcher
                    if not await self._build(manifest):
                        return None
                    return await asyncio.to_thread(files.read, manifest)
                finally:
                    os.close(lock)
        except OSError as exc:
            log.warning(
                "no index file; building in this worker",
                extra={"data_version": manifest.version, "error": str(exc)},
            )
            return None

    async def _build(self, manifest: Manifest) -> bool:
        """Run a builder process for `manifest` (the caller holds the lock)."""
        assert self.files is not None
        proc = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "screening.index.build",
            "--redis-url",
            self.redis_url,
            "--prefix",
            self.store.prefix,
            "--version",
            manifest.version,
            "--dir",
            str(self.files.directory),
            env={**os.environ, SHARE_KEY_ENV: self._share_key},
        )
        try:
            code = await proc.wait()
        except asyncio.CancelledError:
            with contextlib.suppress(ProcessLookupError):
                proc.kill()
            raise
        if code != 0:
            log.error(
                "index builder failed; building in this worker",
                extra={"data_version": manifest.version, "exitcode": code},
            )
        return code == 0

    async def _restore_if_lost(self) -> None:
        """Redis has no snapshot (restarted empty?): put back the one we serve."""
        if self.current is None:
            return
        held = self.current
        log.warning("redis holds no snapshot; republishing", extra={"data_version": held.version})
        await asyncio.to_thread(self._republish, held)

    def _republish(self, held: LoadedIndex) -> None:
        from screening.store.snapshots import encode_entities

        by_source: dict[str, list[Entity]] = {}
        for entity in held.entities.values():
            by_source.setdefault(entity.source, []).append(entity)
        for source, state in held.manifest.sources.items():
            key = self.store.keys.blob(state.blob)
            self.store.redis.set(key, encode_entities(by_source.get(source, [])), nx=True)
        self.store.republish(held.manifest)

    async def watch(self, client: AsyncRedis, stop: asyncio.Event) -> None:
        """Follow reload events until `stop` is set; survive Redis outages and failovers
        (each reconnection asks the client anew where the primary or the channel's node is)."""
        backoff = 0.5
        while not stop.is_set():
            pubsub = None
            try:
                pubsub = await open_pubsub(client)
                await pubsub.subscribe(self.store.keys.reload_channel)
                backoff = 0.5
                await self.refresh()
                last_poll = time.monotonic()
                while not stop.is_set():
                    message = await pubsub.get_message(
                        ignore_subscribe_messages=True, timeout=min(1.0, self.poll_seconds)
                    )
                    if message and message.get("type") == "message":
                        data = message["data"]
                        await self.refresh(data.decode() if isinstance(data, bytes) else data)
                    elif time.monotonic() - last_poll >= self.poll_seconds:
                        last_poll = time.monotonic()
                        await self.refresh()
                return
            except (redis.RedisError, OSError) as exc:
                log.warning(
                    "redis unavailable; serving the last good index",
                    extra={"error": str(exc), "retry_in": backoff},
                )
            except Exception as exc:
                # A snapshot read mid-failover (a blob not replicated yet, a client library
                # error on a dropped connection) must not end the watch: a dead watcher
                # would serve stale data for the rest of the process's life, silently.
                log.error(
                    "reload watcher failed; serving the last good index",
                    extra={"error": f"{type(exc).__name__}: {exc}", "retry_in": backoff},
                    exc_info=True,
                )
            finally:
                if pubsub is not None:
                    with contextlib.suppress(Exception):  # connection already gone
                        await pubsub.aclose()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=backoff)
            backoff = min(backoff * 2, 10.0)


def _say_read(manifest: Manifest, matcher: MatchIndex, files: IndexFiles, seconds: float) -> None:
    """Start-up progress of a worker that read the host's index file: what it holds, source
    by source, as a worker that builds its own says it."""
    per_source = Counter(matcher.sources[code] for code in matcher.entity_source.tolist())
    for source in sorted(manifest.sources):
        log.info(
            "list data loaded",
            extra={"source": source, "entities": per_source[source], "from": "index file"},
        )
    log.info(
        "index file read",
        extra={
            "data_version": manifest.version,
            "entities": len(matcher.entities),
            "file": str(files.path(manifest)),
            "seconds": round(seconds, 2),
        },
    )
