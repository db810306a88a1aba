"""Shared fixtures: a real redis-server and a real `screening serve` on loopback.

Nothing is mocked. The session starts one redis-server (TCP, random port) and, for tests
that need it, one service with every shared list ingested. Tests isolate their Redis data
with a key prefix of their own (`prefix` fixture) rather than flushing shared state.

Under pytest-xdist (tests/run.sh) each worker is a session of its own: its own redis-server,
list-state directory and block of ports, so workers never share a key, a file or a port. The
session service alone is shared: the first worker to need it starts it, the others use it.
Tests marked `serial` (timing-sensitive, or killing and restarting processes) run in a stage
of their own, one at a time, with nothing else beside them.
"""

from __future__ import annotations

import fcntl
import json
import os
import shutil
import signal
import subprocess
import tempfile
import time
import uuid
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import grpc
import pytest
import redis

from tests import scheduling
from tests.ports import free_port
from tests.serve_command import serve_command

ROOT = Path(__file__).resolve().parent.parent
LISTS_DIR = Path(
    os.environ.get("SCREENING_TEST_LISTS_DIR", ROOT.parent / "shared" / "data" / "lists")
)
EVAL_DIR = Path(os.environ.get("SCREENING_TEST_EVAL_DIR", ROOT.parent / "shared" / "eval" / "dev"))
# The xdist worker this process is ("gw0", "gw1"...), or "" when pytest runs alone.
XDIST_WORKER = os.environ.get("PYTEST_XDIST_WORKER", "")
# The last good publications a service or an ingest keeps on disk: the session's own, never
# the user's (each service started below gets a directory of its own besides). An xdist
# worker inherits the controller's directory, so each worker makes one of its own.
_OWN_STATE_DIR = "SCREENING_TEST_OWN_LIST_STATE_DIR"
if "SCREENING_LIST_STATE_DIR" not in os.environ or (
    XDIST_WORKER and os.environ.get(_OWN_STATE_DIR) == os.environ["SCREENING_LIST_STATE_DIR"]
):
    os.environ["SCREENING_LIST_STATE_DIR"] = os.environ[_OWN_STATE_DIR] = tempfile.mkdtemp(
        prefix=f"test-list-state-{XDIST_WORKER}-"
    )

# The default data directory ($XDG_STATE_HOME/screening: the embedded Redis, audit spool,
# index files) of commands the tests start without SCREENING_DATA_DIR: the session's own,
# one per xdist worker, never the user's and never shared between workers.
_OWN_STATE_HOME = "SCREENING_TEST_OWN_STATE_HOME"
if _OWN_STATE_HOME not in os.environ or (
    XDIST_WORKER and os.environ.get(_OWN_STATE_HOME) == os.environ.get("XDG_STATE_HOME")
):
    os.environ["XDG_STATE_HOME"] = os.environ[_OWN_STATE_HOME] = tempfile.mkdtemp(
        prefix=f"test-state-home-{XDIST_WORKER}-"
    )

# The parallel stage's order of modules (tests/scheduling.py).
_module_seconds = scheduling.ModuleSeconds()


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if XDIST_WORKER:
        scheduling.order_by_cost(config, items)


@pytest.hookimpl(optionalhook=True)
def pytest_xdist_make_scheduler(config: pytest.Config, log: object) -> object:
    if config.getvalue("dist") != "loadfile":
        return None
    return scheduling.make_scheduler(config, log)


def pytest_sessionfinish(session: pytest.Session) -> None:
    if not XDIST_WORKER and getattr(session.config, "workerinput", None) is None:
        _module_seconds.save(session.config)


# The user property under which a fault test reports its figures (tests/faults/conftest.py).
FAULT_FIGURES = "fault figures"
_fault_figures: list[str] = []


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    # Under xdist this runs in the controller too, with the reports the workers send. The
    # teardown report repeats the call's properties.
    if not XDIST_WORKER:
        _module_seconds.add(report)
    if report.when == "call":
        _fault_figures.extend(str(v) for k, v in report.user_properties if k == FAULT_FIGURES)


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if _fault_figures:
        terminalreporter.section("fault test figures")
        for line in _fault_figures:
            terminalreporter.write_line(line)


