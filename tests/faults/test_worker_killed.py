"""A worker process killed (SIGKILL) during a load of screenings: the other worker keeps
serving, the supervisor starts a new worker, and no audit record is lost or doubled (the
dead worker's journal is adopted and whatever it had not shipped is shipped)."""

from __future__ import annotations

import os
import signal
import time
from collections import Counter

from tests.faults.load import Load, audit_ids_when_shipped, start_fault_service

PREFIX = "fault-worker"


def test_worker_killed_is_restarted_and_nothing_is_lost(
    redis_server, lists_dir, tmp_path, fault_report
):
    service = start_fault_service(redis_server.url, PREFIX, lists_dir, tmp_path, workers=2)
    try:
        victim = service.worker_pids()[0]
        # Clients that retry UNAVAILABLE (the usual set-up), and clients that do not.
        retrying = Load(service.target, threads=3, retry=True).start()
        plain = Load(service.target, threads=3, retry=False).start()
        time.sleep(3)
        os.kill(victim, signal.SIGKILL)
        killed_at = time.monotonic()
        deadline = killed_at + 60
        while True:
            replacement = service.worker_pids()[0]
            if replacement != victim and replacement in service.serving_workers():
                break
            assert time.monotonic() < deadline, "the supervisor did not restore the worker"
            time.sleep(0.2)
        restored_in = time.monotonic() - killed_at
        time.sleep(3)  # load on the restored worker too
        retrying.stop()
        plain.stop()
        answered = Counter(retrying.answered + plain.answered)
        recorded = Counter(
            audit_ids_when_shipped(redis_server.client(), PREFIX, answered, timeout=30)
        )
        fault_report(
            screenings=sum(answered.values()),
            failures_with_retry=retrying.failed,
            failures_without_retry=plain.failed,
            audit_records=sum(recorded.values()),
            duplicates=sum(c - 1 for c in recorded.values() if c > 1),
            missing=len(set(answered) - set(recorded)),
            recorded_not_answered=len(set(recorded) - set(answered)),
            restored_in_seconds=round(restored_in, 1),
        )
        assert retrying.failed == 0, retrying.failures
        # Without retries, only the calls in flight on the dead worker's connections fail.
        assert set(plain.failures) <= {"UNAVAILABLE"}, plain.failures
        assert plain.failed <= plain.threads * 2
        assert len(plain.answered) > 0 and len(retrying.answered) > 0
        assert max(answered.values()) == 1
        assert set(answered) <= set(recorded), "an answered screening has no audit record"
        assert max(recorded.values()) == 1, "an audit record arrived twice"
        # A record without an answer: screened and journaled, answer lost with the worker.
        assert len(set(recorded) - set(answered)) <= retrying.threads + plain.threads
        assert "worker died; restarting" in service.logs()
    finally:
        service.stop()
