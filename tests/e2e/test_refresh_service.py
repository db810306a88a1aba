"""`screening serve` refreshing its lists on a schedule from a local HTTP server.

The service starts with no list directory; its first refresh round loads the lists. Then
the server misbehaves (truncated file, a server that never answers, HTTP 500, half the
entries): screening answers stay exactly as they were, and each failure shows in the
metrics, in a log line and in GetDataStatus.
"""

from __future__ import annotations

import json
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import grpc
import pytest
from prometheus_client.parser import text_string_to_metric_families

from screening.v1 import screening_pb2 as pb
from screening.v1 import screening_pb2_grpc as pb_grpc
from tests.conftest import Service, start_service
from tests.list_server import ListServer

UN_FILE = "un/UN_consolidated_2026-02-27.xml"
DPL_FILE = "bis/dpl_2022-09.txt"


@pytest.fixture(scope="module")
def list_server(lists_dir: Path) -> Iterator[ListServer]:
    server = ListServer(lists_dir).start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def refreshing(redis_server, list_server) -> Iterator[Service]:
    urls = {
        "un-xml": list_server.route("un.xml", UN_FILE),
        "us-bis-dpl-txt": list_server.route("dpl.txt", DPL_FILE),
    }
    svc = start_service(
        redis_server.url,
        "refresh-e2e",
        workers=1,
        extra_args=("--refresh-interval", "1"),
        env={
            "SCREENING_REFRESH_FORMATS": json.dumps(["un-xml", "us-bis-dpl-txt"]),
            "SCREENING_REFRESH_URLS": json.dumps(urls),
            "SCREENING_REFRESH_TIMEOUT": "1",
        },
    )
    yield svc
    svc.stop()


def metric(service: Service, name: str, **labels: str) -> float:
    text = urllib.request.urlopen(f"http://127.0.0.1:{service.metrics_port}/metrics").read()
    for family in text_string_to_metric_families(text.decode()):
        for sample in family.samples:
            if sample.name == name and all(sample.labels.get(k) == v for k, v in labels.items()):
                return float(sample.value)
    return 0.0


def wait_for(check, timeout: float = 60.0) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.3)
    raise AssertionError("condition not met in time")


def screen(stub, name: str):  # type: ignore[no-untyped-def]
    return stub.ScreenParty(pb.ScreenPartyRequest(party=pb.Party(name=name)), timeout=10)


def answer(reply) -> tuple:  # type: ignore[no-untyped-def]
    return reply.data_version, [(m.entity_id, round(m.score, 4)) for m in reply.matches]


def test_failed_refreshes_leave_answers_unchanged(refreshing, list_server):
    with grpc.insecure_channel(refreshing.target) as channel:
        stub = pb_grpc.ScreeningServiceStub(channel)
        status = {s.source: s for s in stub.GetDataStatus(pb.GetDataStatusRequest()).sources}
        assert status["un"].entity_count == 1003
        assert status["us-bis-dpl"].entity_count == 581
        assert status["un"].last_refresh_outcome.startswith(("published", "unchanged"))
        assert metric(refreshing, "screening_list_publication_age_seconds", source="un") > 0
        wait_for(
            lambda: (
                metric(refreshing, "screening_refresh_total", source="un", outcome="unchanged") >= 1
            )
        )  # 304 on the next rounds
        before_un = answer(screen(stub, "ERIC BADEGE"))
        before_dpl = answer(screen(stub, "AARON ABRAHAM VILLA"))
        assert "un:CDi.001" in [m for m, _ in before_un[1]]

        failures = [
            ("un.xml", UN_FILE, "truncated", "un", "rejected"),
            ("dpl.txt", DPL_FILE, "hang", "us-bis-dpl", "failed"),
            ("un.xml", UN_FILE, "error", "un", "failed"),
            ("dpl.txt", DPL_FILE, "half", "us-bis-dpl", "rejected"),
        ]
        for route, file, mode, source, outcome in failures:
            counted = metric(refreshing, "screening_refresh_total", source=source, outcome=outcome)
            list_server.route(route, file, mode=mode)
            wait_for(
                lambda source=source, outcome=outcome, counted=counted: (
                    metric(refreshing, "screening_refresh_total", source=source, outcome=outcome)
                    > counted
                )
            )
            assert answer(screen(stub, "ERIC BADEGE")) == before_un, mode
            assert answer(screen(stub, "AARON ABRAHAM VILLA")) == before_dpl, mode
            status = {s.source: s for s in stub.GetDataStatus(pb.GetDataStatusRequest()).sources}
            assert status[source].last_refresh_outcome.startswith(outcome), mode
            list_server.route(route, file)  # healthy again

    logs = refreshing.logs()
    failed = [json.loads(line) for line in logs.splitlines() if '"list refresh failed' in line]
    reasons = {(entry["source"], entry["outcome"]) for entry in failed}
    assert {
        ("un", "rejected"),
        ("un", "failed"),
        ("us-bis-dpl", "failed"),
        ("us-bis-dpl", "rejected"),
    } <= reasons
    assert any("drops" in entry["detail"] for entry in failed)
    assert any("timed out" in entry["detail"] for entry in failed)