@dataclass
class RedisServer:
    port: int
    proc: subprocess.Popen[bytes]
    workdir: str

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def client(self) -> redis.Redis:
        return redis.Redis(host="127.0.0.1", port=self.port)

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


def start_redis(port: int | None = None, *extra: str) -> RedisServer:
    binary = shutil.which("redis-server")
    if binary is None:
        pytest.fail("redis-server is not installed (the test command installs it)")
    port = port or free_port()
    workdir = tempfile.mkdtemp(prefix="test-redis-")
    proc = subprocess.Popen(
        [
            binary,
            "--port",
            str(port),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "no",
            "--dir",
            workdir,
            "--loglevel",
            "warning",
            *extra,
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    server = RedisServer(port, proc, workdir)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            if server.client().ping():
                return server
        except redis.ConnectionError:
            time.sleep(0.05)
    server.stop()
    pytest.fail("redis-server did not start")


@pytest.fixture(scope="session")
def redis_server() -> Iterator[RedisServer]:
    server = start_redis()
    yield server
    server.stop()
    shutil.rmtree(server.workdir, ignore_errors=True)


@pytest.fixture
def prefix() -> str:
    """A key prefix of the test's own, so tests never see each other's data."""
    return f"test-{uuid.uuid4().hex[:10]}"


@pytest.fixture(scope="session")
def lists_dir() -> Path:
    if not LISTS_DIR.is_dir():
        pytest.fail(f"shared list files not found at {LISTS_DIR}")
    return LISTS_DIR


class ServiceProcess(Protocol):
    """What tests ask of a service's process: a Popen, or another worker's process."""

    @property
    def pid(self) -> int: ...

    @property
    def returncode(self) -> int | None: ...

    def poll(self) -> int | None: ...

    def wait(self, timeout: float | None = None) -> int: ...

    def send_signal(self, sig: int) -> None: ...

    def kill(self) -> None: ...


class OtherWorkersProcess:
    """The session service's process as seen from an xdist worker that did not start it:
    watched by its pid. Only its own worker stops it."""

    def __init__(self, pid: int) -> None:
        self._pid = pid

    @property
    def pid(self) -> int:
        return self._pid

    @property
    def returncode(self) -> int | None:
        return self.poll()

    def poll(self) -> int | None:
        try:
            state = Path(f"/proc/{self._pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
        except OSError:
            return -1  # gone; its exit status is its parent's to know
        return -1 if state == "Z" else None

    def wait(self, timeout: float | None = None) -> int:
        deadline = time.monotonic() + (timeout if timeout is not None else float("inf"))
        while (code := self.poll()) is None:
            if time.monotonic() > deadline:
                raise subprocess.TimeoutExpired(f"pid {self._pid}", timeout or 0)
            time.sleep(0.1)
        return code

    def send_signal(self, sig: int) -> None:
        raise RuntimeError("the session service belongs to the xdist worker that started it")

    def kill(self) -> None:
        self.send_signal(signal.SIGKILL)


@dataclass
class Service:
    port: int
    metrics_port: int
    proc: ServiceProcess
    log_path: Path
    redis_url: str
    prefix: str

    @property
    def target(self) -> str:
        return f"127.0.0.1:{self.port}"

    def logs(self) -> str:
        return self.log_path.read_text(errors="replace")

    def worker_pids(self) -> dict[int, int]:
        """Worker id -> pid of its latest start, from the supervisor's log."""
        pids = {}
        for line in self.logs().splitlines():
            if '"worker started"' in line:
                entry = json.loads(line)
                pids[entry["worker"]] = entry["worker_pid"]
        return pids

    def serving_workers(self) -> dict[int, dict[str, object]]:
        """Pid -> the 'worker serving' log line of each worker process that has said it."""
        lines = {}
        for line in self.logs().splitlines():
            if '"msg": "worker serving"' in line:
                entry = json.loads(line)
                lines[entry["pid"]] = entry
        return lines

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 30) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
        return self.proc.wait()


def wait_serving(
    target: str,
    timeout: float = 180,
    proc: subprocess.Popen[bytes] | None = None,
    log_path: Path | None = None,
    connections: int = 1,
) -> None:
    """Wait until `target` answers SERVING on `connections` connections of their own at once.

    Workers share the port (SO_REUSEPORT): the kernel spreads connections, not calls, over
    them (in turn, or by hash where the BPF program cannot be loaded), and a worker without
    an index (no snapshot yet) answers NOT_SERVING. Several connections reach every
    listening worker.
    """
    from grpc_health.v1 import health_pb2, health_pb2_grpc

    deadline = time.monotonic() + timeout
    # A refused connection puts a channel in reconnect backoff (1 s, growing): polled every
    # 0.2 s, it would answer the first poll after its backoff, not the first after the port
    # opens.
    options = [
        ("grpc.use_local_subchannel_pool", 1),
        ("grpc.initial_reconnect_backoff_ms", 100),
        ("grpc.min_reconnect_backoff_ms", 100),
        ("grpc.max_reconnect_backoff_ms", 200),
    ]
    channels = [grpc.insecure_channel(target, options=options) for _ in range(connections)]
    stubs = [health_pb2_grpc.HealthStub(c) for c in channels]
    try:
        while time.monotonic() < deadline:
            if proc is not None and proc.poll() is not None:
                logs = log_path.read_text(errors="replace")[-3000:] if log_path else ""
                pytest.fail(f"service exited with {proc.returncode}:\n{logs}")
            try:
                statuses = {
                    stub.Check(health_pb2.HealthCheckRequest(service=""), timeout=1).status
                    for stub in stubs
                }
                if statuses == {health_pb2.HealthCheckResponse.SERVING}:
                    return
            except grpc.RpcError:
                pass
            time.sleep(0.2)
    finally:
        for channel in channels:
            channel.close()
    pytest.fail(f"service at {target} not SERVING within {timeout}s")


def assert_json_log_lines(lines: Iterable[str]) -> None:
    """Each line is one JSON object with the fields of every log line of the service
    (observability/logging.py): no bare line among them."""
    for line in lines:
        entry = json.loads(line)
        assert isinstance(entry, dict) and {"ts", "level", "logger", "msg"} <= entry.keys(), line


def copy_lists(lists_dir: Path, dest: Path, *names: str) -> Path:
    """`dest` (created if need be) holding copies of these list files (paths relative to
    `lists_dir`): a lists directory of its own for one service or ingest."""
    dest.mkdir(parents=True, exist_ok=True)
    for name in names:
        shutil.copy(lists_dir / name, dest / Path(name).name)
    return dest


def start_service(
    redis_url: str | None,
    prefix: str,
    *,
    lists_dir: Path | None = None,
    workers: int = 1,
    extra_args: tuple[str, ...] = (),
    env: dict[str, str] | None = None,
    wait: bool = True,
    port: int | None = None,
    new_session: bool = False,
) -> Service:
    """`new_session`: the service leads a process group of its own, as a command run at a
    terminal does (a test then signals the whole group, as Ctrl-C does)."""
    port, metrics_port = port or free_port(), free_port()
    log_file = tempfile.NamedTemporaryFile(prefix="service-", suffix=".log", delete=False)
    args = serve_command(port=port, workers=workers, redis_url=redis_url, lists_dir=lists_dir)
    args += ["--metrics-port", str(metrics_port), *extra_args]
    full_env = {
        **os.environ,
        "SCREENING_REDIS_PREFIX": prefix,
        "SCREENING_POLL_SECONDS": "1",
        "SCREENING_LIST_STATE_DIR": tempfile.mkdtemp(prefix="service-list-state-"),
        # The embedded Redis and the audit spool of each service in a directory of its own
        # (the default, in the user's state directory, would be shared by every test).
        "SCREENING_DATA_DIR": tempfile.mkdtemp(prefix="service-data-"),
        **(env or {}),
    }
    full_env.pop("PROMETHEUS_MULTIPROC_DIR", None)
    proc = subprocess.Popen(
        args,
        stdout=log_file,
        stderr=subprocess.STDOUT,
        env=full_env,
        start_new_session=new_session,
    )
    service = Service(port, metrics_port, proc, Path(log_file.name), redis_url or "", prefix)
    if wait:
        wait_serving(
            service.target,
            proc=proc,
            log_path=service.log_path,
            connections=16 if workers > 1 else 1,
        )
        # A worker listens only once its index is built, so SERVING on every connection
        # says only that the listening workers are ready: wait for each to say it serves.
        deadline = time.monotonic() + 180
        while not (
            len(pids := service.worker_pids()) == workers
            and set(pids.values()) <= service.serving_workers().keys()
        ):
            if time.monotonic() > deadline or proc.poll() is not None:
                pytest.fail(f"not every worker serving:\n{service.logs()[-3000:]}")
            time.sleep(0.1)
    return service


@contextmanager
def _file_lock(path: Path) -> Iterator[None]:
    with path.open("a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _alive(pid: int) -> bool:
    return OtherWorkersProcess(pid).poll() is None


# tests/run.sh gives its stages' session services one index directory, so the serial stage's
# reads the index file the parallel stage's built (index/files.py names a file by the lists'
# content, the matching code and the host's hash seed, kept in that directory) instead of
# building it again; the lists are still ingested into the stage's own Redis.
SESSION_INDEX_DIR = "SCREENING_TEST_SESSION_INDEX_DIR"


def _start_session_service(redis_server: RedisServer, lists_dir: Path) -> Service:
    env = {}
    if os.environ.get(SESSION_INDEX_DIR):
        env["SCREENING_INDEX_DIR"] = os.environ[SESSION_INDEX_DIR]
    return start_service(redis_server.url, "session", lists_dir=lists_dir, workers=2, env=env)


@pytest.fixture(scope="session")
def service(
    redis_server: RedisServer, lists_dir: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Service]:
    """One service with every shared list loaded, for the whole session.

    Under xdist one for every worker of the run (it takes tens of seconds of both cores to start):
    the first worker to need it starts it on its Redis and stops it once every worker that
    used it is done. Tests use it as a client would; none stops or changes it."""
    if not XDIST_WORKER:
        svc = _start_session_service(redis_server, lists_dir)
        yield svc
        svc.stop()
        return
    shared = tmp_path_factory.getbasetemp().parent / "session-service"
    shared.mkdir(exist_ok=True)
    described, user = shared / "service.json", shared / f"user-{XDIST_WORKER}"
    with _file_lock(shared / "lock"):
        owner = not described.exists()
        if owner:
            svc = _start_session_service(redis_server, lists_dir)
            fields = {"port": svc.port, "metrics_port": svc.metrics_port, "pid": svc.proc.pid}
            fields |= {"log_path": str(svc.log_path), "redis_url": svc.redis_url}
            described.write_text(json.dumps(fields))
        else:
            fields = json.loads(described.read_text())
            svc = Service(
                int(fields["port"]),
                int(fields["metrics_port"]),
                OtherWorkersProcess(int(fields["pid"])),
                Path(fields["log_path"]),
                str(fields["redis_url"]),
                "session",
            )
        user.write_text(str(os.getpid()))
    yield svc
    user.unlink()
    if owner:
        # Other workers may still be screening through it (a worker that died says nothing).
        while any(_alive(int(u.read_text() or 0)) for u in shared.glob("user-*")):
            time.sleep(0.5)
        svc.stop()


@pytest.fixture(scope="session")
def channel(service: Service) -> Iterator[grpc.Channel]:
    with grpc.insecure_channel(service.target) as ch:
        yield ch


@pytest.fixture(scope="session")
def stub(channel: grpc.Channel):  # type: ignore[no-untyped-def]
    from screening.v1 import screening_pb2_grpc

    return screening_pb2_grpc.ScreeningServiceStub(channel)
