"""The benchmark: the service under ghz, against an empty-handler ceiling, in one run.

    .venv/bin/python -m tests.load.bench            # from the repository root, every call
    .venv/bin/python -m tests.load.bench --h2load --calls ScreenParty   # about 8 minutes
    .venv/bin/python -m tests.load.bench --help     # durations, rounds, workers, load...

- Ceiling: tests/load/empty_server.py, the same grpc.aio stack (options, event loop,
  reflection, SO_REUSEPORT, worker count) answering empty messages.
- The service (`screening serve`) with every shared list, on its own redis-server: index
  build time and resident memory per worker; then ScreenParty, CompareParties and
  ScreenShipment with the request data of deploy/ghz/ (result cache warm: every distinct
  request has been seen once), each against the ceiling. Ceiling and service runs
  alternate for several rounds, so a change in the machine's background load hits both.
- ScreenParty held at half the throughput it reached, alternating with the ceiling at the
  same rate (what the machine's own scheduling adds to the latency) over the rounds: the
  medians of p50 and p99, and each round's p99 with its split of the connections between
  the workers; with ghz, the same with h2load where it is installed (a C client: less of
  its own delay in the figures). In the same rounds, the ceiling held at half of its own
  throughput: the p99 an empty handler has at the same share of its capacity, under the
  same kind of load, and the service's p99 as a multiple of it.
- The same rate with random arrivals (exponential gaps, one h2load per connection with its
  own timing script), as from many independent callers: h2load's --rps fires every
  connection's timer together every 10 ms, so its requests come in bursts, one share from
  every connection (32 requests at 3,000 req/s).
- A data reload during a ghz run: a new snapshot is published while ghz runs; every
  request must succeed and every worker must swap to the new version.
- ScreenParty with the result cache off (every request runs the matcher), and with the audit
  trail off (what recording every screening costs), for reference.

ghz runs on the same cores as the servers (limited to --ghz-cpus). The servers' CPU time and
ghz's are measured per run and printed per request: `srv us/req` does not depend on how much
CPU the load generator or other processes took, so it is the steadiest figure on a busy
machine. Before each run a fixed Python loop is timed (`loop us`), and the CPU time the
hypervisor stole during it is read from /proc/stat (`steal`): this VM's speed changes from
minute to minute, and a run taken while it is slow shows it. Where ghz is missing (and
`go install` cannot get it), h2load sends one pre-encoded request.
"""

from __future__ import annotations

import argparse
import contextlib
import itertools
import json
import os
import random
import re
import resource
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import timeit
import urllib.request
from dataclasses import asdict, dataclass, field
from pathlib import Path

import grpc
from google.protobuf import json_format

ROOT = Path(__file__).resolve().parents[2]
GHZ_DIR = ROOT / "deploy" / "ghz"
DEFAULT_LISTS = ROOT.parent / "shared" / "data" / "lists"
CALLS = {
    "ScreenParty": "screen_party",
    "CompareParties": "compare_parties",
    "ScreenShipment": "screen_shipment",
}
TICKS = os.sysconf("SC_CLK_TCK")


# -- processes ------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def worker_pids(parent: int) -> list[int]:
    """Spawned worker processes of a supervisor (not redis-server, not the tracker)."""
    pids = []
    for task in Path(f"/proc/{parent}/task").glob("*"):
        try:
            children = (task / "children").read_text().split()
        except OSError:
            continue
        for pid in children:
            try:
                cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
            except OSError:
                continue
            if b"spawn_main" in cmdline:
                pids.append(int(pid))
    return sorted(pids)


def cpu_seconds(pids: list[int]) -> float:
    total = 0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += int(fields[11]) + int(fields[12])  # utime, stime
    return total / TICKS


def loop_us() -> float:
    """How fast this shared machine runs Python right now: microseconds for a fixed loop,
    the median of five tries (about 50 ms in all). At full speed it takes 33-37 us; on a
    slowed machine 40-76 us, and every figure of a run taken then is worse."""
    tries = timeit.repeat("sum(range(2000))", number=300, repeat=5)
    return statistics.median(tries) / 300 * 1e6


def steal_ticks() -> tuple[int, int]:
    """(stolen, total) CPU ticks of the whole machine (/proc/stat): the time the hypervisor
    gave this VM's cores to someone else."""
    fields = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    return (fields[7] if len(fields) > 7 else 0), sum(fields[:8])


