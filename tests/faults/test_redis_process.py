"""Redis as a process (issue 25, failure 5).

- The embedded redis-server killed (SIGKILL) under load: it used to stay a zombie and never
  come back. The supervisor reaps it, starts it again on its data directory (which it
  reloads), and the service answers every screening meanwhile; every answer is in the audit
  trail once.
- A worker restarted while Redis is away used to bind the port without an index: every
  second new connection got NOT_SERVING / UNAVAILABLE "no list data loaded yet" for as long
  as Redis was away. It now waits for an index before it listens: new connections all go to
  the worker that has one, and the replacement serves once Redis is back.
- Ctrl-C at a terminal (SIGINT to the whole process group) and a stop during the start:
  the supervisor alone acts on it and stops every process in order, Redis last.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import redis

from tests.conftest import (
    Service,
    assert_json_log_lines,
    copy_lists,
    start_redis,
    start_service,
)
from tests.faults.load import (
    UN_LIST,
    ConnectionProbe,
    Load,
    audit_ids_when_shipped,
    exported_ids,
    log_entries,
    start_fault_service,
)


def _state(pid: int) -> str:
    """The process state letter (Z: zombie), or '' when the process is gone."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()[0]
    except OSError:
        return ""


def test_embedded_redis_killed_is_reaped_restarted_and_reloaded(lists_dir, tmp_path, fault_report):
    prefix = "fault-embedded"
    data_dir = tmp_path / "data"
    service = start_service(
        None,
        prefix,
        lists_dir=copy_lists(lists_dir, tmp_path / "lists", UN_LIST),
        workers=2,
        env={"SCREENING_DATA_DIR": str(data_dir)},
    )
    try:
        (started,) = log_entries(service, "embedded redis started")
        socket_path, victim = str(started["socket"]), int(started["redis_pid"])  # type: ignore[call-overload]
        load = Load(service.target, threads=4).start()
        time.sleep(3)
        os.kill(victim, signal.SIGKILL)
        killed_at = time.monotonic()
        deadline = killed_at + 30
        while not log_entries(service, "embedded redis-server restarted"):
            assert time.monotonic() < deadline, service.logs()[-3000:]
            time.sleep(0.05)
        restarted_in = time.monotonic() - killed_at
        assert _state(victim) == "", f"redis-server {victim} left as {_state(victim)!r}"
        client = redis.Redis(unix_socket_path=socket_path)
        # Its data is back: reloaded from the append-only file (or put back by a worker).
        deadline = time.monotonic() + 30
        while client.get("{" + prefix + "}:current") is None:
            assert time.monotonic() < deadline, "snapshot not back"
            time.sleep(0.1)
        time.sleep(3)  # load on the restarted Redis too
        load.stop()
        answered = Counter(load.answered)
        recorded = Counter(audit_ids_when_shipped(client, prefix, answered, timeout=60))
        exported = exported_ids(f"unix://{socket_path}", prefix)
        fault_report(
            screenings=len(answered),
            failures=load.failed,
            audit_records=sum(recorded.values()),
            exported=len(exported),
            missing=len(set(answered) - set(recorded)),
            redis_restarted_in_seconds=round(restarted_in, 2),
        )
        assert load.failed == 0, load.failures
        assert max(answered.values()) == 1
        assert set(answered) <= set(recorded), "an answered screening has no audit record"
        assert max(recorded.values()) == 1, "an audit record arrived twice"
        assert Counter(exported) == recorded
    finally:
        service.stop()


