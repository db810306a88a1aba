"""Stream length limit and error-detail bounds (real servicer in process), and the rate
limiter's token bucket on a real Redis, with its per-worker fallback when Redis is away."""

from __future__ import annotations

import asyncio
import shutil
from collections.abc import AsyncIterator
from pathlib import Path

from screening.api import batch_rpcs as batch
from screening.api.error_status import DETAILS_BUDGET_BYTES, bad_request_status, bounded
from screening.api.ratelimit import RateLimiter
from screening.api.validation import Violations
from screening.config import Settings
from screening.index.holder import IndexHolder
from screening.runtime.wiring import build_deps
from screening.sources.ingest import ingest_directory
from screening.store.connection import connect, connect_async
from screening.store.keys import Keys
from screening.store.snapshots import ListStore
from screening.v1 import screening_pb2 as pb
from tests.conftest import free_port


async def test_stream_items_beyond_the_limit_are_refused(
    redis_server, prefix, lists_dir, tmp_path: Path
):
    subset = tmp_path / "un"
    subset.mkdir()
    shutil.copy(lists_dir / "un" / "UN_consolidated_2025-04-19.xml", subset)
    store = ListStore(connect(redis_server.url), prefix)
    ingest_directory(store, subset)
    holder = IndexHolder(store)
    loaded = holder.load_sync()
    assert loaded is not None
    holder.swap(loaded)
    deps = build_deps(Settings(max_stream_items=3), holder, store)

    async def requests() -> AsyncIterator[pb.ScreenPartiesRequest]:
        for i in range(5):
            yield pb.ScreenPartiesRequest(
                request=pb.ScreenPartyRequest(party=pb.Party(name=f"Person {i}"))
            )

    replies = [r async for r in batch.screen_parties(deps, requests())]
    assert [r.HasField("response") for r in replies] == [True, True, True, False, False]
    refused = replies[3].error
    assert refused.code == 3
    assert refused.field_violations[0].field == "request"
    assert "longer than 3 items" in refused.field_violations[0].description


def test_error_details_are_bounded_and_name_every_field_that_fits():
    errors = Violations()
    for i in range(30):
        errors.add(f"parties[{i}].name", "界" * 500)
    named = bounded(errors)
    assert [f for f, _ in named] == [f"parties[{i}].name" for i in range(30)]
    errors = Violations()
    for i in range(1000):
        errors.add(f"parties[{i}].identifiers[{i}].value", "界" * 500)
    status = bad_request_status(errors)
    details = dict(status.trailing_metadata)["grpc-status-details-bin"]
    assert DETAILS_BUDGET_BYTES // 2 < len(details) <= DETAILS_BUDGET_BYTES + 1000  # + message
    assert len(status.details.encode()) < 1000
    assert status.code.name == "INVALID_ARGUMENT"
    assert "more problems)" in details.decode(errors="replace")


async def test_token_bucket_in_redis(redis_server, prefix):
    limiter = RateLimiter(connect_async(redis_server.url), Keys(prefix))
    other = RateLimiter(connect_async(redis_server.url), Keys(prefix))  # another worker
    granted = [await (limiter if i % 2 else other).allow("c1", 5, 5) for i in range(12)]
    assert granted[:5] == [True] * 5
    assert granted.count(True) <= 6  # the burst, plus at most a refill in between
    assert await limiter.allow("c2", 5, 5)  # clients are limited apart
    await asyncio.sleep(0.5)
    assert await limiter.allow("c1", 5, 5)  # refilled at the rate


async def test_rate_limit_fails_open_to_a_local_bucket_without_redis(prefix):
    limiter = RateLimiter(connect_async(f"redis://127.0.0.1:{free_port()}/0"), Keys(prefix))
    granted = [await limiter.allow("c1", 2, 3) for _ in range(6)]
    assert granted == [True, True, True, False, False, False]