def arrival_pattern(starts_us: list[int]) -> str:
    """Requests sent within 1 ms of each other form a burst: the burst size the median
    request arrived in, and the median gap between bursts. h2load's --rps fires every
    connection's timer together every 10 ms, so 8 connections send their requests as one
    burst: the half-throughput test measures how fast such a burst drains."""
    starts = sorted(starts_us)
    if len(starts) < 2:
        return ""
    sizes, gaps, size = [], [], 1
    for before, after in itertools.pairwise(starts):
        if after - before < 1000:
            size += 1
        else:
            sizes.append(size)
            gaps.append(after - before)
            size = 1
    sizes.append(size)
    by_request = sorted(n for n in sizes for _ in range(n))
    gap_ms = statistics.median(gaps) / 1000 if gaps else 0.0
    return f"{by_request[len(by_request) // 2]} at once, {gap_ms:.1f} ms apart"


def h2load_rows(logs: list[Path]) -> list[list[str]]:
    """The rows of h2load log files: send time (us since the epoch), status, duration (us)."""
    return [line.split("\t") for log in logs for line in log.read_text().splitlines() if line]


def rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def renice(pids: list[int], value: int) -> None:
    """Set the nice value of every thread of these processes (Linux: it is per thread)."""
    for pid in pids:
        for task in Path(f"/proc/{pid}/task").glob("*"):
            with contextlib.suppress(OSError, ValueError):
                os.setpriority(os.PRIO_PROCESS, int(task.name), value)


def stop(proc: subprocess.Popen[bytes], timeout: float = 30) -> None:
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def wait_answering(target: str, method: str, timeout: float = 240) -> None:
    """Until the method answers OK (the service answers UNAVAILABLE before its index)."""
    from screening.v1 import screening_pb2 as pb

    deadline = time.monotonic() + timeout
    request = pb.ScreenPartyRequest(party=pb.Party(name="Anna Smith")).SerializeToString()
    with grpc.insecure_channel(target) as channel:
        call = channel.unary_unary(method)
        while time.monotonic() < deadline:
            try:
                call(request, timeout=2)
                return
            except grpc.RpcError:
                time.sleep(0.3)
    raise SystemExit(f"{target} did not answer {method} within {timeout}s")


def wait_all_workers_ready(metrics_port: int, workers: int, timeout: float = 240) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if len(scrape(metrics_port, "screening_index_build_seconds")) >= workers:
            return
        time.sleep(0.5)
    raise SystemExit("workers did not all build their index in time")


def scrape(port: int, name: str) -> dict[str, float]:
    """Samples of one metric from the service's /metrics: labels text -> value."""
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as r:
            text = r.read().decode()
    except OSError:
        return {}
    out = {}
    for line in text.splitlines():
        m = re.match(rf"^{name}(\{{[^}}]*\}})? (\S+)$", line)
        if m:
            out[m.group(1) or ""] = float(m.group(2))
    return out


# -- load generators ------------------------------------------------------------------------


@dataclass
class Run:
    label: str
    call: str
    count: int = 0
    errors: int = 0
    rps: float = 0.0
    p50_ms: float = 0.0
    p99_ms: float = 0.0
    server_us: float = 0.0  # server CPU per request
    client_us: float = 0.0  # load generator CPU per request
    split: str = ""  # share of the server CPU time per worker (SO_REUSEPORT balance)
    arrivals: str = ""  # how h2load's requests arrived (rate-limited runs): bursts and gaps
    loop_us: float = 0.0  # loop_us() just before the run: the machine's speed
    steal: float = 0.0  # share of the machine's CPU time stolen by the hypervisor in the run
    statuses: dict[str, int] = field(default_factory=dict)
    error_kinds: dict[str, int] = field(default_factory=dict)


def find_ghz() -> str | None:
    found = shutil.which("ghz")
    for candidate in (found, Path.home() / "go" / "bin" / "ghz", Path("/root/go/bin/ghz")):
        if candidate and Path(candidate).is_file() and os.access(candidate, os.X_OK):
            return str(candidate)
    go = shutil.which("go") or (
        "/usr/local/go/bin/go" if Path("/usr/local/go/bin/go").exists() else None
    )
    if go:
        print("ghz not found: go install github.com/bojand/ghz/cmd/ghz@latest", file=sys.stderr)
        result = subprocess.run(
            [go, "install", "github.com/bojand/ghz/cmd/ghz@latest"], check=False
        )
        gopath = subprocess.run(
            [go, "env", "GOPATH"], capture_output=True, text=True, check=False
        ).stdout.strip()
        built = Path(gopath or Path.home() / "go") / "bin" / "ghz"
        if result.returncode == 0 and built.exists():
            return str(built)
    return None


