"""The supervisor killed (issue 25, failure 6): its workers used to live on as orphans and
keep the port, and a new instance on that port started "fine" but received no connection
(they go to the oldest sockets of the group), so the old data kept being served.

Workers now die with their supervisor (drained, their audit records shipped), a new instance
on the port serves every connection, and an instance started while something else still
listens there refuses to start, naming it."""

from __future__ import annotations

import os
import signal
import socket
import time
from collections import Counter
from pathlib import Path

from tests.conftest import copy_lists, start_service
from tests.faults.load import (
    UN_LIST,
    ConnectionProbe,
    Load,
    audit_ids_when_shipped,
    exported_ids,
    log_entries,
)

PREFIX = "fault-supervisor"


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()[0]
    except OSError:
        return False
    return state != "Z"


def test_workers_die_with_their_supervisor_and_a_new_instance_takes_the_port(
    redis_server, lists_dir, tmp_path, fault_report
):
    lists = copy_lists(lists_dir, tmp_path / "lists", UN_LIST)
    env = {"SCREENING_AUDIT_SPOOL_DIR": str(tmp_path / "spool"), "SCREENING_GRACE_SECONDS": "2"}
    first = start_service(redis_server.url, PREFIX, lists_dir=lists, workers=2, env=env)
    port = first.port
    second = None
    load = Load(first.target, threads=3).start()
    probe = ConnectionProbe(first.target).start()
    try:
        time.sleep(3)
        workers = list(first.worker_pids().values())
        first.proc.kill()  # SIGKILL: the supervisor has no say
        killed_at = time.monotonic()
        first.proc.wait()
        deadline = killed_at + 30
        while any(_alive(pid) for pid in workers):
            assert time.monotonic() < deadline, "orphaned workers still alive"
            time.sleep(0.1)
        workers_gone_in = time.monotonic() - killed_at
        second = start_service(
            redis_server.url, PREFIX, lists_dir=lists, workers=2, env=env, port=port
        )
        serving_at = time.monotonic()
        time.sleep(3)
        probe.stop()
        load.stop()
        # Every new connection now goes to the new instance's workers: its log shows them.
        new_workers = set(second.worker_pids().values())
        assert not new_workers & set(workers)
        answered = Counter(load.answered + probe.answered)
        recorded = Counter(
            audit_ids_when_shipped(redis_server.client(), PREFIX, answered, timeout=60)
        )
        exported = Counter(exported_ids(redis_server.url, PREFIX))
        fault_report(
            screenings=sum(answered.values()),
            load_failures_with_retry=load.failed,
            new_connections_failed_while_no_instance=probe.failures(killed_at, serving_at),
            new_connections_failed_after=probe.failures(serving_at),
            new_connections_after=probe.count(serving_at),
            audit_records=sum(recorded.values()),
            exported=sum(exported.values()),
            missing=len(set(answered) - set(recorded)),
            workers_gone_seconds=round(workers_gone_in, 2),
            port_served_again_seconds=round(serving_at - killed_at, 2),
        )
        assert probe.count(serving_at) > 10
        assert probe.failures(serving_at) == 0
        assert set(answered) <= set(recorded), "an answered screening has no audit record"
        assert max(recorded.values()) == 1, "an audit record arrived twice"
        assert exported == recorded
    finally:
        probe.stop()
        load.stop()
        first.stop()
        if second is not None:
            second.stop()


def test_a_new_instance_refuses_a_port_someone_still_serves(redis_server, tmp_path, fault_report):
    # A listener that will not go away (as orphaned workers of an older build would be).
    squatter = socket.socket()
    squatter.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    squatter.bind(("127.0.0.1", 0))
    squatter.listen()
    port = squatter.getsockname()[1]
    try:
        started = time.monotonic()
        service = start_service(
            redis_server.url,
            "fault-port-taken",
            env={"SCREENING_GRACE_SECONDS": "1"},
            wait=False,
            port=port,
        )
        assert service.proc.wait(60) != 0
        refused_in = time.monotonic() - started
        (entry,) = log_entries(service, "not starting")
        assert f"port {port}" in str(entry["error"])
        assert f"pid {os.getpid()}" in str(entry["error"]), entry  # names who holds it
        fault_report(refused_in_seconds=round(refused_in, 1))
    finally:
        squatter.close()


def test_workers_exit_when_the_supervisor_dies_before_they_serve(redis_server, tmp_path):
    """No snapshot (the workers wait for one): killed supervisor, workers gone all the same."""
    service = start_service(redis_server.url, "fault-supervisor-idle", workers=2, wait=False)
    try:
        deadline = time.monotonic() + 60
        while len(service.worker_pids()) < 2 or not log_entries(
            service, "no index to serve yet; not listening until one is loaded"
        ):
            assert time.monotonic() < deadline, service.logs()[-3000:]
            time.sleep(0.1)
        workers = list(service.worker_pids().values())
        service.proc.send_signal(signal.SIGKILL)
        service.proc.wait()
        deadline = time.monotonic() + 30
        while any(_alive(pid) for pid in workers):
            assert time.monotonic() < deadline, "orphaned workers still alive"
            time.sleep(0.1)
    finally:
        service.stop()
