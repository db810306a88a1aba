"""screening-batch: screen a file of parties (CSV or JSON lines) or shipments (JSON lines).

    screening-batch parties.csv -o results.csv                 # + results.html
    screening-batch shipments.jsonl --kind shipments -o out.jsonl --report out.html

Parties go through the ScreenParties stream, or concurrent ScreenParty calls where the server
does not offer the stream. Results are appended as they come, in input order; run the same
command again after an interruption and it carries on where it stopped (--restart starts
over). The HTML report covers every row in the output file. A summary table is printed at
the end (--json: the same as JSON); the progress bar goes to standard error, on a terminal.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import json
import os
import sys
from collections import Counter
from dataclasses import replace
from pathlib import Path
from typing import Any

import grpc
from tqdm import tqdm

from screening_client.aio import AsyncScreeningClient
from screening_client.batch.exit_codes import EXIT_CODES_HELP, Exit, exit_for_decisions
from screening_client.batch.inputs import Item, read_input
from screening_client.batch.report import write_report
from screening_client.batch.results import Record, ResultWriter, read_records, trim_torn_tail
from screening_client.batch.runner import Batch, RunStats, StreamUnavailable
from screening_client.channel import ChannelConfig
from screening_client.retry import RetryPolicy


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="screening-batch",
        description=__doc__.split("\n\n")[0] if __doc__ else None,
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog=(__doc__.split("\n\n", 1)[1] if __doc__ else "") + "\n" + EXIT_CODES_HELP,
    )
    p.add_argument("input", type=Path, help="parties .csv / .jsonl, or shipments .jsonl")
    p.add_argument(
        "-o", "--output", type=Path, help="results .csv or .jsonl (default: INPUT.results.jsonl)"
    )
    p.add_argument("--report", type=Path, help="HTML report (default: OUTPUT with .html)")
    p.add_argument("--kind", choices=("parties", "shipments"), default="parties")
    p.add_argument(
        "--target",
        default=os.environ.get("SCREENING_TARGET", "localhost:50051"),
        help="server host:port (default: $SCREENING_TARGET or localhost:50051)",
    )
    p.add_argument("--tls", action="store_true", help="connect with TLS")
    p.add_argument("--ca-file", type=Path, help="PEM roots to check the server (with --tls)")
    p.add_argument("--server-name", help="name the server certificate is checked against")
    p.add_argument(
        "--token-env",
        default="SCREENING_TOKEN",
        help="environment variable holding the bearer token (default: SCREENING_TOKEN)",
    )
    p.add_argument(
        "--mode",
        choices=("auto", "stream", "unary"),
        default="auto",
        help="auto: the stream, else unary calls (default)",
    )
    p.add_argument("--concurrency", type=int, default=16, help="unary calls in flight")
    p.add_argument(
        "--connections",
        type=int,
        default=4,
        help="connections to the server, each with its own stream or share of the calls: "
        "the server's workers (and replicas behind a layer-4 balancer) are spread by "
        "connection (default 4)",
    )
    p.add_argument("--deadline", type=float, default=10.0, help="seconds per unary call")
    p.add_argument("--min-score", type=float, help="min_score for rows that set none")
    p.add_argument("--sources", help="comma-separated sources, for rows that set none")
    p.add_argument("--restart", action="store_true", help="discard earlier results, start over")
    p.add_argument(
        "--progress",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="a progress bar on standard error (default: only when it is a terminal)",
    )
    p.add_argument("--json", action="store_true", help="print the summary as JSON")
    return p


def _fingerprint(path: Path, kind: str) -> dict[str, str]:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return {"input": str(path.resolve()), "sha256": digest.hexdigest(), "kind": kind}


def _resume_state(args: argparse.Namespace, output: Path) -> set[int]:
    """Rows already answered in OUTPUT by an earlier run over the same input."""
    state_path = output.with_name(output.name + ".state.json")
    fingerprint = _fingerprint(args.input, args.kind)
    if args.restart:
        output.unlink(missing_ok=True)
    elif output.exists():
        saved = json.loads(state_path.read_text()) if state_path.exists() else None
        if saved != fingerprint:
            raise SystemExit(
                f"{output} holds results of another input (or of a changed file): "
                "pass --restart to start over, or choose another --output"
            )
        trim_torn_tail(output)
    state_path.write_text(json.dumps(fingerprint, indent=2))
    return {r["row"] for r in read_records(output)}


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    output: Path = args.output or args.input.with_name(args.input.stem + ".results.jsonl")
    report: Path = args.report or output.with_suffix(".html")
    try:
        data = read_input(args.input, args.kind)
    except (OSError, ValueError) as exc:
        print(f"screening-batch: {exc}", file=sys.stderr)
        return Exit.USAGE
    if data.ignored_columns:
        print(f"ignoring unknown columns: {', '.join(data.ignored_columns)}", file=sys.stderr)
    done = _resume_state(args, output)
    todo = [item for item in data.items if item.row not in done]
    if done:
        print(
            f"resuming: {len(done)} of {len(data.items)} rows already in {output}",
            file=sys.stderr,
        )

    defaults: dict[str, object] = {}
    if args.min_score is not None:
        defaults["min_score"] = args.min_score
    if args.sources:
        defaults["sources"] = [s.strip() for s in args.sources.split(",") if s.strip()]
    config = ChannelConfig(
        args.target,
        tls=args.tls,
        root_certificates=args.ca_file,
        server_name=args.server_name,
        token=os.environ.get(args.token_env) or None,
    )
    stats: RunStats | None = None
    stopped: Exit | None = None
    writer = ResultWriter(output)
    progress: tqdm[Any] = tqdm(
        total=len(data.items),
        initial=len(done),
        unit=" parties" if args.kind == "parties" else " shipments",
        # None: shown only when standard error is a terminal.
        disable=None if args.progress is None else not args.progress,
        file=sys.stderr,
        dynamic_ncols=True,
    )
    try:
        stats = asyncio.run(_run(args, config, writer, defaults, progress, todo))
    except KeyboardInterrupt:
        stopped = Exit.INTERRUPTED
        print(
            f"\ninterrupted: {output} holds the rows answered so far; "
            "run the same command again to carry on",
            file=sys.stderr,
        )
    except StreamUnavailable as exc:
        stopped = Exit.ERROR
        print(f"\nstopped: UNIMPLEMENTED: {exc} (use --mode auto or unary)", file=sys.stderr)
    except grpc.RpcError as exc:
        stopped = Exit.ERROR
        code_fn = getattr(exc, "code", None)
        code = code_fn().name if callable(code_fn) else "?"
        details_fn = getattr(exc, "details", None)
        details = details_fn() if callable(details_fn) else str(exc)
        print(f"\nstopped: {code}: {details}; run again to resume", file=sys.stderr)
    finally:
        progress.close()
        writer.close()

    records: list[Record] = list(read_records(output))
    write_report(records, args.input.name, report)
    decisions = Counter(str(r["decision"]) for r in records)
    status = stopped if stopped is not None else exit_for_decisions(decisions)
    summary = _summary(args, stats, decisions, len(data.items), output, report, status)
    if args.json:
        print(json.dumps(summary, indent=2))
    else:
        _print_summary(summary)
    return status


def _summary(
    args: argparse.Namespace,
    stats: RunStats | None,
    decisions: Counter[str],
    input_rows: int,
    output: Path,
    report: Path,
    status: Exit,
) -> dict[str, Any]:
    this_run: dict[str, Any] = {"screened": 0}
    if stats is not None and stats.screened:
        this_run = {
            "screened": stats.screened,
            "seconds": round(stats.seconds, 2),
            "per_second": round(stats.per_second, 1),
            "via": stats.via,
            "connections": args.connections,
            **({"in_flight": args.concurrency} if "unary" in stats.via else {}),
            "decisions": dict(sorted(stats.decisions.items())),
        }
    return {
        "kind": args.kind,
        "input_rows": input_rows,
        "rows": sum(decisions.values()),
        "decisions": {
            d: decisions[d] for d in ("BLOCK", "REVIEW", "CLEAR", "ERROR") if d in decisions
        },
        "output": str(output),
        "report": str(report),
        "this_run": this_run,
        "exit_code": int(status),
    }


def _print_summary(summary: dict[str, Any]) -> None:
    run = summary["this_run"]
    kind = summary["kind"]
    if run["screened"]:
        print(
            f"screened {run['screened']} {kind} in {_duration(run['seconds'])}: "
            f"{run['per_second']:.0f} {kind}/s via {run['via']}"
            + (f", {run['in_flight']} in flight" if "in_flight" in run else "")
            + f" over {run['connections']} connections"
        )
    rows = summary["decisions"]
    width = max([len("decision"), *(len(d) for d in rows)])
    print(f"\n{'decision':<{width}}  {'rows':>6}")
    for decision, count in rows.items():
        print(f"{decision:<{width}}  {count:>6}")
    print(f"{'total':<{width}}  {summary['rows']:>6}  of {summary['input_rows']} input rows")
    print(f"\nresults: {summary['output']}\nreport:  {summary['report']}")


def _duration(seconds: float) -> str:
    if seconds < 60:
        return f"{seconds:.1f} s"
    minutes, secs = divmod(round(seconds), 60)
    return f"{minutes} min {secs} s" if minutes < 60 else f"{minutes // 60} h {minutes % 60} min"


def _advance(progress: tqdm[Any]) -> None:
    progress.update(1)


async def _run(
    args: argparse.Namespace,
    config: ChannelConfig,
    writer: ResultWriter,
    defaults: dict[str, object],
    progress: tqdm[Any],
    todo: list[Item],
) -> RunStats:
    # A subchannel pool of each client's own: separate connections, not one shared.
    own = replace(config, options=(*config.options, ("grpc.use_local_subchannel_pool", 1)))
    retry = RetryPolicy(max_attempts=6, max_backoff=5.0)
    clients = [
        AsyncScreeningClient(own, timeout=args.deadline, retry=retry)
        for _ in range(max(1, args.connections))
    ]
    try:
        batch = Batch(
            clients,
            args.kind,
            writer,
            mode=args.mode,
            concurrency=args.concurrency,
            deadline=args.deadline,
            request_defaults=defaults,
            on_record=lambda _: _advance(progress),
        )
        return await batch.run(todo)
    finally:
        for client in clients:
            await client.close()


if __name__ == "__main__":
    sys.exit(main())
