"""`screening eval DIR [DIR...]`: run evaluation case files against a running server over gRPC.

Case files are JSON lines (see ../shared/eval/dev/README.md; `screening eval-data` writes
generated ones in the same form). Every case falls in a tuning half or a checking half by a
stable hash of the case (of its group, where variants of one case share a group), so that
the method is tuned on one half and judged on the other; the report shows both halves side
by side (eval_report.py). No case is special-cased anywhere in the service: this module
only asks and counts.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import sys
import time
from collections import defaultdict
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import grpc

from screening.harness import console
from screening.harness.access import ClientAccess
from screening.harness.eval_report import RANKED_SET, SetStats, Stats, print_report, summarize
from screening.v1 import screening_pb2 as pb
from screening.v1 import screening_pb2_grpc as pb_grpc

ENTITY_TYPES = {
    "PERSON": pb.ENTITY_TYPE_PERSON,
    "ORGANIZATION": pb.ENTITY_TYPE_ORGANIZATION,
    "COMPANY": pb.ENTITY_TYPE_ORGANIZATION,
    "VESSEL": pb.ENTITY_TYPE_VESSEL,
    "AIRCRAFT": pb.ENTITY_TYPE_AIRCRAFT,
}
TUNING = "tuning"
CHECKING = "checking"


def half_of(case: dict[str, Any]) -> str:
    """The half a case belongs to, by a stable hash of its group (the variants of one
    listed person share a group, so that none of them is tuned on while another is
    judged) or of its id. Salted: the dev files themselves were drawn by a plain hash of
    the id, so an unsalted one would put a whole file in one half."""
    key = str(case.get("group_key") or case.get("id", ""))
    digest = hashlib.sha256(b"screening eval half:" + key.encode()).digest()
    return TUNING if digest[0] % 2 == 0 else CHECKING


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


def case_kind(case: dict[str, Any]) -> str:
    expect = case.get("expect", {})
    if "query" in case:
        return "positives" if expect.get("hit") else "negatives"
    return "calibration" if "ofac_score" in expect else "pairs"


def set_keys(case: dict[str, Any]) -> list[str]:
    """The rows a case counts in: its set, and its set/variant where it has a variant."""
    kind = str(case.get("set", ""))
    return [kind, f"{kind}/{case['variant']}"] if "variant" in case else [kind]


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
) -> Stats:
    stats: Stats = defaultdict(lambda: defaultdict(SetStats))
    access = access or ClientAccess()
    metadata = access.metadata
    async with access.aio_channel(target) as channel:
        stub = pb_grpc.ScreeningServiceStub(channel)

        async def handle(case: dict[str, Any]) -> None:
            kind = case_kind(case)
            rows = [stats[key][half_of(case)] for key in set_keys(case)]
            for st in rows:
                st.kind = kind
                st.cases += 1
            started = time.perf_counter()
            try:
                if "query" in case:
                    response = await stub.ScreenParty(
                        pb.ScreenPartyRequest(party=party_from_case(case["query"])),
                        timeout=30,
                        metadata=metadata,
                    )
                    elapsed = (time.perf_counter() - started) * 1000
                    for st in rows:
                        st.latencies_ms.append(elapsed)
                        _score_screening(case, response, st)
                else:
                    reply = await stub.CompareParties(
                        pb.ComparePartiesRequest(
                            left=party_from_case(case["left"]), right=party_from_case(case["right"])
                        ),
                        timeout=30,
                        metadata=metadata,
                    )
                    elapsed = (time.perf_counter() - started) * 1000
                    for st in rows:
                        st.latencies_ms.append(elapsed)
                        _score_pair(case, reply, st)
            except grpc.aio.AioRpcError as exc:
                for st in rows:
                    if exc.code() == grpc.StatusCode.INVALID_ARGUMENT:
                        st.rejected += 1
                    else:
                        st.errors += 1
                    st.failures.append(f"{case.get('id')}: {exc.code().name} {exc.details()}")

        await _run_cases(cases, handle, concurrency, on_done)
    return stats


def _score_screening(case: dict[str, Any], response: pb.ScreenPartyResponse, st: SetStats) -> None:
    expect = case.get("expect", {})
    name = case["query"].get("name", "")
    if expect.get("hit"):
        wanted = expect.get("entity_id") or f"{expect.get('source')}:{expect.get('ref')}"
        hits = [i for i, m in enumerate(response.matches) if m.entity_id == wanted]
        if hits:
            st.passed += 1
            st.ranked_first += hits[0] == 0
            if hits[0] != 0 and case.get("set") == RANKED_SET:
                st.failures.append(f"{case['id']}: found at rank {hits[0] + 1}")
        else:
            top = response.matches[0] if response.matches else None
            st.failures.append(
                f"{case['id']}: missed {wanted} for {name!r}"
                + (f" (top: {top.entity_id} {top.matched_name!r} {top.score:.3f})" if top else "")
            )
    elif not response.matches:
        st.passed += 1
    else:
        top = response.matches[0]
        decision = pb.Decision.Name(response.decision).removeprefix("DECISION_")
        st.failures.append(
            f"{case['id']}: {name!r} hit {top.entity_id} {top.matched_name!r} "
            f"{top.score:.3f} {decision}"
        )


def _score_pair(case: dict[str, Any], response: pb.ComparePartiesResponse, st: SetStats) -> None:
    expect = case.get("expect", {})
    if "ofac_score" in expect:
        st.calibration.append((float(expect["ofac_score"]), response.score * 100))
        st.passed += 1
        return
    truth = bool(expect.get("match"))
    st.scored_pairs.append((response.score, truth))
    pair = f"{case['left'].get('name')!r} / {case['right'].get('name')!r}"
    if response.is_match and truth:
        st.tp += 1
    elif response.is_match:
        st.fp += 1
        st.failures.append(f"{case['id']}: false match {response.score:.3f} {pair}")
    elif truth:
        st.fn += 1
        st.failures.append(f"{case['id']}: missed match {response.score:.3f} {pair}")
    else:
        st.tn += 1
    st.passed += response.is_match == truth


def load_cases(directories: list[Path]) -> list[dict[str, Any]]:
    cases: list[dict[str, Any]] = []
    for directory in directories:
        for path in sorted(directory.glob("*.jsonl")):
            with path.open(encoding="utf-8") as fh:
                cases.extend(json.loads(line) for line in fh if line.strip())
    return cases


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
    directories: list[Path],
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
    cases = load_cases(directories)
    if not cases:
        where = ", ".join(map(str, directories))
        print(f"screening eval: no *.jsonl cases in {where}", file=sys.stderr)
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
    errors = any(st.errors for halves in stats.values() for st in halves.values())
    return console.Exit.ERROR if errors else console.Exit.OK
