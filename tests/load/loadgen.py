"""The load generators of the benchmark: ghz (what the service's users load-test with) or,
where it is missing, h2load sending one pre-encoded request; and the machine's state around
each run (its speed, CPU stolen by the hypervisor, the servers' CPU time per request).

ghz is looked for on PATH, in the repository's .tools/bin and in ~/go/bin; if Go is here it
is installed into .tools/bin (`GOBIN=.tools/bin go install github.com/bojand/ghz/cmd/ghz`).
"""

from __future__ import annotations

import contextlib
import itertools
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import timeit
from dataclasses import dataclass, field
from pathlib import Path

from google.protobuf import json_format

ROOT = Path(__file__).resolve().parents[2]
GHZ_DIR = ROOT / "deploy" / "ghz"
TOOLS = ROOT / ".tools" / "bin"
CALLS = {
    "ScreenParty": "screen_party",
    "CompareParties": "compare_parties",
    "ScreenShipment": "screen_shipment",
}
TICKS = os.sysconf("SC_CLK_TCK")


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
    request arrived in, and the median gap between bursts (h2load's --rps fires every
    connection's timer together every 10 ms)."""
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


def renice(pids: list[int], value: int) -> None:
    """Set the nice value of every thread of these processes (Linux: it is per thread)."""
    for pid in pids:
        for task in Path(f"/proc/{pid}/task").glob("*"):
            with contextlib.suppress(OSError, ValueError):
                os.setpriority(os.PRIO_PROCESS, int(task.name), value)


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
    split: str = ""  # share of the server CPU time per worker (connection spreading)
    loop_us: float = 0.0  # loop_us() just before the run: the machine's speed
    steal: float = 0.0  # share of the machine's CPU time stolen by the hypervisor in the run
    load: float = 0.0  # the machine's 1-minute load average just before the run
    statuses: dict[str, int] = field(default_factory=dict)
    error_kinds: dict[str, int] = field(default_factory=dict)


def median_run(runs: list[Run], label: str = "", call: str = "") -> Run:
    """The median of each figure over runs (counts are summed)."""

    def med(values: list[float]) -> float:
        return statistics.median(values) if values else 0.0

    return Run(
        label=label or (runs[0].label if runs else ""),
        call=call or (runs[0].call if runs else ""),
        count=sum(r.count for r in runs),
        errors=sum(r.errors for r in runs),
        rps=med([r.rps for r in runs]),
        p50_ms=med([r.p50_ms for r in runs]),
        p99_ms=med([r.p99_ms for r in runs]),
        server_us=med([r.server_us for r in runs]),
        client_us=med([r.client_us for r in runs]),
        loop_us=med([r.loop_us for r in runs]),
        steal=med([r.steal for r in runs]),
        load=med([r.load for r in runs]),
    )


def find_ghz() -> str | None:
    for candidate in (
        shutil.which("ghz"),
        TOOLS / "ghz",
        Path.home() / "go" / "bin" / "ghz",
    ):
        if candidate and Path(candidate).is_file() and os.access(candidate, os.X_OK):
            return str(candidate)
    go = shutil.which("go") or (
        "/usr/local/go/bin/go" if Path("/usr/local/go/bin/go").exists() else None
    )
    if go:
        print("ghz not found: installing it into .tools/bin with go install", file=sys.stderr)
        TOOLS.mkdir(parents=True, exist_ok=True)
        result = subprocess.run(
            [go, "install", "github.com/bojand/ghz/cmd/ghz@latest"],
            env={**os.environ, "GOBIN": str(TOOLS)},
            check=False,
        )
        if result.returncode == 0 and (TOOLS / "ghz").exists():
            return str(TOOLS / "ghz")
    return None


class Loader:
    """ghz (or h2load) with the options shared by every run."""

    def __init__(
        self, *, concurrency: int, connections: int, cpus: int, h2load_only: bool = False
    ) -> None:
        self.concurrency = concurrency
        self.connections = connections
        self.cpus = cpus
        self.ghz = None if h2load_only else find_ghz()
        self.h2load = shutil.which("h2load")
        if self.ghz is None and self.h2load is None:
            raise SystemExit("neither ghz nor h2load found (apt-get install nghttp2-client)")
        self.tool = "ghz" if self.ghz else "h2load"

    def describe(self) -> str:
        return (
            f"{self.tool} ({self.ghz or self.h2load}), concurrency {self.concurrency} over "
            f"{self.connections} connections, limited to {self.cpus} core(s)"
        )

    def run(
        self,
        label: str,
        call: str,
        target: str,
        server_pids: list[int],
        *,
        duration: float,
        rps: float = 0,
    ) -> Run:
        """One load run; the servers' CPU time is read before and after it."""
        speed = loop_us()
        load = os.getloadavg()[0]
        per_worker0 = [cpu_seconds([pid]) for pid in server_pids]
        usage0 = resource.getrusage(resource.RUSAGE_CHILDREN)
        stolen0, total0 = steal_ticks()
        if self.tool == "ghz":
            run = self._ghz(label, call, target, duration, rps)
        else:
            run = self._h2load(label, call, target, duration, rps)
        usage1 = resource.getrusage(resource.RUSAGE_CHILDREN)
        stolen1, total1 = steal_ticks()
        run.loop_us = speed
        run.load = load
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

    def _ghz(self, label: str, call: str, target: str, duration: float, rps: float) -> Run:
        with tempfile.NamedTemporaryFile(suffix=".json") as out:
            cmd = [
                str(self.ghz),
                "--config",
                str(GHZ_DIR / f"{CALLS[call]}.json"),
                "--duration",
                f"{duration}s",
                "--concurrency",
                str(self.concurrency),
                "--connections",
                str(self.connections),
                "--cpus",
                str(self.cpus),
                "--format",
                "json",
                "--output",
                out.name,
            ]
            if rps:
                cmd += ["--rps", str(int(rps))]
            subprocess.run([*cmd, target], cwd=ROOT, check=True, stdout=subprocess.DEVNULL)
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

    def _h2load(self, label: str, call: str, target: str, duration: float, rps: float) -> Run:
        """One pre-encoded request (the first of the call's data) sent over and over: h2load
        cannot vary it, so a result cache would answer all but the first."""
        from screening.v1 import screening_pb2 as pb

        first = json.loads((GHZ_DIR / "data" / f"{CALLS[call]}.json").read_text())[0]
        message = json_format.ParseDict(first, getattr(pb, f"{call}Request")())
        body = message.SerializeToString()
        url = f"http://{target}/screening.v1.ScreeningService/{call}"
        with tempfile.TemporaryDirectory() as tmp:
            data, log = Path(tmp) / "body", Path(tmp) / "log"
            data.write_bytes(b"\0" + len(body).to_bytes(4, "big") + body)
            cmd = [
                str(self.h2load),
                url,
                "-d",
                str(data),
                "-H",
                "content-type: application/grpc",
                "-H",
                "te: trailers",
                "-m",
                str(max(1, self.concurrency // self.connections)),
                "-c",
                str(self.connections),
                "-D",
                str(int(duration)),
                "--log-file",
                str(log),
            ]
            if rps:
                cmd += ["--rps", str(max(1, int(rps / self.connections)))]
            subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)
            rows = [line.split("\t") for line in log.read_text().splitlines() if line]
        times = sorted(int(r[2]) / 1000 for r in rows)
        bad = sum(1 for r in rows if r[1] != "200")
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
        )
