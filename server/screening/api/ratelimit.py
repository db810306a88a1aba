"""Per-client rate limits shared by every worker and replica: a token bucket in Redis.

The bucket lives in Redis (`{prefix}:ratelimit:<client>`, refilled by a Lua script on Redis's
clock). A worker does not ask Redis for every call: it takes a small lease of tokens (a tenth
of a second's worth, at least one) and spends it locally for up to half a second; only the
call that finds the lease empty waits on Redis. Unused leased tokens lapse, so a client is
never allowed more than its rate plus one lease per worker.

When Redis is unreachable the limiter fails open to a local bucket per worker (the same rate
and burst, per worker): calls go on at a bounded rate rather than all failing, and Redis is
tried again after a second.
"""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass, field
from typing import Any

import redis

from screening.store.connection import AsyncRedis
from screening.store.keys import Keys

log = logging.getLogger(__name__)

TAKE_SCRIPT = """
local rate = tonumber(ARGV[1])
local burst = tonumber(ARGV[2])
local want = tonumber(ARGV[3])
local clock = redis.call('TIME')
local now = tonumber(clock[1]) + tonumber(clock[2]) / 1000000
local state = redis.call('HMGET', KEYS[1], 'tokens', 'at')
local tokens = tonumber(state[1]) or burst
local at = tonumber(state[2]) or now
tokens = math.min(burst, tokens + math.max(0, now - at) * rate)
local grant = math.min(want, math.floor(tokens))
tokens = tokens - grant
redis.call('HSET', KEYS[1], 'tokens', tostring(tokens), 'at', tostring(now))
redis.call('EXPIRE', KEYS[1], math.ceil(burst / rate) + 60)
return grant
"""

LEASE_SECONDS = 0.5
REDIS_TIMEOUT_SECONDS = 0.25
RETRY_REDIS_AFTER_SECONDS = 1.0


@dataclass
class _Local:
    """A plain token bucket (the fallback), or a lease of Redis tokens."""

    tokens: float = 0.0
    at: float = 0.0
    lease_until: float = 0.0
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)


class RateLimiter:
    def __init__(self, client: AsyncRedis | None, keys: Keys) -> None:
        self.redis = client
        self.keys = keys
        self._script: Any = client.register_script(TAKE_SCRIPT) if client is not None else None
        self._leases: dict[str, _Local] = {}
        self._fallback: dict[str, _Local] = {}
        self._redis_down_until = 0.0

    def key(self, client: str) -> str:
        return f"{self.keys.tag}:ratelimit:{client}"

    async def allow(self, client: str, rate: float, burst: int) -> bool:
        now = time.monotonic()
        lease = self._leases.setdefault(client, _Local())
        if lease.tokens >= 1 and now < lease.lease_until:
            lease.tokens -= 1
            return True
        if self._script is None or now < self._redis_down_until:
            return self._local(client, rate, burst)
        async with lease.lock:
            now = time.monotonic()
            if lease.tokens >= 1 and now < lease.lease_until:
                lease.tokens -= 1
                return True
            want = max(1, min(burst, int(rate * 0.1)))
            try:
                granted = int(
                    await asyncio.wait_for(
                        self._script(keys=[self.key(client)], args=[rate, burst, want]),
                        timeout=REDIS_TIMEOUT_SECONDS,
                    )
                )
            except (redis.RedisError, OSError, TimeoutError) as exc:
                if now >= self._redis_down_until:
                    log.warning(
                        "rate limits: Redis unreachable; limiting per worker",
                        extra={"error": str(exc) or type(exc).__name__},
                    )
                self._redis_down_until = time.monotonic() + RETRY_REDIS_AFTER_SECONDS
                return self._local(client, rate, burst)
            if granted < 1:
                return False
            lease.tokens = granted - 1
            lease.lease_until = time.monotonic() + LEASE_SECONDS
            return True

    async def wait(self, client: str, rate: float, burst: int) -> None:
        """Wait until a call is allowed (for stream items: pace rather than fail)."""
        pause = min(1.0, 1.0 / rate)
        while not await self.allow(client, rate, burst):  # noqa: ASYNC110 - polls Redis
            await asyncio.sleep(pause)

    def _local(self, client: str, rate: float, burst: int) -> bool:
        bucket = self._fallback.get(client)
        now = time.monotonic()
        if bucket is None:
            bucket = self._fallback[client] = _Local(tokens=float(burst), at=now)
        bucket.tokens = min(float(burst), bucket.tokens + (now - bucket.at) * rate)
        bucket.at = now
        if bucket.tokens >= 1:
            bucket.tokens -= 1
            return True
        return False