class Loader:
    """ghz (or h2load) with the options shared by every run."""

    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        self.nice = 0
        self.ghz = None if args.h2load else find_ghz()
        self.h2load = shutil.which("h2load")
        if self.ghz is None and self.h2load is None:
            raise SystemExit("neither ghz nor h2load found (apt-get install nghttp2-client)")
        self.tool = "ghz" if self.ghz else "h2load"

    def run(
        self,
        label: str,
        call: str,
        target: str,
        server_pids: list[int],
        *,
        duration: float,
        rps: float = 0,
        nice: int = 0,
        tool: str = "",
        poisson_seed: int | None = None,
    ) -> Run:
        """One load run. `nice` < 0 raises the servers' and the load generator's priority
        over the machine's other processes for the run."""
        speed = loop_us()
        per_worker0 = [cpu_seconds([pid]) for pid in server_pids]
        usage0 = resource.getrusage(resource.RUSAGE_CHILDREN)
        stolen0, total0 = steal_ticks()
        self.nice = nice
        renice(server_pids, nice)
        try:
            if (tool or self.tool) == "ghz":
                run = self._ghz(label, call, target, duration, rps)
            else:
                run = self._h2load(label, call, target, duration, rps, poisson_seed)
        finally:
            renice(server_pids, 0)
        usage1 = resource.getrusage(resource.RUSAGE_CHILDREN)
        stolen1, total1 = steal_ticks()
        run.loop_us = speed
        run.steal = (stolen1 - stolen0) / (total1 - total0) if total1 > total0 else 0.0
        per_worker = [
            cpu_seconds([pid]) - t for pid, t in zip(server_pids, per_worker0, strict=True)
        ]
        server = sum(per_worker)
        client = (usage1.ru_utime + usage1.ru_stime) - (usage0.ru_utime + usage0.ru_stime)
        if server > 0:
            run.split = "/".join(f"{t / server:.0%}" for t in per_worker)
        if run.count:
            run.server_us = server / run.count * 1e6
            run.client_us = client / run.count * 1e6
        return run

    def _priority(self) -> None:
        if self.nice:
            os.setpriority(os.PRIO_PROCESS, 0, self.nice)

    def _ghz(self, label: str, call: str, target: str, duration: float, rps: float) -> Run:
        a = self.args
        with tempfile.NamedTemporaryFile(suffix=".json") as out:
            cmd = [
                str(self.ghz),
                "--config",
                str(GHZ_DIR / f"{CALLS[call]}.json"),
                "--duration",
                f"{duration}s",
                "--concurrency",
                str(a.concurrency),
                "--connections",
                str(a.connections),
                "--cpus",
                str(a.ghz_cpus),
                "--format",
                "json",
                "--output",
                out.name,
            ]
            if rps:
                cmd += ["--rps", str(int(rps))]
            subprocess.run(
                [*cmd, target],
                cwd=ROOT,
                check=True,
                stdout=subprocess.DEVNULL,
                preexec_fn=self._priority,
            )
            report = json.loads(Path(out.name).read_text())
        latency = {d["percentage"]: d["latency"] / 1e6 for d in report["latencyDistribution"] or []}
        statuses = report.get("statusCodeDistribution") or {}
        return Run(
            label=label,
            call=call,
            count=int(report["count"]),
            errors=sum(n for code, n in statuses.items() if code != "OK"),
            rps=float(report["rps"]),
            p50_ms=latency.get(50, 0.0),
            p99_ms=latency.get(99, 0.0),
            statuses=statuses,
            error_kinds=report.get("errorDistribution") or {},
        )

    def _h2load(
        self,
        label: str,
        call: str,
        target: str,
        duration: float,
        rps: float,
        poisson_seed: int | None = None,
    ) -> Run:
        """One pre-encoded request (the first of the call's data) sent over and over. With
        `poisson_seed`, the requests arrive at random, as independent callers' would (see
        `_poisson`), instead of by h2load's --rps."""
        from screening.v1 import screening_pb2 as pb

        a = self.args
        first = json.loads((GHZ_DIR / "data" / f"{CALLS[call]}.json").read_text())[0]
        message = json_format.ParseDict(first, getattr(pb, f"{call}Request")())
        body = message.SerializeToString()
        url = f"http://{target}/screening.v1.ScreeningService/{call}"
        with tempfile.TemporaryDirectory() as tmp:
            data, log = Path(tmp) / "body", Path(tmp) / "log"
            data.write_bytes(b"\0" + len(body).to_bytes(4, "big") + body)
            common = [
                "-d",
                str(data),
                "-H",
                "content-type: application/grpc",
                "-H",
                "te: trailers",
                "-m",
                str(max(1, a.concurrency // a.connections)),
            ]
            if rps and poisson_seed is not None:
                rows = self._poisson(common, url, duration, rps, poisson_seed, Path(tmp))
            else:
                cmd = [str(self.h2load), url, *common, "-c", str(a.connections)]
                cmd += ["-D", str(int(duration)), "--log-file", str(log)]
                if rps:
                    cmd += ["--rps", str(max(1, int(rps / a.connections)))]
                subprocess.run(
                    cmd, check=True, stdout=subprocess.DEVNULL, preexec_fn=self._priority
                )
                rows = h2load_rows([log])
        times = sorted(int(r[2]) / 1000 for r in rows)
        bad = sum(1 for r in rows if r[1] != "200")
        arrivals = ""
        if rps:
            random_arrivals = poisson_seed is not None
            arrivals = "random" if random_arrivals else arrival_pattern([int(r[0]) for r in rows])
        q = statistics.quantiles(times, n=100) if len(times) > 1 else [0.0] * 99
        return Run(
            label=label,
            call=call,
            count=len(rows),
            errors=bad,
            rps=len(rows) / duration,
            p50_ms=q[49],
            p99_ms=q[98],
            statuses={"HTTP 200": len(rows) - bad, "other": bad},
            arrivals=arrivals,
        )

    def _poisson(
        self, common: list[str], url: str, duration: float, rps: float, seed: int, tmp: Path
    ) -> list[list[str]]:
        """Requests at `rps` with independent random arrivals (exponential gaps), as many
        independent callers would send them: one h2load per connection, each following its
        own timing script, so that the connections do not send together. The log rows of
        all of them."""
        connections = self.args.connections
        rng = random.Random(seed)
        procs, logs = [], []
        for n in range(connections):
            lines, at = [], 0.0
            while True:
                at += rng.expovariate(rps / connections / 1000)  # milliseconds
                if at >= duration * 1000:
                    break
                lines.append(f"{at:.3f}\t{url}\n")
            script, log = tmp / f"script{n}", tmp / f"log{n}"
            script.write_text("".join(lines))
            logs.append(log)
            cmd = [str(self.h2load), *common, "-c", "1", "--timing-script-file", str(script)]
            procs.append(
                subprocess.Popen(
                    [*cmd, "--log-file", str(log)],
                    stdout=subprocess.DEVNULL,
                    preexec_fn=self._priority,
                )
            )
        for proc in procs:
            if proc.wait() != 0:
                raise subprocess.CalledProcessError(proc.returncode, proc.args)
        return h2load_rows(logs)


# -- the phases -----------------------------------------------------------------------------


def start_ceiling(args: argparse.Namespace) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "tests.load.empty_server",
            "--port",
            str(port),
            "--workers",
            str(args.workers),
        ],
        cwd=ROOT,
    )
    target = f"127.0.0.1:{port}"
    wait_answering(target, "/screening.v1.ScreeningService/ScreenParty")
    return proc, target


