"""The result cache against a real redis-server: shared answers, data versions, TTL, and
Redis going away (short timeouts, the circuit opens, a ping closes it)."""

from __future__ import annotations

import asyncio
import time

from screening.api.cache import ResultCache
from screening.store.connection import connect_async
from screening.store.keys import Keys
from tests.conftest import RedisServer, free_port, start_redis

TIMEOUT = 0.1


def cache(url: str, prefix: str, *, local_entries: int = 0, ttl: int = 60) -> ResultCache:
    return ResultCache(
        connect_async(url, timeout=TIMEOUT),
        Keys(prefix),
        ttl_seconds=ttl,
        local_entries=local_entries,
    )


async def settle(c: ResultCache) -> None:
    """Wait for the background writes."""
    for _ in range(100):
        if not c._pending:
            return
        await asyncio.sleep(0.01)


async def test_an_answer_is_shared_through_redis_with_a_ttl(redis_server: RedisServer, prefix: str):
    writer, reader = cache(redis_server.url, prefix), cache(redis_server.url, prefix)
    try:
        assert await reader.get("v1", "abc") is None
        writer.put("v1", "abc", b"answer")
        await settle(writer)
        assert await reader.get("v1", "abc") == b"answer"
        key = Keys(prefix).result("v1", "abc")
        assert 0 < redis_server.client().ttl(key) <= 60
        assert "{" not in key, "results spread over Cluster slots: no hash tag"
    finally:
        await writer.aclose()
        await reader.aclose()


async def test_another_data_version_is_a_miss(redis_server: RedisServer, prefix: str):
    c = cache(redis_server.url, prefix, local_entries=10)
    try:
        c.put("v1", "abc", b"old answer")
        c.put_exact("v1", b"request", b"old answer")
        await settle(c)
        assert await c.get("v1", "abc") == b"old answer"
        assert c.get_exact("v1", b"request") == b"old answer"
        assert await c.get("v2", "abc") is None
        assert c.get_exact("v2", b"request") is None
        c.put_exact("v2", b"request", b"new answer")
        assert c.get_exact("v2", b"request") == b"new answer"
        # The worker's memory only keeps answers of the data it serves.
        assert c.get_exact("v1", b"request") is None
    finally:
        await c.aclose()


async def test_memory_tier_is_bounded_and_needs_no_redis(prefix: str):
    c = cache("redis://127.0.0.1:1/0", prefix, local_entries=2)  # nothing listens on port 1
    try:
        for request in (b"a", b"b", b"c"):
            c.put_exact("v1", request, request.upper())
        assert c.get_exact("v1", b"c") == b"C"
        assert c.get_exact("v1", b"b") == b"B"
        assert c.get_exact("v1", b"a") is None  # the least recently used went first
    finally:
        await c.aclose()


async def test_disabled_cache_stores_nothing(redis_server: RedisServer, prefix: str):
    c = cache(redis_server.url, prefix, ttl=0, local_entries=10)
    try:
        c.put("v1", "abc", b"answer")
        c.put_exact("v1", b"request", b"answer")
        await settle(c)
        assert await c.get("v1", "abc") is None
        assert c.get_exact("v1", b"request") is None
        assert not redis_server.client().keys(f"{prefix}:result:*")
    finally:
        await c.aclose()


async def test_redis_down_costs_one_short_timeout_then_nothing(prefix: str):
    port = free_port()  # nothing listens here yet
    c = cache(f"redis://127.0.0.1:{port}/0", prefix, local_entries=10)
    stop = asyncio.Event()
    monitor = asyncio.create_task(c.monitor(stop, interval=0.2, open_interval=0.1))
    server: RedisServer | None = None
    try:
        started = time.perf_counter()
        assert await c.get("v1", "abc") is None
        assert time.perf_counter() - started < 1.0
        assert not c.breaker.closed
        # While the circuit is open no call touches Redis at all; memory still serves.
        started = time.perf_counter()
        for i in range(100):
            assert await c.get("v1", f"new-{i}") is None
            c.put("v1", f"new-{i}", b"answer")
            c.put_exact("v1", f"request-{i}".encode(), b"answer")
        assert time.perf_counter() - started < 0.2
        assert not c._pending
        assert c.get_exact("v1", b"request-99") == b"answer"
        # Redis comes up: the monitor's ping closes the circuit and the cache is back.
        server = start_redis(port)
        for _ in range(50):
            if c.breaker.closed:
                break
            await asyncio.sleep(0.1)
        assert c.breaker.closed
        c.put("v1", "xyz", b"answer")
        await settle(c)
        assert await c.get("v1", "xyz") == b"answer"
    finally:
        stop.set()
        await monitor
        await c.aclose()
        if server is not None:
            server.stop()