def test_a_worker_restarted_while_redis_is_away_listens_only_with_an_index(
    lists_dir, tmp_path, fault_report
):
    prefix = "fault-noindex"
    redis_server = start_redis()
    port = redis_server.port
    service = start_fault_service(redis_server.url, prefix, lists_dir, tmp_path, workers=2)
    try:
        load = Load(service.target, threads=3).start()
        probe = ConnectionProbe(service.target).start()
        time.sleep(2)
        redis_server.proc.kill()
        redis_server.proc.wait()
        time.sleep(1)
        victim = service.worker_pids()[0]
        os.kill(victim, signal.SIGKILL)
        # The replacement starts, cannot load an index, and must not listen.
        deadline = time.monotonic() + 60
        while not log_entries(service, "no index to serve yet; not listening until one is loaded"):
            assert time.monotonic() < deadline, service.logs()[-3000:]
            time.sleep(0.1)
        away_from = time.monotonic()
        time.sleep(8)  # Redis away, one worker serving, the other waiting
        away_until = time.monotonic()
        redis_server = start_redis(port)  # back, empty: the serving worker republishes
        back_at = time.monotonic()
        deadline = back_at + 60
        while not log_entries(service, "index loaded; listening"):
            assert time.monotonic() < deadline, service.logs()[-3000:]
            time.sleep(0.1)
        recovered_in = time.monotonic() - back_at
        time.sleep(2)
        probe.stop()
        load.stop()
        answered = Counter(load.answered + probe.answered)
        recorded = Counter(
            audit_ids_when_shipped(redis_server.client(), prefix, answered, timeout=60)
        )
        probe_failures = Counter(o for t, o in probe.outcomes if o != "OK")
        fault_report(
            screenings=sum(answered.values()),
            load_failures=load.failed,
            new_connections_while_redis_away=probe.count(away_from, away_until),
            failed_while_redis_away=probe.failures(away_from, away_until),
            probe_failures=dict(probe_failures),
            audit_records=sum(recorded.values()),
            missing=len(set(answered) - set(recorded)),
            replacement_serving_after_redis_back_seconds=round(recovered_in, 2),
        )
        assert probe.count(away_from, away_until) > 20
        assert probe.failures(away_from, away_until) == 0, probe_failures
        assert load.failed == 0, load.failures
        assert set(answered) <= set(recorded), "an answered screening has no audit record"
        assert max(recorded.values()) == 1, "an audit record arrived twice"
    finally:
        service.stop()
        redis_server.stop()
        shutil.rmtree(redis_server.workdir, ignore_errors=True)


def test_ctrl_c_at_a_terminal_stops_the_embedded_redis_in_order(lists_dir, tmp_path):
    """Ctrl-C at a terminal signals the whole foreground process group. redis-server was in
    it: it stopped on its own, and the supervisor, still stopping, logged it dead and started
    it again. Now it has a session of its own (it still stops with the supervisor, by its
    parent-death signal), and a stopping supervisor restarts nothing."""
    service = start_service(
        None,
        "fault-ctrl-c",
        lists_dir=copy_lists(lists_dir, tmp_path / "lists", UN_LIST),
        workers=2,
        env={"SCREENING_DATA_DIR": str(tmp_path / "data")},
        new_session=True,
    )
    try:
        (started,) = log_entries(service, "embedded redis started")
        redis_pid = int(str(started["redis_pid"]))
        workers = list(service.worker_pids().values())
        assert os.getpgid(redis_pid) != service.proc.pid
        os.killpg(service.proc.pid, signal.SIGINT)
        assert service.proc.wait(60) == 0, service.logs()[-3000:]
        logs = service.logs()
        assert "redis-server died" not in logs, logs[-3000:]
        assert "Traceback" not in logs, logs[-3000:]
        assert len(log_entries(service, "embedded redis started")) == 1
        for pid in [redis_pid, *workers]:
            assert _state(pid) in ("", "Z"), f"process {pid} still running after the stop"
    finally:
        service.stop()


def _group(pgid: int) -> list[int]:
    """The processes still in this process group."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            with contextlib.suppress(OSError):
                if os.getpgid(int(entry.name)) == pgid and _state(int(entry.name)) not in ("Z", ""):
                    found.append(int(entry.name))
    return found


def _every_line_json_once_gone(service: Service, within: float = 30) -> None:
    """Once every process of the service's group has exited, every line it wrote is a JSON
    object. The build's helper was run by an executor whose queues hold named semaphores:
    stopped midway, it left them to multiprocessing's resource tracker, which cleaned them
    up with a bare two-line warning on the service's log as the last process exited."""
    deadline = time.monotonic() + within
    while _group(service.proc.pid):
        assert time.monotonic() < deadline, f"left running: {_group(service.proc.pid)}"
        time.sleep(0.1)
    time.sleep(0.2)  # the last writer's output
    assert_json_log_lines(service.logs().splitlines())


