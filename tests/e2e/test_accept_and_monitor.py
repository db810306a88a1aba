"""Accept-list and ongoing monitoring on a real service (2 workers) across a real list update:
UN 2025-04-19, then UN 2026-02-27 (which adds KEMPES SANON, un:HTi.009, and changes the
remarks of JIMMY CHERIZIER, un:HTi.001)."""

from __future__ import annotations

import json
import os
import queue
import shutil
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import grpc
import pytest
from google.protobuf import timestamp_pb2
from google.rpc import error_details_pb2
from grpc_status import rpc_status

from screening.v1 import screening_pb2 as pb
from screening.v1 import screening_pb2_grpc as pb_grpc
from tests.conftest import Service, start_service

CHERIZIER = pb.Party(name="JIMMY CHERIZIER", entity_type=pb.ENTITY_TYPE_PERSON)
SANON = pb.Party(name="KEMPES SANON", entity_type=pb.ENTITY_TYPE_PERSON)
BIN_LADEN = pb.Party(name="Usama bin Laden")


@pytest.fixture(scope="module")
def svc(redis_server, lists_dir, tmp_path_factory) -> Iterator[Service]:  # type: ignore[no-untyped-def]
    first = tmp_path_factory.mktemp("un-2025")
    shutil.copy(lists_dir / "un" / "UN_consolidated_2025-04-19.xml", first)
    service = start_service(redis_server.url, "accept-monitor", lists_dir=first, workers=2)
    yield service
    service.stop()


def until(check: Callable[[], Any], timeout: float = 20.0) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.2)


def cli(svc: Service, *args: str) -> bytes:
    """Run `screening ARGS` on the service's Redis prefix; its standard output."""
    done = subprocess.run(
        [sys.executable, "-m", "screening.cli", *args],
        env={**os.environ, "SCREENING_REDIS_PREFIX": svc.prefix},
        check=True,
        capture_output=True,
    )
    return done.stdout


def expiry(days: int = 30) -> timestamp_pb2.Timestamp:
    stamp = timestamp_pb2.Timestamp()
    stamp.FromSeconds(int(time.time()) + days * 86400)
    return stamp


def screen(stub: Any, party: pb.Party) -> pb.ScreenPartyResponse:
    return stub.ScreenParty(pb.ScreenPartyRequest(party=party), timeout=10)


def screen_until(
    stub: Any, party: pb.Party, check: Callable[[pb.ScreenPartyResponse], bool]
) -> pb.ScreenPartyResponse:
    """Screen until the answer passes `check` (a change reaches every worker in ~1 s)."""

    def attempt() -> pb.ScreenPartyResponse | None:
        response = screen(stub, party)
        return response if check(response) else None

    return until(attempt)


def audit_records(redis_server, prefix: str) -> dict[str, dict[str, Any]]:  # type: ignore[no-untyped-def]
    entries = redis_server.client().xrange("{" + prefix + "}:audit")
    return {r["screening_id"]: r for r in (json.loads(f[b"r"]) for _, f in entries)}


