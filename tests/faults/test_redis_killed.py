"""redis-server killed (SIGKILL) during a load of screenings, then restarted empty:
no screening fails, the workers keep serving their in-memory index, the snapshot is
republished, and every answered screening is in the audit stream exactly once (the records
Redis lost with its data are sent again from the workers' journals)."""

from __future__ import annotations

import shutil
import time
from collections import Counter

import grpc

from screening.v1 import screening_pb2 as pb
from screening.v1 import screening_pb2_grpc as pb_grpc
from tests.conftest import start_redis
from tests.faults.load import Load, audit_ids_when_shipped, start_fault_service

PREFIX = "fault-redis"


def test_redis_killed_and_restarted_empty(lists_dir, tmp_path, fault_report):
    redis_server = start_redis()
    port = redis_server.port
    service = start_fault_service(redis_server.url, PREFIX, lists_dir, tmp_path, workers=2)
    load = Load(service.target, threads=4).start()
    try:
        time.sleep(3)
        before_kill = len(load.answered)
        redis_server.proc.kill()  # SIGKILL: no save, no goodbye
        redis_server.proc.wait()
        time.sleep(3)
        # Redis is gone: the service answers from memory, status included.
        with grpc.insecure_channel(service.target) as channel:
            status = pb_grpc.ScreeningServiceStub(channel).GetDataStatus(
                pb.GetDataStatusRequest(), timeout=10
            )
        assert status.entity_count > 800
        during_outage = len(load.answered) - before_kill
        redis_server = start_redis(port)  # back on the same port, empty
        time.sleep(4)
    finally:
        load.stop()
    try:
        client = redis_server.client()
        # The workers put back the snapshot they serve ...
        deadline = time.monotonic() + 30
        while client.get("{" + PREFIX + "}:current") is None:
            assert time.monotonic() < deadline, "snapshot not republished"
            time.sleep(0.2)
        # ... and every audit record arrives, once.
        answered = Counter(load.answered)
        recorded = audit_ids_when_shipped(client, PREFIX, answered, timeout=60)
        counts = Counter(recorded)
        fault_report(
            screenings=len(answered),
            answered_while_redis_down=during_outage,
            failures=load.failed,
            audit_records=len(recorded),
            duplicates=sum(c - 1 for c in counts.values() if c > 1),
            missing=len(set(answered) - set(counts)),
        )
        assert load.failed == 0, load.failures
        assert during_outage > 0
        assert max(answered.values()) == 1
        assert set(counts) == set(answered), "audit records missing or unexpected"
        assert max(counts.values()) == 1, "an audit record arrived twice"
        logs = service.logs()
        assert "Redis lost confirmed records" in logs
        assert "republishing" in logs
    finally:
        service.stop()
        redis_server.stop()
        shutil.rmtree(redis_server.workdir, ignore_errors=True)
