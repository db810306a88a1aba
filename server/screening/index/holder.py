"""The worker's in-memory index: built from the current snapshot, swapped in atomically.

Screening reads `holder.current` (one attribute read, so a request sees one whole index
from start to end) and never waits on Redis. A watcher follows the reload channel, and
polls the `current` pointer in case a message was missed; when Redis is unreachable it
keeps the last good index and retries. When Redis comes back empty (restarted without
data), it republishes the snapshot it holds.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import redis

from screening.matching.engine import MatchIndex
from screening.model import Entity
from screening.store.connection import AsyncRedis, open_pubsub
from screening.store.snapshots import ListStore, Manifest

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class LoadedIndex:
    version: str
    manifest: Manifest
    matcher: MatchIndex
    loaded_at: dt.datetime
    build_seconds: float
    entities: dict[str, Entity] = field(repr=False, default_factory=dict)

    @classmethod
    def build(cls, manifest: Manifest, entities: list[Entity]) -> LoadedIndex:
        started = time.perf_counter()
        matcher = MatchIndex(entities)
        return cls(
            version=manifest.version,
            manifest=manifest,
            matcher=matcher,
            loaded_at=dt.datetime.now(dt.UTC),
            build_seconds=time.perf_counter() - started,
            entities={e.id: e for e in entities},
        )


class IndexHolder:
    def __init__(
        self,
        store: ListStore,
        *,
        poll_seconds: float = 5.0,
        on_swap: Callable[[LoadedIndex], None] | None = None,
    ) -> None:
        self.store = store
        self.poll_seconds = poll_seconds
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
            loaded = await asyncio.to_thread(self.load_sync, target)
            if loaded is None:
                return False
            self.swap(loaded)
            return True

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
            except (redis.RedisError, OSError) as exc:
                log.warning(
                    "redis unavailable; serving the last good index",
                    extra={"error": str(exc), "retry_in": backoff},
                )
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), timeout=backoff)
                backoff = min(backoff * 2, 10.0)
            finally:
                if pubsub is not None:
                    with contextlib.suppress(Exception):  # connection already gone
                        await pubsub.aclose()
