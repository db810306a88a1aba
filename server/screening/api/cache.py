"""The result cache: a screening answer kept by data version and request.

A repeated counterparty costs one lookup. Two tiers:
- the worker's memory, keyed by the exact request bytes: a request this worker has
  answered on this data is answered again without validation or hashing;
- Redis, keyed by a hash of the normalised request (what the matcher sees), shared by every
  worker and replica and tolerant of spelling differences the validation irons out.
Both keys hold the data version, so an answer is only ever served for the data it was
computed on; Redis entries expire after a TTL.

Redis trouble never fails or slows a screening: commands have a short timeout and no
retries; after a failure the cache bypasses Redis (circuit open) until a background ping
finds it answering again. Writes are fire-and-forget.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import hashlib
import logging
from collections import OrderedDict
from pathlib import Path
from typing import Generic, TypeVar

import msgspec
import redis

from screening.observability.metrics import record_cache, record_redis
from screening.store.connection import AsyncRedis
from screening.store.keys import Keys

log = logging.getLogger(__name__)

REDIS_FAILURES = (redis.RedisError, OSError, TimeoutError)


@functools.cache
def code_fingerprint() -> str:
    """A hash of the service's own code: a deployment that screens differently (a new
    matcher, new rules) never takes answers a previous one left in Redis."""
    package = Path(__file__).resolve().parent.parent
    digest = hashlib.blake2b(digest_size=8)
    for path in sorted(package.rglob("*.py")):
        digest.update(str(path.relative_to(package)).encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()


def request_digest(*parts: object) -> str:
    """A stable hash of normalised request parts (dataclasses, structs, enums, lists...)."""
    return hashlib.blake2b(msgspec.json.encode(parts), digest_size=16).hexdigest()


class CircuitBreaker:
    """Open after a Redis failure; closed again only by a successful health ping, so no
    screening ever waits to find out whether Redis is back."""

    def __init__(self) -> None:
        self.closed = True

    def open(self) -> bool:
        """Open the circuit; True if it was closed."""
        was_closed, self.closed = self.closed, False
        return was_closed

    def close(self) -> bool:
        """Close the circuit; True if it was open."""
        was_open, self.closed = not self.closed, True
        return was_open


# What the worker's memory keeps per exact request (the servicer keeps a KnownAnswer).
LocalT = TypeVar("LocalT")


class ResultCache(Generic[LocalT]):
    def __init__(
        self,
        client: AsyncRedis | None,
        keys: Keys,
        *,
        ttl_seconds: int,
        local_entries: int = 0,
        max_pending_writes: int = 256,
    ) -> None:
        self.redis = client
        self.keys = keys
        self.ttl_seconds = ttl_seconds
        self.local_entries = local_entries
        self.max_pending_writes = max_pending_writes
        self.breaker = CircuitBreaker()
        self._local: OrderedDict[tuple[str, bytes], LocalT] = OrderedDict()
        self._local_version = ""
        self._pending: set[asyncio.Task[None]] = set()

    @property
    def enabled(self) -> bool:
        return self.ttl_seconds > 0

    def get_exact(self, data_version: str, request: bytes) -> LocalT | None:
        """The answer this worker gave to exactly this request on this data, or None."""
        answer = self._local.get((data_version, request))
        if answer is not None:
            self._local.move_to_end((data_version, request))
            record_cache("local_hit")
        return answer

    def put_exact(self, data_version: str, request: bytes, payload: LocalT) -> None:
        if self.local_entries <= 0 or not self.enabled:
            return
        if data_version != self._local_version:
            # Answers for other data are never served again: free them at once.
            self._local.clear()
            self._local_version = data_version
        self._local[(data_version, request)] = payload
        if len(self._local) > self.local_entries:
            self._local.popitem(last=False)

    async def get(self, data_version: str, digest: str) -> bytes | None:
        """The answer to this normalised request on this data version from Redis, or None."""
        if not self.enabled:
            return None
        if self.redis is None or not self.breaker.closed:
            record_cache("skipped")
            return None
        try:
            value = await self.redis.get(self.keys.result(data_version, digest))
        except REDIS_FAILURES as exc:
            self._failed("cache_get", exc)
            record_cache("skipped")
            return None
        if not isinstance(value, bytes):
            record_cache("miss")
            return None
        record_cache("redis_hit")
        return value

    def put(self, data_version: str, digest: str, payload: bytes) -> None:
        """Keep an answer in Redis; the write happens in the background."""
        if not self.enabled:
            return
        if (
            self.redis is None
            or not self.breaker.closed
            or len(self._pending) >= self.max_pending_writes
        ):
            return
        task = asyncio.get_running_loop().create_task(
            self._write(self.keys.result(data_version, digest), payload)
        )
        self._pending.add(task)
        task.add_done_callback(self._pending.discard)

    async def _write(self, key: str, payload: bytes) -> None:
        assert self.redis is not None
        try:
            await self.redis.set(key, payload, ex=self.ttl_seconds)
        except REDIS_FAILURES as exc:
            self._failed("cache_set", exc)

    def _failed(self, operation: str, exc: BaseException) -> None:
        record_redis(operation, ok=False)
        if self.breaker.open():
            log.warning(
                "redis unavailable: result cache bypassed until it answers again",
                extra={"operation": operation, "error": str(exc) or type(exc).__name__},
            )

    async def monitor(
        self, stop: asyncio.Event, interval: float = 5.0, open_interval: float = 1.0
    ) -> None:
        """Ping Redis until `stop`: keeps `screening_redis_up` true without traffic, and
        closes the circuit when Redis answers again."""
        if self.redis is None:
            return
        while not stop.is_set():
            try:
                await self.redis.ping()
            except REDIS_FAILURES as exc:
                self._failed("ping", exc)
            else:
                record_redis("ping", ok=True)
                if self.breaker.close():
                    log.info("redis answers again: result cache back on")
            wait = interval if self.breaker.closed else open_interval
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=wait)

    async def aclose(self) -> None:
        for task in list(self._pending):
            task.cancel()
        if self.redis is not None:
            with contextlib.suppress(*REDIS_FAILURES):
                await self.redis.aclose()