def test_accept_list_and_monitoring_across_a_list_update(svc, redis_server, lists_dir, tmp_path):
    channel = grpc.insecure_channel(svc.target)
    stub = pb_grpc.ScreeningServiceStub(channel)

    # -- monitoring: register before the update, watch the alert stream ------------------
    sanon = stub.MonitorParty(pb.MonitorPartyRequest(party=SANON), timeout=10)
    assert not sanon.matches  # not listed yet
    cherizier = stub.MonitorParty(pb.MonitorPartyRequest(party=CHERIZIER), timeout=10)
    assert "un:HTi.001" in cherizier.monitored.known_entity_ids
    again = stub.MonitorParty(pb.MonitorPartyRequest(party=SANON), timeout=10)
    assert again.monitored.monitor_id == sanon.monitored.monitor_id  # same counterparty
    listed = stub.ListMonitoredParties(pb.ListMonitoredPartiesRequest(), timeout=10)
    assert listed.total == 2
    alerts: queue.Queue[pb.MonitoringAlert] = queue.Queue()
    watch = stub.WatchAlerts(pb.WatchAlertsRequest())

    def read_alerts() -> None:
        try:
            for reply in watch:
                alerts.put(reply.alert)
        except grpc.RpcError:
            pass  # cancelled at the end of the test

    reader = threading.Thread(target=read_alerts, daemon=True)
    reader.start()

    # -- accept-list: clear the matches of two counterparties -----------------------------
    before = screen(stub, CHERIZIER)
    assert before.decision != pb.DECISION_CLEAR
    assert before.matches[0].entity_id == "un:HTi.001"
    accepted = {}
    for party, entity_ids in (
        (CHERIZIER, ["un:HTi.001"]),
        (BIN_LADEN, [m.entity_id for m in screen(stub, BIN_LADEN).matches]),
    ):
        for entity_id in entity_ids:
            reply = stub.AcceptMatch(
                pb.AcceptMatchRequest(
                    party=party,
                    entity_id=entity_id,
                    analyst="a.analyst",
                    reason="different person: date of birth and nationality differ",
                    expires_at=expiry(),
                ),
                timeout=10,
            )
            assert reply.acceptance.status == pb.ACCEPTANCE_STATUS_ACTIVE
            accepted[entity_id] = reply.acceptance.acceptance_id
    # Every worker honours them within its accept-list poll (1 s).
    for _ in range(6):
        after = screen_until(stub, CHERIZIER, lambda r: r.matches[0].accepted)
        assert after.decision == pb.DECISION_CLEAR and after.risk_score == 0
        assert after.matches[0].acceptance_id == accepted["un:HTi.001"]
        cleared = screen_until(stub, BIN_LADEN, lambda r: all(m.accepted for m in r.matches))
        assert cleared.decision == pb.DECISION_CLEAR
    shipment = stub.ScreenShipment(
        pb.ScreenShipmentRequest(
            parties=[pb.Party(name="JIMMY CHERIZIER", entity_type=1, role=pb.PARTY_ROLE_CONSIGNEE)],
            route=pb.Route(destination_country="DE"),
        ),
        timeout=10,
    )
    assert shipment.party_results[0].matches[0].accepted
    assert "PARTY_SANCTIONS_MATCH" not in {f.code for f in shipment.findings}
    batch = list(
        stub.ScreenParties(
            iter([pb.ScreenPartiesRequest(request=pb.ScreenPartyRequest(party=CHERIZIER))]),
            timeout=10,
        )
    )
    assert batch[0].response.matches[0].accepted
    # The audit trail keeps both facts: the match and its acceptance.
    record = until(lambda: audit_records(redis_server, svc.prefix).get(after.screening_id))
    assert record["decision"] == "CLEAR"
    assert record["matches"][0] == {
        "entity_id": "un:HTi.001",
        "score": round(after.matches[0].score, 4),
        "accepted": True,
        "acceptance_id": accepted["un:HTi.001"],
    }

    # -- the list update ------------------------------------------------------------------
    update = tmp_path / "un-2026"
    update.mkdir()
    shutil.copy(lists_dir / "un" / "UN_consolidated_2026-02-27.xml", update)
    cli(svc, "ingest", "--redis-url", svc.redis_url, "--lists-dir", str(update))
    alert = alerts.get(timeout=60)
    assert alert.monitor_id == sanon.monitored.monitor_id
    assert alert.match.entity_id == "un:HTi.009" and alert.previous_version
    time.sleep(2)  # both workers have swapped and polled by now
    assert alerts.empty()  # Cherizier's match was known; nobody alerted twice
    stream = redis_server.client().xrange("{" + svc.prefix + "}:alerts")
    assert len(stream) == 1

    # The changed entry voids the acceptance: the match counts again.
    voided = screen_until(stub, CHERIZIER, lambda r: not r.matches[0].accepted)
    assert voided.decision != pb.DECISION_CLEAR
    for _ in range(4):
        assert not screen(stub, CHERIZIER).matches[0].accepted
    until(lambda: _status(stub, accepted["un:HTi.001"]) == pb.ACCEPTANCE_STATUS_VOIDED)
    assert "changed" in _acceptance(stub, accepted["un:HTi.001"]).status_reason
    # Unchanged entries keep theirs, until an analyst revokes them.
    assert all(m.accepted for m in screen(stub, BIN_LADEN).matches)
    for acceptance_id in [a for e, a in accepted.items() if e != "un:HTi.001"]:
        revoked = stub.RevokeAcceptance(
            pb.RevokeAcceptanceRequest(
                acceptance_id=acceptance_id, analyst="b.supervisor", reason="re-review"
            ),
            timeout=10,
        )
        assert revoked.acceptance.status == pb.ACCEPTANCE_STATUS_REVOKED
    for _ in range(6):
        screen_until(stub, BIN_LADEN, lambda r: not any(m.accepted for m in r.matches))
    with pytest.raises(grpc.RpcError) as refused:
        stub.RevokeAcceptance(
            pb.RevokeAcceptanceRequest(
                acceptance_id=accepted["un:HTi.001"], analyst="b", reason="again"
            ),
            timeout=10,
        )
    assert refused.value.code() == grpc.StatusCode.FAILED_PRECONDITION

    # `screening audit export`: the same records as JSON lines, filtered on their time.
    yesterday = time.strftime("%Y-%m-%d", time.gmtime(time.time() - 86400))
    before = set(audit_records(redis_server, svc.prefix))
    exported = cli(svc, "audit", "export", "--redis-url", svc.redis_url, "--since", yesterday)
    lines = [json.loads(line) for line in exported.splitlines()]
    ids = [r["screening_id"] for r in lines]
    assert before <= set(ids) <= set(audit_records(redis_server, svc.prefix))
    assert len(ids) == len(set(ids))
    assert {r["kind"] for r in lines} >= {"party", "shipment", "batch_item", "monitoring"}
    assert all(r["stream_id"] for r in lines)
    assert cli(svc, "audit", "export", "--redis-url", svc.redis_url, "--since", "2999-01-01") == b""

    stopped = stub.StopMonitoring(
        pb.StopMonitoringRequest(monitor_id=sanon.monitored.monitor_id), timeout=10
    )
    assert stopped.monitored.monitor_id == sanon.monitored.monitor_id
    watch.cancel()
    channel.close()


