"""The processes the benchmark measures: `screening serve` (its start time, its processes and
their memory) and the empty-handler ceiling (tests/load/empty_server.py)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import grpc

from tests.load.loadgen import ROOT
from tests.ports import free_port
from tests.serve_command import serve_command

SCREEN_PARTY = "/screening.v1.ScreeningService/ScreenParty"


def stop(proc: subprocess.Popen[bytes], timeout: float = 30) -> None:
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def wait_answering(target: str, timeout: float = 600) -> None:
    """Until ScreenParty answers OK (a worker answers UNAVAILABLE before its index)."""
    from screening.v1 import screening_pb2 as pb

    deadline = time.monotonic() + timeout
    request = pb.ScreenPartyRequest(party=pb.Party(name="Anna Smith")).SerializeToString()
    with grpc.insecure_channel(target) as channel:
        # Bytes in and out: the request is serialised above, the answer is not read.
        call = channel.unary_unary(
            SCREEN_PARTY, request_serializer=None, response_deserializer=None
        )
        while time.monotonic() < deadline:
            try:
                call(request, timeout=2)
                return
            except grpc.RpcError:
                time.sleep(0.05)
    raise SystemExit(f"{target} did not answer ScreenParty within {timeout}s")


def children(pid: int) -> list[int]:
    out = []
    for task in Path(f"/proc/{pid}/task").glob("*"):
        try:
            out += [int(p) for p in (task / "children").read_text().split()]
        except OSError:
            continue
    return sorted(set(out))


def cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
    except OSError:
        return ""


def _log_lines(log: Path, message: str) -> list[dict[str, object]]:
    try:
        text = log.read_text(errors="replace")
    except OSError:
        return []
    out = []
    for line in text.splitlines():
        if f'"{message}"' in line:
            try:
                out.append(json.loads(line))
            except ValueError:
                continue
    return out


def pss_kib(pid: int) -> int:
    """Proportional set size: private pages, plus each shared page divided by the number of
    processes that map it (so shared memory counts once over the processes)."""
    try:
        for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
            if line.startswith("Pss:"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


@dataclass
class Service:
    proc: subprocess.Popen[bytes]
    port: int
    log: Path
    started_in: float  # seconds from `serve` to every worker answering

    @property
    def target(self) -> str:
        return f"127.0.0.1:{self.port}"

    def pids(self) -> list[int]:
        """The live worker processes, as the supervisor logged their start."""
        latest: dict[object, int] = {}
        for line in _log_lines(self.log, "worker started"):
            latest[line.get("worker")] = int(str(line.get("worker_pid")))
        alive = set(children(self.proc.pid))
        return sorted(pid for pid in latest.values() if pid in alive)

    def processes(self) -> list[tuple[str, int]]:
        """(role, pid) of every process of the service: supervisor, workers, redis-server."""
        out = [("supervisor", self.proc.pid)]
        workers = set(self.pids())
        for pid in children(self.proc.pid):
            line = cmdline(pid)
            if "redis-server" in line:
                role = "embedded redis"
            elif pid in workers:
                role = "worker"
            else:
                role = line.split(" ", 1)[0].rsplit("/", 1)[-1] or "other"
            out.append((role, pid))
        return out

    def memory(self) -> list[tuple[str, int, float]]:
        """(role, pid, PSS in MiB) of every process of the service."""
        return [(role, pid, pss_kib(pid) / 1024) for role, pid in self.processes()]

    def wait_for_log(self, message: str, seconds: float) -> None:
        """Wait until the service logs `message`; RuntimeError after `seconds`."""
        deadline = time.monotonic() + seconds
        while not _log_lines(self.log, message):
            if time.monotonic() > deadline:
                raise RuntimeError(f"no {message!r} in the service's log after {seconds:g} s")
            time.sleep(0.05)

    def stop(self) -> None:
        stop(self.proc)
        self.log.unlink(missing_ok=True)


def serving_workers(log: Path) -> set[object]:
    """Workers that logged 'worker serving' (they listen only once they hold an index)."""
    return {line.get("worker") for line in _log_lines(log, "worker serving")}


def start_service(
    *,
    workers: int,
    lists_dir: Path | None,
    redis_url: str = "",
    env: dict[str, str] | None = None,
    timeout: float = 1800,
) -> Service:
    """`screening serve` (its own embedded Redis unless `redis_url`), timed from the command
    to every worker answering: each worker has logged that it serves (it listens only once
    its index is loaded), and a ScreenParty call is answered."""
    port = free_port()
    log = Path(tempfile.mkstemp(prefix="bench-service-", suffix=".log")[1])
    cmd = serve_command(port=port, workers=workers, redis_url=redis_url, lists_dir=lists_dir)
    full_env = {**os.environ, **(env or {})}
    full_env.pop("PROMETHEUS_MULTIPROC_DIR", None)
    started = time.monotonic()
    with log.open("wb") as fh:
        proc = subprocess.Popen(cmd, cwd=ROOT, env=full_env, stdout=fh, stderr=subprocess.STDOUT)
    deadline = started + timeout
    while len(serving_workers(log)) < workers:
        if proc.poll() is not None:
            raise SystemExit(f"serve exited ({proc.returncode}); log: {log}")
        if time.monotonic() > deadline:
            stop(proc)
            raise SystemExit(f"workers not serving within {timeout}s; log: {log}")
        time.sleep(0.02)
    service = Service(proc, port, log, 0.0)
    wait_answering(service.target)
    service.started_in = time.monotonic() - started
    return service


def start_ceiling(workers: int) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "tests.load.empty_server",
            "--port",
            str(port),
            "--workers",
            str(workers),
        ],
        cwd=ROOT,
    )
    target = f"127.0.0.1:{port}"
    wait_answering(target)
    return proc, target


def ceiling_pids(proc: subprocess.Popen[bytes]) -> list[int]:
    return [pid for pid in children(proc.pid) if "spawn_main" in cmdline(pid)]
