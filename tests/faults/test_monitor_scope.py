"""Scopes (issue 25, failure 11): a token with only the `monitor` permission used to get
full screening results through MonitorParty. Every RPC that returns matches needs `screen`:
the monitoring RPCs need `monitor` and `screen`, a refused call registers and records
nothing, and a token holding both is answered as before."""

from __future__ import annotations

import json
import time

import grpc

from screening.api.auth import hash_token
from screening.v1 import screening_pb2 as pb
from screening.v1 import screening_pb2_grpc as pb_grpc
from tests.conftest import copy_lists, start_service
from tests.faults.load import UN_LIST, audit_ids

PREFIX = "fault-scope"
TOKENS = {"monitor": "tok-monitor-only-01", "screen": "tok-screen-only-01", "both": "tok-both-01"}
LISTED = "Usama bin Laden"


def _refusal(call) -> grpc.RpcError:  # type: ignore[no-untyped-def]
    try:
        call()
    except grpc.RpcError as exc:
        return exc
    raise AssertionError("the call was answered")


def test_monitoring_rpcs_need_the_screen_scope(redis_server, lists_dir, tmp_path, fault_report):
    tokens = [
        {
            "client": f"{name}-client",
            "token_hash": hash_token(token),
            "permissions": {"monitor": ["monitor"], "screen": ["screen"]}.get(
                name, ["monitor", "screen"]
            ),
        }
        for name, token in TOKENS.items()
    ]
    service = start_service(
        redis_server.url,
        PREFIX,
        lists_dir=copy_lists(lists_dir, tmp_path / "lists", UN_LIST),
        env={
            "SCREENING_AUTH_TOKENS": json.dumps(tokens),
            "SCREENING_AUDIT_SPOOL_DIR": str(tmp_path / "spool"),
        },
    )
    client = redis_server.client()
    client.delete("{" + PREFIX + "}:audit")
    try:
        with grpc.insecure_channel(service.target) as channel:
            stub = pb_grpc.ScreeningServiceStub(channel)

            def auth(name: str) -> tuple[tuple[str, str]]:
                return (("authorization", f"Bearer {TOKENS[name]}"),)

            register = pb.MonitorPartyRequest(party=pb.Party(name=LISTED))
            refused = []
            for name, missing in (("monitor", "'screen'"), ("screen", "'monitor'")):
                calls = {
                    "MonitorParty": lambda n=name: stub.MonitorParty(
                        register, metadata=auth(n), timeout=10
                    ),
                    "ListMonitoredParties": lambda n=name: stub.ListMonitoredParties(
                        pb.ListMonitoredPartiesRequest(), metadata=auth(n), timeout=10
                    ),
                    "StopMonitoring": lambda n=name: stub.StopMonitoring(
                        pb.StopMonitoringRequest(monitor_id="x"), metadata=auth(n), timeout=10
                    ),
                    "WatchAlerts": lambda n=name: next(
                        iter(
                            stub.WatchAlerts(
                                pb.WatchAlertsRequest(after_alert_id="0"),
                                metadata=auth(n),
                                timeout=10,
                            )
                        )
                    ),
                }
                for method, call in calls.items():
                    exc = _refusal(call)
                    assert exc.code() == grpc.StatusCode.PERMISSION_DENIED, (method, exc)
                    assert missing in (exc.details() or ""), (method, exc.details())
                    refused.append(f"{name}:{method}")
            # A refused registration left nothing behind, in the monitoring store or the
            # audit trail.
            listed = stub.ListMonitoredParties(
                pb.ListMonitoredPartiesRequest(), metadata=auth("both"), timeout=10
            )
            assert listed.total == 0
            assert audit_ids(client, PREFIX) == []
            # The screen-only token screens; the token with both registers and is answered.
            screened = stub.ScreenParty(
                pb.ScreenPartyRequest(party=pb.Party(name=LISTED)),
                metadata=auth("screen"),
                timeout=10,
            )
            assert screened.matches
            registered = stub.MonitorParty(register, metadata=auth("both"), timeout=10)
            assert registered.matches
            assert registered.monitored.known_entity_ids
        # The two answered screenings are recorded (once shipped), the refusals are not.
        deadline = time.monotonic() + 30
        while len(recorded := audit_ids(client, PREFIX)) < 2 and time.monotonic() < deadline:
            time.sleep(0.2)
        fault_report(
            refused_calls=len(refused),
            screenings_answered=2,
            screenings_failed=0,
            audit_records=len(recorded),
        )
        assert len(recorded) == 2 and screened.screening_id in recorded, recorded
    finally:
        service.stop()