def _acceptance(stub: Any, acceptance_id: str) -> pb.Acceptance:
    reply = stub.ListAcceptances(pb.ListAcceptancesRequest(include_inactive=True), timeout=10)
    return next(a for a in reply.acceptances if a.acceptance_id == acceptance_id)


def _status(stub: Any, acceptance_id: str) -> int:
    return _acceptance(stub, acceptance_id).status


def test_accept_match_validation(svc):
    with grpc.insecure_channel(svc.target) as channel:
        stub = pb_grpc.ScreeningServiceStub(channel)
        with pytest.raises(grpc.RpcError) as bad:
            stub.AcceptMatch(pb.AcceptMatchRequest(party=pb.Party(name="Xavier Ortiz")), timeout=10)
        assert bad.value.code() == grpc.StatusCode.INVALID_ARGUMENT
        status = rpc_status.from_call(bad.value)
        assert status is not None
        detail = error_details_pb2.BadRequest()
        status.details[0].Unpack(detail)
        fields = {v.field for v in detail.field_violations}
        assert fields == {"entity_id", "analyst", "reason", "expires_at"}
        with pytest.raises(grpc.RpcError) as missing:
            stub.AcceptMatch(
                pb.AcceptMatchRequest(
                    party=pb.Party(name="Xavier Ortiz"),
                    entity_id="un:NOPE.1",
                    analyst="a",
                    reason="r",
                    expires_at=expiry(),
                ),
                timeout=10,
            )
        assert missing.value.code() == grpc.StatusCode.NOT_FOUND
        with pytest.raises(grpc.RpcError) as too_long:
            stub.AcceptMatch(
                pb.AcceptMatchRequest(
                    party=pb.Party(name="Xavier Ortiz"),
                    entity_id="un:HTi.001",
                    analyst="a",
                    reason="r",
                    expires_at=expiry(days=5000),
                ),
                timeout=10,
            )
        assert "expires_at" in too_long.value.details()
