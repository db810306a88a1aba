"""A stopped worker (issue 25, failure 7): SIGSTOP leaves its listening socket in the group,
so the kernel keeps handing it new connections that nobody accepts; only is_alive() was
checked, and with a 1 s deadline half of new connections failed for as long as it stayed
stopped. The supervisor now watches each worker's heartbeat, kills a worker that misses it
and starts another: new connections fail only until then."""

from __future__ import annotations

import os
import signal
import time
from collections import Counter

from tests.faults.load import (
    ConnectionProbe,
    Load,
    audit_ids_when_shipped,
    log_entries,
    start_fault_service,
)

PREFIX = "fault-stopped"


def test_a_stopped_worker_is_noticed_and_replaced(redis_server, lists_dir, tmp_path, fault_report):
    service = start_fault_service(redis_server.url, PREFIX, lists_dir, tmp_path, workers=2)
    try:
        load = Load(service.target, threads=3).start()
        probe = ConnectionProbe(service.target).start()
        time.sleep(3)
        victim = service.worker_pids()[0]
        os.kill(victim, signal.SIGSTOP)
        stopped_at = time.monotonic()
        # A probe is timed from its start: one started within a deadline before the stop
        # may be in flight on the victim as it stops, and belongs to the fault's window.
        fault_from = stopped_at - probe.deadline
        deadline = stopped_at + 60
        while True:
            replacement = service.worker_pids()[0]
            if replacement != victim and replacement in service.serving_workers():
                break
            assert time.monotonic() < deadline, service.logs()[-3000:]
            time.sleep(0.05)
        restored_at = time.monotonic()
        (noticed,) = log_entries(service, "worker missed its heartbeats; killing and restarting it")
        time.sleep(5)  # new connections after the replacement
        probe.stop()
        load.stop()
        answered = Counter(load.answered + probe.answered)
        recorded = Counter(
            audit_ids_when_shipped(redis_server.client(), PREFIX, answered, timeout=60)
        )
        fault_report(
            screenings=sum(answered.values()),
            load_failures_with_retry=load.failed,
            new_connections_before=probe.count(0, fault_from),
            failed_before=probe.failures(0, fault_from),
            new_connections_while_stopped=probe.count(fault_from, restored_at),
            failed_while_stopped=probe.failures(fault_from, restored_at),
            new_connections_after=probe.count(restored_at),
            failed_after=probe.failures(restored_at),
            probe_outcomes=dict(Counter(o for _, o in probe.outcomes)),
            audit_records=sum(recorded.values()),
            missing=len(set(answered) - set(recorded)),
            duplicates=sum(c - 1 for c in recorded.values() if c > 1),
            late_when_noticed=noticed["late_seconds"],
            replaced_in_seconds=round(restored_at - stopped_at, 2),
        )
        # Noticed after the heartbeat timeout (3 s), replaced soon after.
        assert restored_at - stopped_at < 15
        assert probe.failures(0, fault_from) == 0
        # Connections opened after the replacement serves all succeed; late ones handed to
        # the stopped worker before its kill are within the window above.
        assert probe.count(restored_at) > 20
        assert probe.failures(restored_at) == 0
        assert set(answered) <= set(recorded), "an answered screening has no audit record"
        assert max(recorded.values()) == 1, "an audit record arrived twice"
    finally:
        service.stop()
