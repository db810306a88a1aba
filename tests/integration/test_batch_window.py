"""ScreenParties reads ahead a bounded window, never the whole stream (real Redis, real index,
the real servicer, in process)."""

from __future__ import annotations

import asyncio
import shutil
from collections.abc import AsyncIterator
from pathlib import Path

from screening.api import batch_rpcs as batch
from screening.config import Settings
from screening.index.holder import IndexHolder
from screening.runtime.wiring import build_deps
from screening.sources.ingest import ingest_directory
from screening.store.connection import connect
from screening.store.snapshots import ListStore
from screening.v1 import screening_pb2 as pb


async def test_reads_at_most_a_window_ahead(redis_server, prefix, lists_dir, tmp_path: Path):
    subset = tmp_path / "un"
    subset.mkdir()
    shutil.copy(lists_dir / "un" / "UN_consolidated_2026-02-27.xml", subset)
    store = ListStore(connect(redis_server.url), prefix)
    ingest_directory(store, subset)
    holder = IndexHolder(store)
    loaded = holder.load_sync()
    assert loaded is not None
    holder.swap(loaded)
    deps = build_deps(Settings(), holder, store)

    pulled = 0
    total = 500

    async def requests() -> AsyncIterator[pb.ScreenPartiesRequest]:
        nonlocal pulled
        for i in range(total):
            pulled += 1
            yield pb.ScreenPartiesRequest(
                request=pb.ScreenPartyRequest(party=pb.Party(name=f"Person {i}"))
            )

    answered = 0
    ahead = []
    async for reply in batch.screen_parties(deps, requests()):
        assert reply.index == answered
        answered += 1
        ahead.append(pulled - answered)
        await asyncio.sleep(0)  # a slow consumer: let the reader run as far as it may
        await asyncio.sleep(0)
    assert answered == total
    # Never more than the window (plus the item being handed over) held at once.
    assert max(ahead) <= batch.WINDOW + 1
    assert max(ahead) >= batch.WINDOW - 1  # and the read-ahead did work
