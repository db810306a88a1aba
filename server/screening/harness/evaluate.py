"""`screening eval DIR`: run evaluation case files against a running server over gRPC.

Case files are JSON lines (see ../shared/eval/dev/README.md). Per set it prints recall,
false-positive rate, precision/F1 where they apply, and client-side latency percentiles.
No case is special-cased anywhere in the service: this module only asks and counts.
"""

from __future__ import annotations

import asyncio
import json
import statistics
import sys
import time
from collections import defaultdict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import grpc

from screening.harness import console
from screening.harness.access import ClientAccess
from screening.v1 import screening_pb2 as pb
from screening.v1 import screening_pb2_grpc as pb_grpc

ENTITY_TYPES = {
    "PERSON": pb.ENTITY_TYPE_PERSON,
    "ORGANIZATION": pb.ENTITY_TYPE_ORGANIZATION,
    "COMPANY": pb.ENTITY_TYPE_ORGANIZATION,
    "VESSEL": pb.ENTITY_TYPE_VESSEL,
    "AIRCRAFT": pb.ENTITY_TYPE_AIRCRAFT,
}

# The match-quality targets, printed beside the figures: (label, summary row, figure,
# at least / at most, value).
TARGETS: list[tuple[str, str, str, str, float]] = [
    ("UN names, clean: recall", "un_positives/clean", "recall", ">=", 0.995),
    ("UN names, typos/reordering: recall", "un_positives/perturbed", "recall", ">=", 0.98),
    (
        "innocent people: share with any hit",
        "screening (positives + negatives)",
        "false_positive_rate",
        "<=",
        0.001,
    ),
    ("judged name pairs: F1", "name_pairs", "f1", ">=", 0.90),
    ("expected entry ranked first", "rank first when found", "share", ">=", 1.0),
]


def party_from_case(query: dict[str, Any]) -> pb.Party:
    return pb.Party(
        name=query.get("name", ""),
        entity_type=ENTITY_TYPES.get(
            str(query.get("entity_type", "")).upper(), pb.ENTITY_TYPE_UNSPECIFIED
        ),
        birth_date=query.get("birth_date", "") or "",
        country=query.get("country", "") or "",
        aliases=query.get("aliases", []) or [],
    )


@dataclass
class SetStats:
    cases: int = 0
    passed: int = 0
    # Failed calls: `rejected` answered INVALID_ARGUMENT (the service refused the case's
    # data, e.g. a mistyped birth date that is no calendar date; a positive counts as
    # missed), `errors` any other status (the harness exits non-zero).
    rejected: int = 0
    errors: int = 0
    latencies_ms: list[float] = field(default_factory=list)
    # screening positives
    ranked_first: int = 0
    # pairs
    tp: int = 0
    fp: int = 0
    fn: int = 0
    tn: int = 0
    failures: list[str] = field(default_factory=list)
    calibration: list[tuple[float, float]] = field(default_factory=list)


def percentile(values: list[float], q: float) -> float:
    if not values:
        return 0.0
    ordered = sorted(values)
    k = min(len(ordered) - 1, max(0, round(q / 100 * (len(ordered) - 1))))
    return ordered[k]


async def _run_cases(
    cases: list[dict[str, Any]],
    handler: Callable[[dict[str, Any]], Awaitable[None]],
    concurrency: int,
    on_done: Callable[[], object] | None = None,
) -> None:
    semaphore = asyncio.Semaphore(concurrency)

    async def one(case: dict[str, Any]) -> None:
        async with semaphore:
            await handler(case)
        if on_done is not None:
            on_done()

    await asyncio.gather(*(one(c) for c in cases))


async def evaluate(
    cases: list[dict[str, Any]],
    target: str,
    concurrency: int,
    access: ClientAccess | None = None,
    on_done: Callable[[], object] | None = None,
) -> dict[str, SetStats]:
    stats: dict[str, SetStats] = defaultdict(SetStats)
    access = access or ClientAccess()
    metadata = access.metadata
    async with access.aio_channel(target) as channel:
        stub = pb_grpc.ScreeningServiceStub(channel)

        async def handle(case: dict[str, Any]) -> None:
            kind = case.get("set", "")
            key = f"{kind}/{case['variant']}" if "variant" in case else kind
            st = stats[key]
            st.cases += 1
            started = time.perf_counter()
            try:
                if "query" in case:
                    response = await stub.ScreenParty(
                        pb.ScreenPartyRequest(party=party_from_case(case["query"])),
                        timeout=30,
                        metadata=metadata,
                    )
                    st.latencies_ms.append((time.perf_counter() - started) * 1000)
                    _score_screening(case, response, st)
                else:
                    response = await stub.CompareParties(
                        pb.ComparePartiesRequest(
                            left=party_from_case(case["left"]), right=party_from_case(case["right"])
                        ),
                        timeout=30,
                        metadata=metadata,
                    )
                    st.latencies_ms.append((time.perf_counter() - started) * 1000)
                    _score_pair(case, response, st)
            except grpc.aio.AioRpcError as exc:
                if exc.code() == grpc.StatusCode.INVALID_ARGUMENT:
                    st.rejected += 1
                else:
                    st.errors += 1
                st.failures.append(f"{case.get('id')}: {exc.code().name} {exc.details()}")

        await _run_cases(cases, handle, concurrency, on_done)
    return stats


