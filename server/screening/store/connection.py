"""Redis clients from a URL: redis://, rediss://, unix://."""

from __future__ import annotations

import redis
import redis.asyncio as aioredis
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff

SOCKET_TIMEOUT_SECONDS = 5.0


def connect(url: str) -> redis.Redis:
    """A synchronous client (ingest, CLI)."""
    return redis.Redis.from_url(
        url,
        socket_timeout=SOCKET_TIMEOUT_SECONDS,
        socket_connect_timeout=SOCKET_TIMEOUT_SECONDS,
        health_check_interval=30,
    )


def connect_async(url: str, *, timeout: float | None = None) -> aioredis.Redis:
    """An asyncio client (workers). Screening never waits on Redis.

    With `timeout`, every command fails after that long and is not retried: for callers
    (the result cache) that would rather go without than wait.
    """
    if timeout is None:
        return aioredis.Redis.from_url(
            url,
            socket_timeout=SOCKET_TIMEOUT_SECONDS,
            socket_connect_timeout=SOCKET_TIMEOUT_SECONDS,
            health_check_interval=30,
        )
    return aioredis.Redis.from_url(
        url,
        socket_timeout=timeout,
        socket_connect_timeout=timeout,
        retry=Retry(NoBackoff(), 0),
    )