@dataclass
class Service:
    proc: subprocess.Popen[bytes]
    port: int
    metrics_port: int
    redis_url: str
    log: Path

    @property
    def target(self) -> str:
        return f"127.0.0.1:{self.port}"

    def pids(self) -> list[int]:
        return worker_pids(self.proc.pid)


def start_service(args: argparse.Namespace, redis_url: str, env: dict[str, str]) -> Service:
    port, metrics_port = free_port(), free_port()
    log = Path(tempfile.mkstemp(prefix="bench-service-", suffix=".log")[1])
    cmd = [
        sys.executable,
        "-m",
        "screening.cli",
        "serve",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--metrics-port",
        str(metrics_port),
        "--workers",
        str(args.workers),
        "--redis-url",
        redis_url,
        "--lists-dir",
        str(args.lists_dir),
    ]
    full_env = {**os.environ, "SCREENING_POLL_SECONDS": "1", **env}
    full_env.pop("PROMETHEUS_MULTIPROC_DIR", None)
    with log.open("wb") as fh:
        proc = subprocess.Popen(cmd, cwd=ROOT, env=full_env, stdout=fh, stderr=subprocess.STDOUT)
    service = Service(proc, port, metrics_port, redis_url, log)
    wait_answering(service.target, "/screening.v1.ScreeningService/ScreenParty")
    wait_all_workers_ready(metrics_port, args.workers)
    return service