def _score_screening(case: dict[str, Any], response: pb.ScreenPartyResponse, st: SetStats) -> None:
    expect = case.get("expect", {})
    if expect.get("hit"):
        hits = [
            i
            for i, m in enumerate(response.matches)
            if m.source == expect.get("source") and m.source_ref == expect.get("ref")
        ]
        if hits:
            st.passed += 1
            st.ranked_first += hits[0] == 0
            if hits[0] != 0:
                st.failures.append(f"{case['id']}: found at rank {hits[0] + 1}")
        else:
            top = response.matches[0] if response.matches else None
            st.failures.append(
                f"{case['id']}: missed {expect.get('ref')}"
                + (f" (top: {top.entity_id} {top.score:.3f})" if top else "")
            )
    else:
        if not response.matches:
            st.passed += 1
        else:
            top = response.matches[0]
            st.failures.append(f"{case['id']}: false hit {top.entity_id} {top.score:.3f}")


def _score_pair(case: dict[str, Any], response: pb.ComparePartiesResponse, st: SetStats) -> None:
    expect = case.get("expect", {})
    if "ofac_score" in expect:
        st.calibration.append((float(expect["ofac_score"]), response.score * 100))
        st.passed += 1
        return
    truth = bool(expect.get("match"))
    if response.is_match and truth:
        st.tp += 1
    elif response.is_match:
        st.fp += 1
        st.failures.append(f"{case['id']}: false match score {response.score:.3f}")
    elif truth:
        st.fn += 1
        st.failures.append(f"{case['id']}: missed match score {response.score:.3f}")
    else:
        st.tn += 1
    st.passed += response.is_match == truth


def load_cases(directory: Path) -> list[dict[str, Any]]:
    cases: list[dict[str, Any]] = []
    for path in sorted(directory.glob("*.jsonl")):
        with path.open(encoding="utf-8") as fh:
            cases.extend(json.loads(line) for line in fh if line.strip())
    return cases


