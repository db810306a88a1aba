"""`screening bench --stages`: where the CPU time of an uncached ScreenParty goes, and what a
CompareParties pair costs.

A worker's own code path in process: the index a worker maps, the handlers' Deps with the
audit trail on (a journal in a temporary directory, shipped to Redis at the end and timed
apart) and the result cache off, so every call runs the matcher. Each call's thread CPU
time is split by the marks the screening path sets as it leaves a stage
(observability/stages.py): decode (the request's bytes to a message), normalise (checks,
the query's names tokenised and weighed), candidates, score, decide (risk, accepted
matches), audit (the record kept, the call's metrics) and encode (the answer built and
serialized). gRPC's own work (HTTP/2, the event loop) is not in it: the load benchmark
measures that as the empty-handler ceiling.

The requests are the ScreenParty data of deploy/ghz (the names the load benchmark sends);
one untimed pass over them comes first, as a worker under load has met the same words.
"""

from __future__ import annotations

import asyncio
import json
import statistics
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from screening.config import Settings
from screening.harness.bench import DEFAULT_DATA_DIR, load_requests, loaded_index
from screening.observability import stages
from screening.v1 import screening_pb2 as pb


class _Context:
    """What the handlers ask of a gRPC context on a valid call: one per call, ended with
    `end()` as gRPC ends a call (the handlers keep per-call state until then)."""

    def __init__(self) -> None:
        self._done: list[Callable[[Any], None]] = []

    def peer(self) -> str:
        return "ipv4:127.0.0.1:50000"

    def auth_context(self) -> dict[str, list[bytes]]:
        return {}

    def time_remaining(self) -> float | None:
        return None

    def add_done_callback(self, callback: Callable[[Any], None]) -> None:
        self._done.append(callback)

    def end(self) -> None:
        for callback in self._done:
            callback(self)


async def _party_stages(servicer: Any, raws: Sequence[bytes]) -> list[dict[str, int]]:
    per_call = []
    for raw in raws:
        context = _Context()
        stages.start()
        request = pb.ScreenPartyRequest.FromString(raw)
        stages.mark("decode")
        response = await servicer.ScreenParty(request, context)
        if not isinstance(response, bytes):
            response.SerializeToString()
        stages.mark("encode")
        per_call.append(stages.stop())
        context.end()
    return per_call


async def _compare_cpu(servicer: Any, requests: Sequence[pb.ComparePartiesRequest]) -> list[int]:
    spent = []
    for request in requests:
        context = _Context()
        started = time.thread_time_ns()
        await servicer.CompareParties(request, context)
        spent.append(time.thread_time_ns() - started)
        context.end()
    return spent


def _summary(ns: Sequence[int]) -> dict[str, float]:
    us = sorted(v / 1000 for v in ns)
    q = statistics.quantiles(us, n=100, method="inclusive") if len(us) > 1 else us * 99
    return {
        "mean_us": round(statistics.fmean(us), 1),
        "p50_us": round(q[49], 1),
        "p99_us": round(q[98], 1),
    }


def run_stages(
    settings: Settings,
    *,
    redis_url: str,
    lists_dir: Path | None,
    passes: int = 3,
    data_dir: Path = DEFAULT_DATA_DIR,
    json_out: str = "",
) -> int:
    """Print (and with `json_out` write) the stage figures; `passes` timed passes over the
    requests, after one untimed pass."""
    settings = settings.model_copy(
        update={
            "result_cache_ttl_seconds": 0,
            "result_cache_local_entries": 0,
            "audit_enabled": True,
            "audit_spool_dir": Path(tempfile.mkdtemp(prefix="screening-bench-audit-")),
        }
    )
    with loaded_index(settings, redis_url, lists_dir, show_progress=False) as (holder, store, url):
        figures = asyncio.run(_measure(settings, holder, store, url, passes, data_dir))
    if json_out == "-":
        print(json.dumps(figures, indent=2))
        return 0
    index = figures["index"]
    print(
        f"index: {index['entities']} entities, {index['names']} names; "
        f"{figures['requests']} ScreenParty requests from {data_dir}/screen_party.json, "
        f"{passes} timed passes after one untimed; result cache off, audit trail on"
    )
    print("ScreenParty, uncached: thread CPU per call by stage (us)")
    print(f"  {'stage':<11} {'mean':>8} {'p50':>8} {'p99':>8}")
    for stage, row in figures["stages"].items():
        print(f"  {stage:<11} {row['mean_us']:8.1f} {row['p50_us']:8.1f} {row['p99_us']:8.1f}")
    audit = figures["audit_ship_us_per_record"]
    print(
        f"  audit records shipped to Redis afterwards: {audit:.1f} us of CPU per record "
        "(in batches, off the call's path)"
    )
    compare = figures["CompareParties"]
    print(
        f"CompareParties: {compare['mean_us']:.1f} us of CPU per pair (p50 {compare['p50_us']}, "
        f"p99 {compare['p99_us']}; {figures['pairs']} pairs)"
    )
    if json_out:
        Path(json_out).write_text(json.dumps(figures, indent=2))
    return 0


async def _measure(
    settings: Settings,
    holder: Any,
    store: Any,
    redis_url: str,
    passes: int,
    data_dir: Path,
) -> dict[str, Any]:
    from screening.api.servicer import ScreeningServicer
    from screening.runtime.wiring import WorkerWiring, build_deps

    wiring = WorkerWiring.for_worker(settings, redis_url)
    deps = build_deps(settings, holder, store, casework=wiring.casework)
    servicer = ScreeningServicer(deps)
    requests = load_requests(data_dir / "screen_party.json", pb.ScreenPartyRequest)
    raws = [r.SerializeToString() for r in requests]
    await _party_stages(servicer, raws)
    per_call: list[dict[str, int]] = []
    for _ in range(passes):
        per_call += await _party_stages(servicer, raws)
    audit = wiring.casework.audit
    ship_ns = 0
    shipped = 0
    if audit is not None:
        before = audit.shipped
        started = time.process_time_ns()
        await audit.ship_all()
        ship_ns = time.process_time_ns() - started
        shipped = audit.shipped - before
    pairs = load_requests(data_dir / "compare_parties.json", pb.ComparePartiesRequest)
    await _compare_cpu(servicer, pairs)
    compare: list[int] = []
    for _ in range(passes):
        compare += await _compare_cpu(servicer, pairs)
    await wiring.close()
    table = {stage: _summary([c.get(stage, 0) for c in per_call]) for stage in stages.STAGES}
    table["total"] = _summary([sum(c.values()) for c in per_call])
    loaded = holder.current
    return {
        "index": {"entities": len(loaded.entities), "names": loaded.matcher.name_count},
        "requests": len(raws),
        "passes": passes,
        "stages": table,
        "audit_ship_us_per_record": ship_ns / 1000 / shipped if shipped else 0.0,
        "CompareParties": _summary(compare),
        "pairs": len(pairs),
    }
