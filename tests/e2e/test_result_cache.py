"""The result cache in a running service, on its own redis-server: a repeated request is a
hit, a new data version is never answered from an older one, and screening goes on (and
stays fast) with Redis stopped."""

from __future__ import annotations

import hashlib
import re
import shutil
import statistics
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import grpc
import pytest

from screening.model.entities import Publication
from screening.store.connection import connect
from screening.store.snapshots import ListStore
from screening.v1 import screening_pb2 as pb
from screening.v1 import screening_pb2_grpc as pb_grpc
from tests.conftest import LISTS_DIR, RedisServer, Service, start_redis, start_service

PREFIX = "cache-test"
BADEGE = pb.ScreenPartyRequest(
    party=pb.Party(name="ERIC BADEGE", entity_type=pb.ENTITY_TYPE_PERSON)
)


class Cached:
    def __init__(self, redis: RedisServer, service: Service, lists: Path) -> None:
        self.redis, self.service, self.lists = redis, service, lists
        self.channel = grpc.insecure_channel(service.target)
        self.stub = pb_grpc.ScreeningServiceStub(self.channel)

    def metric(self, name: str, **labels: str) -> float:
        with urllib.request.urlopen(
            f"http://127.0.0.1:{self.service.metrics_port}/metrics", timeout=5
        ) as reply:
            text = reply.read().decode()
        total = 0.0
        for line in text.splitlines():
            m = re.match(rf"^{name}(?:\{{([^}}]*)\}})? (\S+)$", line)
            if m and all(f'{k}="{v}"' in (m.group(1) or "") for k, v in labels.items()):
                total += float(m.group(2))
        return total

    def wait_metric(self, name: str, at_least: float, timeout: float = 15, **labels: str) -> float:
        """Counters reach /metrics within a second (workers flush buffered counts)."""
        deadline = time.monotonic() + timeout
        while True:
            value = self.metric(name, **labels)
            if value >= at_least or time.monotonic() > deadline:
                return value
            time.sleep(0.2)


@pytest.fixture(scope="module")
def cached() -> Iterator[Cached]:
    """One worker on the UN list alone (quick to start), on a redis-server of its own."""
    lists = Path(tempfile.mkdtemp(prefix="test-lists-"))
    (lists / "un").mkdir()
    shutil.copy(LISTS_DIR / "un" / "UN_consolidated_2026-02-27.xml", lists / "un")
    redis = start_redis()
    service = start_service(redis.url, PREFIX, lists_dir=lists, workers=1)
    holder = Cached(redis, service, lists)
    yield holder
    holder.channel.close()
    service.stop()
    holder.redis.stop()
    shutil.rmtree(lists, ignore_errors=True)


def test_repeated_request_is_a_cache_hit(cached: Cached):
    hits = cached.metric("screening_result_cache_requests_total", result="local_hit")
    first = cached.stub.ScreenParty(
        pb.ScreenPartyRequest(party=BADEGE.party, client_ref="first"), timeout=10
    )
    second = cached.stub.ScreenParty(
        pb.ScreenPartyRequest(party=BADEGE.party, client_ref="second"), timeout=10
    )
    assert "un:CDi.001" in [m.entity_id for m in first.matches]
    assert [m.SerializeToString() for m in second.matches] == [
        m.SerializeToString() for m in first.matches
    ]
    assert (second.decision, second.risk_score) == (first.decision, first.risk_score)
    assert second.screening_id != first.screening_id
    assert second.client_ref == "second"
    assert second.screened_at.ToNanoseconds() >= first.screened_at.ToNanoseconds()
    # Keyed by data version and by the data's age stamp (day, stale sources): an answer
    # carries the age of its data, which must not be a day behind.
    keys = cached.redis.client().keys(f"{PREFIX}:result:{first.data_version}@*")
    assert len(keys) == 1, "one answer kept in Redis, keyed by data version"
    assert (
        cached.wait_metric("screening_result_cache_requests_total", hits + 1, result="local_hit")
        >= hits + 1
    )
    # Written differently, the same after validation: answered from Redis.
    redis_hits = cached.metric("screening_result_cache_requests_total", result="redis_hit")
    padded = pb.Party(name="  ERIC BADEGE ", entity_type=pb.ENTITY_TYPE_PERSON)
    third = cached.stub.ScreenParty(pb.ScreenPartyRequest(party=padded), timeout=10)
    assert [m.entity_id for m in third.matches] == [m.entity_id for m in first.matches]
    assert (
        cached.wait_metric(
            "screening_result_cache_requests_total", redis_hits + 1, result="redis_hit"
        )
        >= redis_hits + 1
    )


