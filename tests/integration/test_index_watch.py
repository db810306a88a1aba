"""The reload watcher against a real Redis: it outlives a snapshot it cannot read."""

from __future__ import annotations

import asyncio
import logging

from screening.index.holder import IndexHolder
from screening.sources.ingest import ingest_directory
from screening.store.connection import connect, connect_async
from screening.store.snapshots import ListStore
from tests.integration.test_store import lists_subset


def test_watcher_survives_an_unreadable_snapshot(redis_server, prefix, lists_dir, tmp_path, caplog):
    store = ListStore(connect(redis_server.url), prefix)
    first = ingest_directory(
        store, lists_subset(tmp_path, lists_dir, "ofac/sdn_2024-02-20.csv", sub="a")
    ).manifest
    second = ingest_directory(
        store, lists_subset(tmp_path, lists_dir, "ofac/sdn_2024-02-23.csv", sub="b")
    ).manifest
    assert first is not None and second is not None and first.version != second.version
    # The current snapshot names a blob Redis does not hold (as a read can find mid-failover).
    blob_key = store.keys.blob(second.sources["ofac-sdn"].blob)
    blob = store.redis.get(blob_key)
    assert blob
    store.redis.delete(blob_key)

    async def scenario() -> tuple[str | None, bool]:
        holder = IndexHolder(store, poll_seconds=0.5)
        stop = asyncio.Event()
        watcher = asyncio.create_task(holder.watch(connect_async(redis_server.url), stop))
        await asyncio.sleep(1.5)  # the watcher has tried the unreadable snapshot
        alive_after_error = not watcher.done()
        store.redis.set(blob_key, blob)
        for _ in range(100):
            if holder.current is not None:
                break
            await asyncio.sleep(0.1)
        stop.set()
        await asyncio.wait_for(watcher, 10)
        return (holder.current.version if holder.current else None), alive_after_error

    with caplog.at_level(logging.ERROR, logger="screening.index.holder"):
        version, alive_after_error = asyncio.run(scenario())
    assert alive_after_error, "the watcher ended on the unreadable snapshot"
    assert any("LookupError" in str(getattr(r, "error", "")) for r in caplog.records)
    assert version == second.version
