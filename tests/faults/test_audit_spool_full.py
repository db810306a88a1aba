"""Redis away long enough for a worker's audit spool to fill: the worker refuses screenings
(UNAVAILABLE) rather than answer one it cannot record, the repeats it would answer from
memory included; once Redis is back the spool ships and the worker screens again. Every
answered screening is in the audit stream, once."""

from __future__ import annotations

import shutil
import time
from collections import Counter

import grpc

from screening.v1 import screening_pb2 as pb
from screening.v1 import screening_pb2_grpc as pb_grpc
from tests.conftest import start_redis
from tests.faults.load import audit_ids_when_shipped, start_fault_service

PREFIX = "fault-spool"
# A few records' worth: the spool fills within a few dozen screenings.
SPOOL_BYTES = 6000


def _party(name: str) -> pb.ScreenPartyRequest:
    return pb.ScreenPartyRequest(party=pb.Party(name=name, entity_type=pb.ENTITY_TYPE_ORGANIZATION))


def test_a_full_spool_refuses_screenings_until_redis_is_back(lists_dir, tmp_path, fault_report):
    redis_server = start_redis()
    port = redis_server.port
    service = start_fault_service(
        redis_server.url,
        PREFIX,
        lists_dir,
        tmp_path,
        env={"SCREENING_AUDIT_SPOOL_MAX_BYTES": str(SPOOL_BYTES)},
    )
    answered: list[str] = []
    refused: Counter[str] = Counter()
    repeat = _party("Northwind Harbour Supplies Ltd")
    try:
        with grpc.insecure_channel(service.target) as channel:
            stub = pb_grpc.ScreeningServiceStub(channel)
            # Answered once, then again from the worker's memory (the repeat path).
            answered.append(stub.ScreenParty(repeat, timeout=10).screening_id)
            answered.append(stub.ScreenParty(repeat, timeout=10).screening_id)
            redis_server.proc.kill()
            redis_server.proc.wait()
            # Nothing ships now. Alternate repeats and new counterparties until both are
            # refused.
            for n in range(400):
                kind = "repeat" if n % 2 else "new"
                request = repeat if kind == "repeat" else _party(f"Harbour Trading {n} Ltd")
                try:
                    answered.append(stub.ScreenParty(request, timeout=10).screening_id)
                except grpc.RpcError as exc:
                    assert exc.code() == grpc.StatusCode.UNAVAILABLE, exc
                    assert "audit" in (exc.details() or ""), exc.details()
                    refused[kind] += 1
                    if refused["repeat"] >= 3 and refused["new"] >= 3:
                        break
            assert refused["repeat"] >= 3 and refused["new"] >= 3, refused
            while_full = len(answered)
            redis_server = start_redis(port)  # back, empty
            # The spool ships (sent again from the start: Redis lost what it held) and the
            # worker takes screenings again.
            deadline = time.monotonic() + 60
            while True:
                try:
                    answered.append(stub.ScreenParty(repeat, timeout=10).screening_id)
                    break
                except grpc.RpcError as exc:
                    assert exc.code() == grpc.StatusCode.UNAVAILABLE, exc
                    assert time.monotonic() < deadline, "still refusing after Redis came back"
                    time.sleep(0.2)
            answered.append(
                stub.ScreenParty(_party("Harbour Trading 9999 Ltd"), timeout=10).screening_id
            )
        recorded = audit_ids_when_shipped(redis_server.client(), PREFIX, answered, timeout=30)
        counts = Counter(recorded)
        fault_report(
            answered=len(answered),
            answered_before_refusing=while_full,
            refused=dict(refused),
            audit_records=len(recorded),
            missing=len(set(answered) - set(counts)),
        )
        assert len(set(answered)) == len(answered)
        assert set(counts) == set(answered), "audit records missing or unexpected"
        assert max(counts.values()) == 1, "an audit record arrived twice"
    finally:
        service.stop()
        redis_server.stop()
        shutil.rmtree(redis_server.workdir, ignore_errors=True)