@contextmanager
def _ctrl_c_once_logged(
    lists_dir: Path,
    tmp_path: Path,
    prefix: str,
    message: str,
    within: float,
    times: int = 1,
) -> Iterator[Service]:
    """A first start from every shared list, in a process group of its own (as a command at
    a terminal), given Ctrl-C (SIGINT to the whole group) once its log says `message`
    `times` times (within `within` seconds); yields the service once it has exited 0."""
    service = start_service(
        None,
        prefix,
        lists_dir=lists_dir,
        workers=2,
        env={"SCREENING_DATA_DIR": str(tmp_path / "data")},
        wait=False,
        new_session=True,
    )
    try:
        deadline = time.monotonic() + within
        while len(log_entries(service, message)) < times:
            assert time.monotonic() < deadline, service.logs()[-3000:]
            time.sleep(0.02)
        os.killpg(service.proc.pid, signal.SIGINT)
        assert service.proc.wait(60) == 0, service.logs()[-3000:]
        yield service
    finally:
        service.stop()


def test_ctrl_c_during_the_first_start_stops_every_process_quietly(lists_dir, tmp_path):
    """Ctrl-C while the lists were parsed: every process of the group got it. The data
    preparation and the build's helper died on KeyboardInterrupt (tracebacks on the
    terminal), a parsing process failed to answer a parent gone (another), and the
    supervisor, once its preparation ended, went on to start its refresh and metrics and to
    log `workers starting`. Now only the supervisor acts on the key: its children ignore it
    from their start, it stops them, and it starts nothing more."""
    # Once the first file is parsed: the ingest is under way.
    with _ctrl_c_once_logged(
        lists_dir, tmp_path, "fault-ctrl-c-start", "list file parsed", within=60
    ) as service:
        (started,) = log_entries(service, "embedded redis started")
        redis_pid = int(str(started["redis_pid"]))
        logs = service.logs()
        for sign in ("Traceback", "KeyboardInterrupt", "redis-server died"):
            assert sign not in logs, logs[-3000:]
        assert not log_entries(service, "workers starting"), logs[-3000:]
        # The parsing processes finish the file in hand, see their parent gone and exit.
        _every_line_json_once_gone(service)
        deadline = time.monotonic() + 10
        while _state(redis_pid) not in ("", "Z"):
            assert time.monotonic() < deadline, f"redis-server {redis_pid} left running"
            time.sleep(0.1)


def test_a_stop_during_the_index_build_stops_the_waiting_workers_at_once(lists_dir, tmp_path):
    """Stopped while the host's index was built (the lists ingested), the workers waited
    for it and acted on SIGTERM only once they had it: the data preparation being stopped,
    a worker built the index itself, said `worker serving`, and only then stopped. A worker
    now gives up the wait (and any build it started) when it is told to stop."""
    # Once both workers are set up (released when the ingest has finished and the build
    # begun, their stop handlers on: they load the policy after): the build has about 3 s
    # to go. On "ingest finished" alone, the key could beat the workers' release, and
    # workers stopped before it end without a word.
    with _ctrl_c_once_logged(
        lists_dir, tmp_path, "fault-stop-during-build", "policy loaded", within=120, times=2
    ) as service:
        logs = service.logs()
        assert not log_entries(service, "worker serving"), logs[-3000:]
        assert not log_entries(service, "index file built"), logs[-3000:]
        assert len(log_entries(service, "worker stopped before serving")) == 2, logs[-3000:]
        assert "Traceback" not in logs, logs[-3000:]
        _every_line_json_once_gone(service)