def publish_new_snapshot(redis_url: str, prefix: str) -> str:
    """Publish the current data as a new snapshot version: every worker loads, builds and
    swaps a new index, as on a list update."""
    from screening.store.connection import connect
    from screening.store.snapshots import ListStore, Manifest, now_iso

    store = ListStore(connect(redis_url), prefix)
    current = store.manifest()
    assert current is not None
    version = f"reload-{int(time.time())}"
    store.republish(Manifest(version=version, created_at=now_iso(), sources=current.sources))
    return version


def reload_during_run(
    loader: Loader, args: argparse.Namespace, service: Service, prefix: str
) -> tuple[Run, dict[str, object]]:
    info: dict[str, object] = {}
    duration = max(args.duration, args.reload_after + 15)

    def reload_later() -> None:
        time.sleep(args.reload_after)
        published = time.time()
        info["version"] = publish_new_snapshot(service.redis_url, prefix)
        # Watched for the rest of the run: a swap after the load stopped is not "during".
        while time.time() - published < duration - args.reload_after:
            loaded = scrape(service.metrics_port, "screening_index_loaded_timestamp_seconds")
            if len(loaded) >= args.workers and min(loaded.values()) >= published:
                info["all_workers_swapped_after_s"] = round(time.time() - published, 2)
                break
            time.sleep(0.2)

    thread = threading.Thread(target=reload_later)
    thread.start()
    run = loader.run(
        "during reload",
        "ScreenParty",
        service.target,
        service.pids(),
        duration=duration,
    )
    thread.join()
    return run, info


# -- report ---------------------------------------------------------------------------------


@dataclass
class Pair:
    """One call measured in alternating rounds: ceiling, service, ceiling, service..."""

    call: str
    label: str
    ceiling: list[Run] = field(default_factory=list)
    service: list[Run] = field(default_factory=list)
    # The ceiling held at half of its own saturated throughput (rate-held pairs only).
    ceiling_own: list[Run] = field(default_factory=list)

    def ratios(self) -> list[float]:
        return [s.rps / c.rps for c, s in zip(self.ceiling, self.service, strict=True) if c.rps]

    def summary(self, runs: list[Run]) -> Run:
        """The median of each figure over the rounds, under the rounds' own label."""

        def med(values: list[float]) -> float:
            return statistics.median(values) if values else 0.0

        return Run(
            label=runs[0].label if runs else self.label,
            call=self.call,
            count=sum(r.count for r in runs),
            errors=sum(r.errors for r in runs),
            rps=med([r.rps for r in runs]),
            p50_ms=med([r.p50_ms for r in runs]),
            p99_ms=med([r.p99_ms for r in runs]),
            server_us=med([r.server_us for r in runs]),
            client_us=med([r.client_us for r in runs]),
            loop_us=med([r.loop_us for r in runs]),
            steal=med([r.steal for r in runs]),
        )


HEADER = (
    f"  {'call':<15} {'run':<20} {'req/s':>7} {'ratio':>6} {'p50 ms':>7} {'p99 ms':>7} "
    f"{'srv us/req':>10} {'cpu r.':>6} {'ghz us/req':>10} {'requests':>8} {'errors':>6} "
    f"{'loop us':>7} {'steal':>5} workers"
)