def test_new_data_version_never_serves_an_old_answer(cached: Cached):
    before = cached.stub.ScreenParty(BADEGE, timeout=10)
    assert "un:CDi.001" in [m.entity_id for m in before.matches]
    misses = cached.metric("screening_result_cache_requests_total", result="miss")
    # A new UN publication without that entry.
    store = ListStore(connect(cached.redis.url), PREFIX)
    manifest = store.manifest()
    assert manifest is not None
    entities = [e for e in store.entities(manifest, "un") if e.source_ref != "CDi.001"]
    publication = Publication(
        source="un",
        publication_date="2026-03-01",
        files=["UN_consolidated_2026-03-01.xml"],
        sha256=hashlib.sha256(b"un without CDi.001").hexdigest(),
        entities=entities,
        dates_are_official=True,
    )
    new, _ = store.apply([publication])
    assert new is not None and new.version != before.data_version
    deadline = time.monotonic() + 60
    while (
        cached.stub.GetDataStatus(pb.GetDataStatusRequest(), timeout=10).data_version != new.version
    ):
        assert time.monotonic() < deadline, "the worker did not swap to the new snapshot"
        time.sleep(0.2)
    after = cached.stub.ScreenParty(BADEGE, timeout=10)
    assert after.data_version == new.version
    assert "un:CDi.001" not in [m.entity_id for m in after.matches]
    assert (
        cached.wait_metric("screening_result_cache_requests_total", misses + 1, result="miss")
        >= misses + 1
    )


def test_screening_goes_on_with_redis_stopped(cached: Cached):
    repeated = cached.stub.ScreenParty(BADEGE, timeout=10)
    port = cached.redis.port
    cached.redis.stop()
    latencies = []
    for name in ["ERIC BADEGE", "Anna Smith", "Atlas Trading GmbH", "Sofia Rossi"] * 5:
        started = time.perf_counter()
        reply = cached.stub.ScreenParty(pb.ScreenPartyRequest(party=pb.Party(name=name)), timeout=5)
        latencies.append(time.perf_counter() - started)
        assert reply.data_version == repeated.data_version
    again = cached.stub.ScreenParty(BADEGE, timeout=5)
    assert [m.entity_id for m in again.matches] == [m.entity_id for m in repeated.matches]
    assert max(latencies) < 2.0
    assert statistics.median(latencies) < 0.25, latencies
    assert cached.stub.GetDataStatus(pb.GetDataStatusRequest(), timeout=5).data_version
    assert cached.metric("screening_redis_up", worker="0") == 0
    assert cached.wait_metric("screening_result_cache_requests_total", 1, result="skipped") >= 1
    # Redis back (empty): the cache and the health gauge recover by themselves.
    cached.redis = start_redis(port)
    deadline = time.monotonic() + 30
    while cached.metric("screening_redis_up", worker="0") != 1:
        assert time.monotonic() < deadline, "the worker did not see Redis come back"
        time.sleep(0.3)
    cached.stub.ScreenParty(pb.ScreenPartyRequest(party=pb.Party(name="Maria Novak")), timeout=5)
    deadline = time.monotonic() + 10
    while not cached.redis.client().keys(f"{PREFIX}:result:*"):
        assert time.monotonic() < deadline, "answers are not written to Redis again"
        time.sleep(0.2)
