"""The embedded default across restarts (issue 25, failure 8): it ran Redis without
persistence and kept the audit spool under a random socket path, so every restart lost the
audit trail (7,008 shipped records gone, 10,495 spooled records never shipped in one restart).

Now the data directory is stable (SCREENING_DATA_DIR): Redis keeps an append-only file there
(fsync every second) and the spool sits beside it under a stable name. A graceful restart
keeps everything; after every process is SIGKILLed at once (a crash), the next start reloads
what Redis had written, adopts the spool left behind and ships whatever Redis does not hold:
every answered screening is in the trail, exactly once."""

from __future__ import annotations

import os
import signal
import time
from collections import Counter
from pathlib import Path

import redis

from tests.conftest import Service, copy_lists, start_service
from tests.faults.load import (
    UN_LIST,
    Load,
    audit_ids,
    audit_ids_when_shipped,
    exported_ids,
    log_entries,
)

PREFIX = "fault-restart"


def _start(lists: Path, data_dir: Path) -> tuple[Service, str, int]:
    service = start_service(
        None, PREFIX, lists_dir=lists, workers=2, env={"SCREENING_DATA_DIR": str(data_dir)}
    )
    (started,) = log_entries(service, "embedded redis started")
    return service, str(started["socket"]), int(str(started["redis_pid"]))


def _load_for(service: Service, seconds: float) -> Load:
    load = Load(service.target, threads=4).start()
    time.sleep(seconds)
    load.stop()
    return load


def test_the_embedded_default_keeps_its_data_and_audit_trail(lists_dir, tmp_path, fault_report):
    lists = copy_lists(lists_dir, tmp_path / "lists", UN_LIST)
    data_dir = tmp_path / "data"
    services: list[Service] = []
    try:
        # 1. Serve, then stop gracefully (SIGTERM).
        first, socket_path, _ = _start(lists, data_dir)
        services.append(first)
        load = _load_for(first, 4)
        first_answered = Counter(load.answered)
        audit_ids_when_shipped(
            redis.Redis(unix_socket_path=socket_path), PREFIX, first_answered, 30
        )
        assert first.stop() == 0

        # 2. Start again on the same directory: the trail is there. Then a crash: the
        #    supervisor, its workers and redis-server all SIGKILLed at the same moment.
        second, socket_path, redis_pid = _start(lists, data_dir)
        services.append(second)
        client = redis.Redis(unix_socket_path=socket_path)
        after_restart = Counter(audit_ids(client, PREFIX))
        restart_lost = len(set(first_answered) - set(after_restart))
        load = Load(second.target, threads=4).start()
        time.sleep(4)
        for pid in (second.proc.pid, *second.worker_pids().values(), redis_pid):
            os.kill(pid, signal.SIGKILL)
        crashed_at = time.monotonic()
        second.proc.wait()
        load.stop()
        second_answered = Counter(load.answered)

        # 3. Start after the crash: Redis reloads its file, the spool is adopted and shipped.
        third, socket_path, _ = _start(lists, data_dir)
        services.append(third)
        serving_in = time.monotonic() - crashed_at
        client = redis.Redis(unix_socket_path=socket_path)
        answered = first_answered + second_answered
        recorded = Counter(audit_ids_when_shipped(client, PREFIX, answered, timeout=60))
        exported = Counter(exported_ids(f"unix://{socket_path}", PREFIX))
        adopted = log_entries(third, "audit journal of a stopped writer adopted")
        fault_report(
            screenings_before_graceful_restart=sum(first_answered.values()),
            records_lost_by_graceful_restart=restart_lost,
            screenings_before_crash=sum(second_answered.values()),
            load_failures=load.failed,
            journals_adopted_after_crash=len(adopted),
            audit_records=sum(recorded.values()),
            exported=sum(exported.values()),
            missing=len(set(answered) - set(recorded)),
            duplicates=sum(c - 1 for c in recorded.values() if c > 1),
            serving_again_after_crash_seconds=round(serving_in, 1),
        )
        assert restart_lost == 0, "a graceful restart lost audit records"
        assert Counter(after_restart) == first_answered
        assert set(answered) <= set(recorded), "an answered screening has no audit record"
        assert max(recorded.values()) == 1, "an audit record arrived twice"
        assert exported == recorded
        assert data_dir.joinpath("audit").is_dir() and data_dir.joinpath("redis").is_dir()
    finally:
        for service in services:
            service.stop()