def line(run: Run, ratio: float | None = None, cpu_ratio: float | None = None) -> str:
    # One decimal: a ratio of 59.9% must not print as a target-meeting 60%.
    r = f"{ratio:6.1%}" if ratio is not None else " " * 6
    c = f"{cpu_ratio:6.1%}" if cpu_ratio is not None else " " * 6
    return (
        f"  {run.call:<15} {run.label:<20} {run.rps:7.0f} {r} {run.p50_ms:7.2f} {run.p99_ms:7.2f} "
        f"{run.server_us:10.0f} {c} {run.client_us:10.0f} {run.count:8d} {run.errors:6d} "
        f"{run.loop_us:7.0f} {run.steal:5.0%} {run.split}"
    )


def report_pair(pair: Pair) -> dict[str, object]:
    ceiling, service = pair.summary(pair.ceiling), pair.summary(pair.service)
    ratio = statistics.median(pair.ratios()) if pair.ratios() else 0.0
    cpu_ratio = ceiling.server_us / service.server_us if service.server_us else 0.0
    print(line(ceiling))
    print(line(service, ratio, cpu_ratio))
    rounds = ", ".join(
        f"{s.rps:.0f}/{c.rps:.0f} (loop {s.loop_us:.0f}/{c.loop_us:.0f} us)"
        for c, s in zip(pair.ceiling, pair.service, strict=True)
    )
    print(f"  {'':<15} {'rounds (svc/ceiling)':<20} {rounds}", flush=True)
    return {
        "ceiling": asdict(ceiling),
        "service": asdict(service),
        "ratio": ratio,
        "cpu_ratio": cpu_ratio,
        "rounds": [
            {"ceiling": asdict(c), "service": asdict(s)}
            for c, s in zip(pair.ceiling, pair.service, strict=True)
        ],
    }


def report_rate_pair(pair: Pair) -> tuple[Run, Run]:
    """Print a pair held at a rate: the medians, each round's p99 (service/ceiling) with the
    service's split and the machine's speed, and how h2load's requests arrived."""
    service, ceiling = pair.summary(pair.service), pair.summary(pair.ceiling)
    # The ceiling at the same rate: how much of that latency the machine adds.
    print(line(service), flush=True)
    print(line(ceiling), flush=True)
    rounds = ", ".join(
        f"{s.p99_ms:.1f}/{c.p99_ms:.1f} ({s.split or '-'}; loop {s.loop_us:.0f} us)"
        for c, s in zip(pair.ceiling, pair.service, strict=True)
    )
    print(f"  {'':<15} {'rounds p99 svc/ceil':<20} {rounds}", flush=True)
    arrivals = [s.arrivals for s in pair.service if s.arrivals]
    if arrivals:
        print(f"  {'':<15} {'arrivals':<20} " + ", ".join(arrivals), flush=True)
    if pair.ceiling_own:
        own = pair.summary(pair.ceiling_own)
        print(line(own), flush=True)
        rounds = ", ".join(
            f"{c.p99_ms:.1f} ({c.split or '-'}; loop {c.loop_us:.0f} us)" for c in pair.ceiling_own
        )
        print(f"  {'':<15} {'rounds p99 ceiling':<20} {rounds}", flush=True)
        if own.p99_ms:
            ratio = service.p99_ms / own.p99_ms
            print(f"  {'':<15} {'p99 svc/ceiling own':<20} {ratio:.2f}", flush=True)
    return service, ceiling


