"""Redis clients from a URL: redis://, rediss://, unix://."""

from __future__ import annotations

import redis
import redis.asyncio as aioredis

SOCKET_TIMEOUT_SECONDS = 5.0


def connect(url: str) -> redis.Redis:
    """A synchronous client (ingest, CLI)."""
    return redis.Redis.from_url(
        url,
        socket_timeout=SOCKET_TIMEOUT_SECONDS,
        socket_connect_timeout=SOCKET_TIMEOUT_SECONDS,
        health_check_interval=30,
    )


def connect_async(url: str) -> aioredis.Redis:
    """An asyncio client (workers). Short timeouts: screening never waits on Redis."""
    return aioredis.Redis.from_url(
        url,
        socket_timeout=SOCKET_TIMEOUT_SECONDS,
        socket_connect_timeout=SOCKET_TIMEOUT_SECONDS,
        health_check_interval=30,
    )