def summarize(stats: dict[str, SetStats]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    positives = {k: v for k, v in stats.items() if k.startswith("un_positives")}
    negatives = {k: v for k, v in stats.items() if k.startswith("neg")}
    for key, st in sorted(stats.items()):
        row: dict[str, Any] = {
            "cases": st.cases,
            "errors": st.errors,
            "rejected": st.rejected,
            "p50_ms": round(percentile(st.latencies_ms, 50), 2),
            "p99_ms": round(percentile(st.latencies_ms, 99), 2),
        }
        if key in positives:
            row["recall"] = round(st.passed / st.cases, 4) if st.cases else 0.0
            row["ranked_first"] = round(st.ranked_first / st.passed, 4) if st.passed else 0.0
        elif key in negatives:
            row["false_positive_rate"] = round(1 - st.passed / st.cases, 4) if st.cases else 0.0
        elif st.calibration:
            ofac = [a for a, _ in st.calibration]
            ours = [b for _, b in st.calibration]
            row["mean_abs_diff"] = round(statistics.mean(abs(a - b) for a, b in st.calibration), 2)
            row["correlation"] = (
                round(statistics.correlation(ofac, ours), 3) if len(ofac) > 2 else 0
            )
        else:
            precision = st.tp / (st.tp + st.fp) if st.tp + st.fp else 0.0
            recall = st.tp / (st.tp + st.fn) if st.tp + st.fn else 0.0
            f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
            row.update(precision=round(precision, 4), recall=round(recall, 4), f1=round(f1, 4))
        out[key] = row
    # Screening as one classification: positives that hit vs negatives that hit.
    tp = sum(s.passed for s in positives.values())
    fn = sum(s.cases - s.passed for s in positives.values())
    fp = sum(s.cases - s.passed for s in negatives.values())
    neg_total = sum(s.cases for s in negatives.values())
    if positives or negatives:
        precision = tp / (tp + fp) if tp + fp else 0.0
        recall = tp / (tp + fn) if tp + fn else 0.0
        out["screening (positives + negatives)"] = {
            "recall": round(recall, 4),
            "false_positive_rate": round(fp / neg_total, 4) if neg_total else 0.0,
            "precision": round(precision, 4),
            "f1": round(2 * precision * recall / (precision + recall), 4)
            if precision + recall
            else 0.0,
        }
    ranked = sum(s.ranked_first for s in positives.values())
    if tp:
        out["rank first when found"] = {"share": round(ranked / tp, 4)}
    return out


FIGURE_NAMES = {
    "recall": "recall",
    "ranked_first": "ranked first",
    "false_positive_rate": "false positives",
    "precision": "precision",
    "f1": "F1",
    "mean_abs_diff": "mean |diff| to OFAC",
    "correlation": "correlation to OFAC",
    "share": "share",
}


def print_report(summary: dict[str, Any], stats: dict[str, SetStats], show: int = 10) -> None:
    rows = []
    for key, row in summary.items():
        figures = ", ".join(f"{FIGURE_NAMES[k]} {row[k]}" for k in FIGURE_NAMES if k in row)
        latency = (
            (console.milliseconds(row["p50_ms"]), console.milliseconds(row["p99_ms"]))
            if "p50_ms" in row
            else ("", "")
        )
        failed = row.get("errors", 0) + row.get("rejected", 0)
        rows.append(
            (key, row.get("cases", ""), failed if "cases" in row else "", figures, *latency)
        )
    headers = ("set", "cases", "failed calls", "figures", "p50", "p99")
    print(console.table(headers, rows, right={1, 2, 4, 5}))
    print("\nagainst the targets (match-quality issue):")
    targets = []
    for label, row_key, figure, op, target in TARGETS:
        value = summary.get(row_key, {}).get(figure)
        if value is None:
            targets.append((label, "-", f"{op} {target}", "no cases"))
            continue
        met = value >= target if op == ">=" else value <= target
        targets.append((label, value, f"{op} {target}", "met" if met else "NOT MET"))
    print(console.table(("target", "value", "goal", ""), targets, right={1}))
    for key, st in sorted(stats.items()):
        if st.failures and show:
            print(f"\n{key}: {len(st.failures)} failures (first {min(show, len(st.failures))})")
            for line in st.failures[:show]:
                print(f"  {line}")


def load_latest_entities(lists_dir: Path) -> list[Any]:
    """Every entity of the newest publication of each source under `lists_dir`."""
    from screening.sources.registry import discover, parse_fileset

    newest: dict[str, Any] = {}
    for fileset in discover(lists_dir):  # oldest first within a source
        newest[fileset.source] = fileset
    entities: list[Any] = []
    for fileset in newest.values():
        entities.extend(parse_fileset(fileset).entities)
    return entities


def candidate_loss(
    cases: list[dict[str, Any]], lists_dir: Path, sample: int, threshold: float
) -> dict[str, Any]:
    """What the candidate stage loses: matches at or above `threshold` that scoring every
    listed name (brute force) finds and the indexed search does not, on a sample of the
    screening cases (every n-th one, so each set is represented)."""
    from screening.api.validation import Limits, Violations, party_to_query
    from screening.matching.matcher import MatchIndex

    started = time.perf_counter()
    index = MatchIndex(load_latest_entities(lists_dir))
    screening = [c for c in cases if "query" in c]
    step = max(1, len(screening) // max(1, sample))
    chosen = screening[::step][:sample]
    found = lost = 0
    lost_cases = []
    for case in chosen:
        errors = Violations()
        query = party_to_query(party_from_case(case["query"]), "party", errors, Limits())
        if errors:
            continue
        fast = {m.entity.id for m in index.screen(query, min_score=threshold, limit=0)}
        full = {m.entity.id for m in index.brute_force(query, min_score=threshold)}
        found += len(full)
        missing = full - fast
        lost += len(missing)
        if missing:
            lost_cases.append(f"{case['id']}: {sorted(missing)[:3]}")
    return {
        "queries": len(chosen),
        "brute_force_matches": found,
        "lost_by_candidate_stage": lost,
        "loss_rate": round(lost / found, 4) if found else 0.0,
        "seconds": round(time.perf_counter() - started, 1),
        "examples": lost_cases[:5],
    }


def run_evaluation(
    directory: Path,
    target: str,
    *,
    concurrency: int = 8,
    json_out: str | None = None,
    show: int = 10,
    lists_dir: Path | None = None,
    loss_sample: int = 0,
    threshold: float = 0.8,
    access: ClientAccess | None = None,
    show_progress: bool | None = None,
) -> int:
    """Run the cases; print the figures as tables, or as JSON when `json_out` is "-" (a
    file name: the JSON goes there and the tables are printed)."""
    cases = load_cases(directory)
    if not cases:
        print(f"screening eval: no *.jsonl cases in {directory}", file=sys.stderr)
        return console.Exit.USAGE
    as_json = json_out == "-"
    started = time.perf_counter()
    with console.progress_bar(len(cases), "evaluating", show_progress, "cases") as bar:
        stats = asyncio.run(evaluate(cases, target, concurrency, access, bar.update))
    summary = summarize(stats)
    took = console.duration(time.perf_counter() - started)
    if not as_json:
        print(f"{len(cases)} cases against {target} in {took}\n")
        print_report(summary, stats, show)
    if lists_dir is not None and loss_sample > 0:
        loss = candidate_loss(cases, lists_dir, loss_sample, threshold)
        summary["candidate stage loss (vs brute force)"] = loss
        if not as_json:
            print("\ncandidate stage loss against a brute-force scan of every listed name:")
            print(console.table(("figure", "value"), loss.items()))
    if as_json:
        console.print_json(summary)
    elif json_out:
        Path(json_out).write_text(json.dumps(summary, indent=2))
    return console.Exit.ERROR if any(s.errors for s in stats.values()) else console.Exit.OK