def alternate(
    loader: Loader,
    args: argparse.Namespace,
    label: str,
    call: str,
    ceiling: tuple[str, list[int]],
    service: Service,
    *,
    rps: float = 0,
    ceiling_label: str = "ceiling",
    poisson: bool = False,
    ceiling_own_rps: float = 0,
) -> Pair:
    """Ceiling and service in turn over the rounds, flat out or held at `rps`. Each run opens
    new connections, which SO_REUSEPORT spreads over the workers by hash: one run shows one
    split of them (often 60/40 or worse with 8), the rounds show several. With
    `ceiling_own_rps`, each round also holds the ceiling at that rate (half of its own
    throughput: the same share of its capacity as the service's half)."""
    pair = Pair(call, label)
    tool = "h2load" if poisson else ""

    def held(run_label: str, where: tuple[str, list[int]], rate: float, seed: int | None) -> Run:
        return loader.run(
            run_label,
            call,
            *where,
            duration=args.duration,
            rps=rate,
            tool=tool,
            poisson_seed=seed,
        )

    for n in range(args.rounds):
        # Random arrivals: the same sequence for the ceiling and the service in a round.
        seed = n if poisson else None
        pair.ceiling.append(held(ceiling_label, ceiling, rps, seed))
        pair.service.append(held(label, (service.target, service.pids()), rps, seed))
        if ceiling_own_rps:
            pair.ceiling_own.append(held("ceiling at own half", ceiling, ceiling_own_rps, seed))
    return pair


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--duration", type=float, default=10, help="seconds per run")
    parser.add_argument("--rounds", type=int, default=3, help="ceiling/service alternations")
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--connections", type=int, default=8)
    parser.add_argument("--ghz-cpus", type=int, default=1, help="cores ghz may use (GOMAXPROCS)")
    parser.add_argument("--lists-dir", type=Path, default=DEFAULT_LISTS)
    parser.add_argument("--calls", default=",".join(CALLS), help="comma-separated RPCs")
    parser.add_argument("--reload-after", type=float, default=4, help="seconds into the run")
    parser.add_argument(
        "--no-uncached",
        action="store_true",
        help="skip the reference runs (result cache off, audit trail off)",
    )
    parser.add_argument(
        "--half-nice",
        type=int,
        default=0,
        help="also run the half-throughput test at this nice value, to see the stack's latency "
        "apart from the machine's other processes (0: skip; < 0 needs root)",
    )
    parser.add_argument("--h2load", action="store_true", help="use h2load even if ghz is here")
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args()
    calls = [c for c in args.calls.split(",") if c]

    from screening.store.embedded import EmbeddedRedis

    loader = Loader(args)
    print(
        f"benchmark: {args.workers} workers, {os.cpu_count()} cores, load average "
        f"{os.getloadavg()[0]:.1f} at start; {loader.tool} ({loader.ghz or loader.h2load}) "
        f"with {args.connections} connections, concurrency {args.concurrency}, "
        f"{args.ghz_cpus} core(s) for ghz; {args.rounds} rounds of {args.duration:.0f}s runs, "
        f"ceiling and service alternating; machine: loop {loop_us():.0f} us (full speed 33-37)",
        flush=True,
    )
    results: dict[str, object] = {"tool": loader.tool, "workers": args.workers, "calls": {}}
    redis = EmbeddedRedis().start()
    ceiling_proc, ceiling_target = start_ceiling(args)
    prefix = "bench"
    failed = 0
    try:
        ceiling = (ceiling_target, worker_pids(ceiling_proc.pid))
        started = time.monotonic()
        service = start_service(args, redis.url, {"SCREENING_REDIS_PREFIX": prefix})
        ready = time.monotonic() - started
        try:
            build = scrape(service.metrics_port, "screening_index_build_seconds")
            entities = scrape(service.metrics_port, "screening_entities_loaded")
            print(
                f"\nservice: every shared list ({int(sum(entities.values()))} entities: "
                + ", ".join(f"{k[9:-2]} {int(v)}" for k, v in sorted(entities.items()))
                + f"), ready in {ready:.1f}s (ingest + index)"
            )
            print(
                "  index build per worker: "
                + ", ".join(f"{v:.2f}s" for v in sorted(build.values()))
            )
            loader.run("warm-up", "ScreenParty", *ceiling, duration=2)
            for call in calls:  # every distinct request once: the result cache is warm
                loader.run("warm-up", call, service.target, service.pids(), duration=5)
            memory = [rss_mib(pid) for pid in service.pids()]
            print("  resident memory per worker: " + ", ".join(f"{v:.0f} MiB" for v in memory))
            results.update(build_seconds=sorted(build.values()), rss_mib=memory, entities=entities)
            print(HEADER)
            party: Pair | None = None
            for call in calls:
                pair = alternate(loader, args, "saturated", call, ceiling, service)
                results["calls"][call] = report_pair(pair)  # type: ignore[index]
                if call == "ScreenParty":
                    party = pair
                    failed += pair.summary(pair.service).errors
            if party is not None:
                target_rps = party.summary(party.service).rps / 2
                # The ceiling at half of its own throughput too: how far the empty handler
                # meets a latency target at the same share of its capacity, on this load.
                steady = alternate(
                    loader,
                    args,
                    "at half throughput",
                    "ScreenParty",
                    ceiling,
                    service,
                    rps=target_rps,
                    ceiling_label="ceiling at that rate",
                    ceiling_own_rps=party.summary(party.ceiling).rps / 2,
                )
                half, reference = report_rate_pair(steady)
                failed += half.errors
                results["half_throughput"] = asdict(half)
                results["half_throughput_ceiling"] = asdict(reference)
                results["half_throughput_ceiling_own_half"] = asdict(
                    steady.summary(steady.ceiling_own)
                )
                results["half_throughput_rounds"] = [
                    {"ceiling": asdict(c), "service": asdict(s), "ceiling_own_half": asdict(o)}
                    for c, s, o in zip(
                        steady.ceiling, steady.service, steady.ceiling_own, strict=True
                    )
                ]
                if loader.h2load:
                    # The same rate with random arrivals, as from many independent callers,
                    # rather than the bursts of --rps: for reference beside the figure above.
                    random_pair = alternate(
                        loader,
                        args,
                        "at half, random",
                        "ScreenParty",
                        ceiling,
                        service,
                        rps=target_rps,
                        ceiling_label="ceiling, random",
                        poisson=True,
                    )
                    spread, spread_ceiling = report_rate_pair(random_pair)
                    failed += spread.errors
                    results["half_throughput_random_arrivals"] = asdict(spread)
                    results["half_throughput_random_arrivals_ceiling"] = asdict(spread_ceiling)
                if loader.tool == "ghz" and loader.h2load:
                    # A lighter client: ghz's own scheduling on the shared cores is part of
                    # what it measures; h2load (C, no garbage collector) adds less.
                    for label, where in (
                        ("half, h2load", (service.target, service.pids())),
                        ("ceiling, h2load", ceiling),
                    ):
                        light = loader.run(
                            label,
                            "ScreenParty",
                            *where,
                            duration=args.duration * 1.5,
                            rps=target_rps,
                            tool="h2load",
                        )
                        failed += light.errors if label.startswith("half") else 0
                        print(line(light), flush=True)
                        results[label.replace(", ", "_").replace(" ", "_")] = asdict(light)
                if args.half_nice:
                    # The same run with the machine's other processes kept out of the way.
                    quiet = loader.run(
                        f"half, nice {args.half_nice}",
                        "ScreenParty",
                        service.target,
                        service.pids(),
                        duration=args.duration * 1.5,
                        rps=target_rps,
                        nice=args.half_nice,
                    )
                    failed += quiet.errors
                    print(line(quiet), flush=True)
                    results["half_throughput_raised_priority"] = asdict(quiet)
            reload_run, info = reload_during_run(loader, args, service, prefix)
            failed += reload_run.errors
            print(line(reload_run), flush=True)
            print(
                f"  reload: published snapshot {info.get('version')} "
                f"{args.reload_after:.0f}s into the run; every worker swapped after "
                f"{info.get('all_workers_swapped_after_s', 'NOT SEEN')}s; "
                f"failed requests: {reload_run.errors} {reload_run.error_kinds or ''}",
                flush=True,
            )
            results["reload"] = {**info, "run": asdict(reload_run)}
        finally:
            stop(service.proc)

        # For reference, ScreenParty without the result cache (every call runs the matcher),
        # and without the audit trail (what recording every screening costs).
        references = [
            ("result cache off", "cache_off", {"SCREENING_RESULT_CACHE_TTL_SECONDS": "0"}),
            ("audit trail off", "audit_off", {"SCREENING_AUDIT_ENABLED": "false"}),
        ]
        for label, key, env in (
            references if not args.no_uncached and "ScreenParty" in calls else []
        ):
            service = start_service(args, redis.url, {"SCREENING_REDIS_PREFIX": prefix, **env})
            try:
                loader.run("warm-up", "ScreenParty", service.target, service.pids(), duration=5)
                pair = alternate(loader, args, label, "ScreenParty", ceiling, service)
                failed += pair.summary(pair.service).errors
                results[key] = report_pair(pair)
            finally:
                stop(service.proc)
    finally:
        stop(ceiling_proc)
        redis.stop()

    print(
        "\nreq/s, p50, p99 and us/req: medians over the rounds; ratio: median of each round's "
        "service/ceiling req/s; cpu r.: ceiling server CPU per request / service server CPU "
        "per request (does not depend on what else ran on the cores); loop us: the machine's "
        "speed just before the run (a fixed Python loop; 33-37 us at full speed), steal: CPU "
        "time the hypervisor took from this VM during the run"
    )
    print(f"ScreenParty failed requests in all runs: {failed}")
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
