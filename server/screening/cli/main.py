"""The `screening` command: serve, ingest, refresh, eval, eval-data, status, screen.

Every command but `serve` prints a table for people, or JSON with --json; long ones show a
progress bar on standard error when it is a terminal. Exit codes: harness/console.py."""

from __future__ import annotations

import argparse
import dataclasses
import logging
import os
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING

from screening.config import Settings
from screening.harness import console
from screening.harness.access import ClientAccess, add_access_flags, add_target_flag
from screening.harness.console import EXIT_CODES_HELP, Exit

if TYPE_CHECKING:
    from screening.sources.ingest import FileOutcome

log = logging.getLogger("screening.cli")


def _settings(args: argparse.Namespace) -> Settings:
    overrides = {
        key: value
        for key, value in {
            "host": getattr(args, "host", None),
            "port": getattr(args, "port", None),
            "metrics_port": getattr(args, "metrics_port", None),
            "metrics_host": getattr(args, "metrics_host", None),
            "workers": getattr(args, "workers", None),
            "redis_url": getattr(args, "redis_url", None),
            "lists_dir": getattr(args, "lists_dir", None),
            "log_level": getattr(args, "log_level", None),
            "policy_file": getattr(args, "policy", None),
            "refresh_interval": getattr(args, "refresh_interval", None),
            "allow_insecure_network": getattr(args, "allow_insecure_network", None) or None,
        }.items()
        if value is not None
    }
    settings = Settings()
    return settings.model_copy(update=overrides) if overrides else settings


def cmd_serve(args: argparse.Namespace) -> int:
    from screening.runtime.exposure import InsecureExposure, check_exposure
    from screening.runtime.metrics_server import WebConfigError
    from screening.runtime.port_guard import PortInUse
    from screening.runtime.supervisor import Supervisor
    from screening.store.embedded import EmbeddedRedisError

    settings = _settings(args)
    if settings.workers < 1:
        raise SystemExit("--workers must be at least 1")
    _check_policy(settings.policy_file)
    try:
        check_exposure(settings)
        return Supervisor(settings).run()
    except (InsecureExposure, WebConfigError, PortInUse, EmbeddedRedisError) as exc:
        log.critical("not starting", extra={"error": str(exc)})
        raise SystemExit(f"screening: {exc}") from exc


def _check_policy(path: Path | None) -> str:
    """Refuse to start on a policy that does not validate, naming every problem."""
    from screening.risk.policy import DEFAULT_POLICY_PATH, PolicyError, load_policy

    try:
        policy = load_policy(path or DEFAULT_POLICY_PATH)
    except PolicyError as exc:
        raise SystemExit(f"screening: {exc}") from exc
    return policy.version


def cmd_check_policy(args: argparse.Namespace) -> int:
    from screening.risk.policy import DEFAULT_POLICY_PATH, PolicyError, load_policy

    path = args.file or DEFAULT_POLICY_PATH
    try:
        version, problems = load_policy(path).version, []
    except PolicyError as exc:
        version, problems = "", exc.problems
    if args.json:
        console.print_json(
            {"file": str(path), "valid": not problems, "version": version, "problems": problems}
        )
    elif problems:
        print(f"policy {path}: INVALID, {len(problems)} problem(s)")
        print("\n".join(f"  {problem}" for problem in problems))
    else:
        print(f"policy {args.file or 'shipped with the package'}: valid, version {version}")
    return Exit.ERROR if problems else Exit.OK


def cmd_bench(args: argparse.Namespace) -> int:
    from screening.harness.bench import RPCS, run_benchmark

    settings = _settings(args)
    if args.stages:
        from screening.harness.stages import run_stages

        return run_stages(
            settings,
            redis_url=settings.redis_url,
            lists_dir=settings.lists_dir,
            passes=args.passes,
            data_dir=args.data_dir,
            json_out=args.json or "",
        )
    rpcs = RPCS if args.rpc == "all" else (args.rpc,)
    return run_benchmark(
        settings,
        redis_url=settings.redis_url,
        lists_dir=settings.lists_dir,
        rounds=args.requests,
        warmup=args.warmup,
        rpcs=rpcs,
        data_dir=args.data_dir,
        parties=args.parties,
        goods=args.goods,
        vessels=args.vessels,
        distinct=args.distinct,
        target=args.target or "",
        json_out=args.json or "",
        show_progress=args.progress,
    )


def cmd_ingest(args: argparse.Namespace) -> int:
    """Ingest into the given Redis; without one, parse and check the files only."""
    from screening.sources.ingest import ingest_directory
    from screening.sources.last_good import LastGoodStore
    from screening.sources.limits import ParseLimits
    from screening.store.connection import connect
    from screening.store.embedded import EmbeddedRedis
    from screening.store.snapshots import ListStore

    settings = _settings(args)
    if settings.lists_dir is None:
        print("screening ingest: --lists-dir is required", file=sys.stderr)
        return Exit.USAGE
    embedded = None
    url = settings.redis_url
    if not url:
        print(
            "no --redis-url / REDIS_URL: checking the files against a throw-away embedded "
            "Redis; nothing is kept",
            file=sys.stderr,
        )
        embedded = EmbeddedRedis().start()
        url = embedded.url
    try:
        store = ListStore(connect(url), settings.redis_prefix)
        started = time.perf_counter()
        with console.progress_bar(None, "parsing", args.progress, "files") as bar:
            result = ingest_directory(
                store,
                settings.lists_dir,
                max_drop_share=settings.max_drop_share,
                describe_dates=True,
                limits=ParseLimits.from_settings(settings),
                # A throw-away Redis checks the files against the last good ones, keeping
                # nothing.
                last_good=LastGoodStore(settings.effective_list_state_dir, settings.redis_prefix)
                if embedded is None
                else None,
                progress=console.step_counter(bar),
            )
        seconds = time.perf_counter() - started
        manifest = store.manifest()
        if args.json:
            console.print_json(
                {
                    "data_version": manifest.version if manifest else None,
                    "seconds": round(seconds, 2),
                    "files": [dataclasses.asdict(f) for f in _in_order(result.files)],
                    "rejected": result.rejected,
                    "sources": {
                        name: {
                            "publication_date": state.publication_date,
                            "entities": state.entity_count,
                            "format": state.format,
                            "version": state.version,
                        }
                        for name, state in sorted(manifest.sources.items())
                    }
                    if manifest
                    else {},
                }
            )
        else:
            print(format_ingest_table(result.files))
            for rejected in result.rejected:
                print(f"REJECTED {rejected}", file=sys.stderr)
            if manifest is not None:
                print(f"\ndata version {manifest.version}  (took {console.duration(seconds)})")
                rows = [
                    (name, state.publication_date, state.entity_count, state.format)
                    for name, state in sorted(manifest.sources.items())
                ]
                print(console.table(("source", "published", "entries", "format"), rows, {2}))
        return Exit.ERROR if result.rejected and args.strict else Exit.OK
    finally:
        if embedded is not None:
            embedded.stop()


def _in_order(files: list[FileOutcome]) -> list[FileOutcome]:
    return sorted(files, key=lambda f: (f.source, f.publication_date, f.file))


def format_ingest_table(files: list[FileOutcome]) -> str:
    """One line per publication found: what it holds and what became of it."""
    rows = [
        (
            f.source,
            f.file,
            f.publication_date,
            f.entities,
            console.duration(f.seconds),
            f.outcome,
            f.dates or f.detail,
        )
        for f in _in_order(files)
    ]
    headers = ("source", "file", "published", "entries", "took", "outcome", "dates / detail")
    return console.table(headers, rows, right={3, 4})


def cmd_refresh(args: argparse.Namespace) -> int:
    """Fetch the official lists once into the given Redis (the same as a scheduled round)."""
    from screening.sources.last_good import LastGoodStore
    from screening.sources.limits import ParseLimits
    from screening.sources.refresh import RefreshOptions, refresh, targets
    from screening.sources.registry import FORMATS_BY_NAME
    from screening.store.connection import connect
    from screening.store.snapshots import ListStore

    settings = _settings(args)
    if not settings.redis_url:
        return _usage(
            "refresh", "--redis-url (or REDIS_URL) is required: refresh updates that Redis"
        )
    formats = args.format or settings.refresh_formats
    unknown = [f for f in formats if f not in FORMATS_BY_NAME]
    if unknown:
        return _usage("refresh", f"unknown format(s) {unknown}; known: {sorted(FORMATS_BY_NAME)}")
    overrides = dict(settings.refresh_urls)
    for item in args.url or []:
        key, sep, url = item.partition("=")
        if not sep or not url:
            return _usage("refresh", f"--url takes FORMAT=URL (or FORMAT:FILE=URL), got {item!r}")
        overrides[key] = url
    store = ListStore(connect(settings.redis_url), settings.redis_prefix)
    options = RefreshOptions(
        max_drop_share=settings.max_drop_share,
        timeout=settings.refresh_timeout,
        max_seconds=settings.refresh_max_seconds,
        limits=ParseLimits.from_settings(settings),
    )
    last_good = LastGoodStore(settings.effective_list_state_dir, settings.redis_prefix)
    to_fetch = targets(formats, overrides)
    with console.progress_bar(len(to_fetch), "refreshing", args.progress, "sources") as bar:
        result = refresh(
            store,
            to_fetch,
            options,
            wait_for_lock=args.wait,
            last_good=last_good,
            progress=console.step_counter(bar),
        )
    if args.json:
        console.print_json(
            {
                "data_version": result.data_version,
                "ok": result.ok,
                "sources": [dataclasses.asdict(item) for item in result.sources],
            }
        )
    else:
        rows = [
            (
                item.source,
                item.format,
                item.outcome,
                item.publication_date,
                item.entities,
                console.duration(item.seconds),
                item.detail,
            )
            for item in result.sources
        ]
        headers = ("source", "format", "outcome", "published", "entries", "took", "detail")
        print(console.table(headers, rows, right={4, 5}))
        print(f"\ndata version {result.data_version}")
    return Exit.OK if result.ok else Exit.ERROR


def _usage(command: str, message: str) -> int:
    print(f"screening {command}: {message}", file=sys.stderr)
    return Exit.USAGE


def cmd_eval(args: argparse.Namespace) -> int:
    from screening.harness.evaluate import run_evaluation

    return run_evaluation(
        [Path(d) for d in args.dir],
        args.target,
        concurrency=args.concurrency,
        json_out=args.json,
        show=args.show,
        lists_dir=args.lists_dir,
        loss_sample=args.loss_sample if args.lists_dir else 0,
        access=ClientAccess.from_args(args),
        show_progress=args.progress,
    )


def cmd_eval_data(args: argparse.Namespace) -> int:
    from screening.harness.eval_data import run_generate

    return run_generate(Path(args.out), seed=args.seed, people=args.people, orgs=args.orgs)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="screening",
        description=__doc__,
        epilog=EXIT_CODES_HELP,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    sub = parser.add_subparsers(dest="command", required=True)

    def command(name: str, help: str, epilog: str = "") -> argparse.ArgumentParser:
        return sub.add_parser(
            name,
            help=help,
            description=help,
            epilog=epilog or "exit codes: 0 done, 1 error, 2 usage",
            formatter_class=argparse.RawDescriptionHelpFormatter,
        )

    def redis_flags(p: argparse.ArgumentParser) -> None:
        p.add_argument("--redis-url", help="Redis URL (default: REDIS_URL, else embedded)")
        p.add_argument("--lists-dir", type=Path, help="ingest every list file found here")
        p.add_argument("--log-level", help="log level (default INFO)")

    serve = command(
        "serve",
        "run the gRPC service",
        "logs: JSON lines on standard error; `serving` once the port answers.\n"
        "exit codes: 0 stopped on SIGTERM / SIGINT, 1 error (refused to start, workers kept "
        "dying)",
    )
    serve.add_argument(
        "--host",
        help="bind address (default 127.0.0.1); beyond loopback, give the port TLS or "
        "--allow-insecure-network",
    )
    serve.add_argument(
        "--allow-insecure-network",
        action="store_true",
        help="listen beyond loopback without TLS (warned about in the log); "
        "SCREENING_ALLOW_INSECURE_NETWORK=1",
    )
    serve.add_argument("--port", type=int, help="gRPC port (default 50051)")
    serve.add_argument("--metrics-port", type=int, help="Prometheus port (default 9464, 0: off)")
    serve.add_argument(
        "--metrics-host",
        help="metrics bind address (default: --host, loopback when that is 0.0.0.0 or ::)",
    )
    serve.add_argument("--workers", type=int, help="worker processes (default: one per core)")
    serve.add_argument("--policy", type=Path, help="shipment policy file (default: shipped)")
    serve.add_argument(
        "--refresh-interval",
        type=float,
        help="seconds between refreshes from the official URLs, 0: off "
        "(default: off with --lists-dir, else 3600)",
    )
    redis_flags(serve)
    serve.set_defaults(func=cmd_serve)

    check = command(
        "check-policy",
        "validate a shipment policy file",
        "exit codes: 0 valid, 1 invalid (every problem printed), 2 usage",
    )
    check.add_argument("file", type=Path, nargs="?", help="policy file (default: shipped)")
    console.add_output_flags(check)
    check.set_defaults(func=cmd_check_policy)

    bench = command(
        "bench",
        "handler time (p50/p99) of ScreenParty, CompareParties, ScreenShipment on real list data",
    )
    redis_flags(bench)
    bench.add_argument(
        "--rpc", choices=("all", "party", "compare", "shipment"), default="all", help="which RPC"
    )
    bench.add_argument(
        "--data-dir",
        type=Path,
        default=Path("deploy/ghz/data"),
        help="ghz request data for ScreenParty and CompareParties (default: deploy/ghz/data)",
    )
    bench.add_argument("--policy", type=Path, help="shipment policy file (default: shipped)")
    bench.add_argument("--requests", type=int, default=2000, help="timed calls")
    bench.add_argument("--warmup", type=int, default=100, help="untimed calls first")
    bench.add_argument("--parties", type=int, default=8, help="parties per shipment")
    bench.add_argument("--goods", type=int, default=20, help="goods lines per shipment")
    bench.add_argument("--vessels", type=int, default=0, help="vessels per shipment")
    bench.add_argument("--distinct", type=int, default=256, help="distinct shipments, cycled")
    bench.add_argument("--target", help="also time the round trip to this running server")
    console.add_output_flags(bench, json_file=True)
    console.add_progress_flag(bench)
    bench.add_argument(
        "--stages",
        action="store_true",
        help="instead: CPU time of an uncached ScreenParty per stage, CompareParties per pair",
    )
    bench.add_argument("--passes", type=int, default=3, help="--stages: timed passes")
    bench.set_defaults(func=cmd_bench)

    ingest = command(
        "ingest",
        "ingest list files into Redis without serving",
        "exit codes: 0 done, 1 a file was rejected (with --strict), 2 usage",
    )
    redis_flags(ingest)
    ingest.add_argument("--strict", action="store_true", help="exit 1 if a file was rejected")
    console.add_output_flags(ingest)
    console.add_progress_flag(ingest)
    ingest.set_defaults(func=cmd_ingest)

    refresh_cmd = command(
        "refresh",
        "fetch the official lists once, check them and publish into Redis",
        "exit codes: 0 every source published or unchanged, 1 a source failed or was "
        "rejected, 2 usage",
    )
    refresh_cmd.add_argument("--redis-url", help="Redis URL (default: REDIS_URL)")
    refresh_cmd.add_argument(
        "--format", action="append", help="format to fetch (repeatable; default: one per source)"
    )
    refresh_cmd.add_argument(
        "--url", action="append", help="FORMAT=URL or FORMAT:FILE=URL (a mirror; repeatable)"
    )
    refresh_cmd.add_argument(
        "--wait", type=float, default=60.0, help="seconds to wait for another replica's lock"
    )
    refresh_cmd.add_argument("--log-level", help="log level (default INFO)")
    console.add_output_flags(refresh_cmd)
    console.add_progress_flag(refresh_cmd)
    refresh_cmd.set_defaults(func=cmd_refresh)

    evaluate = command(
        "eval",
        "run evaluation cases against a running server",
        "exit codes: 0 done, 1 calls failed (other than INVALID_ARGUMENT), 2 usage",
    )
    evaluate.add_argument("dir", nargs="+", help="directories of *.jsonl case files")
    add_target_flag(evaluate)
    evaluate.add_argument("--concurrency", type=int, default=8)
    evaluate.add_argument(
        "--lists-dir",
        type=Path,
        help="also measure the candidate-stage loss in-process against these lists",
    )
    evaluate.add_argument(
        "--loss-sample", type=int, default=40, help="screening cases for the loss measure"
    )
    evaluate.add_argument("--show", type=int, default=10, help="failures printed per set")
    console.add_output_flags(evaluate, json_file=True)
    console.add_progress_flag(evaluate)
    add_access_flags(evaluate)
    evaluate.set_defaults(func=cmd_eval)

    eval_data = command(
        "eval-data", "write generated evaluation sets (innocent people and companies)"
    )
    eval_data.add_argument("out", help="directory to write the *.jsonl files to")
    eval_data.add_argument("--seed", type=int, default=22, help="random seed (default 22)")
    eval_data.add_argument("--people", type=int, default=10_000, help="innocent people")
    eval_data.add_argument("--orgs", type=int, default=10_000, help="innocent organisations")
    eval_data.set_defaults(func=cmd_eval_data)

    from screening.cli import admin, queries

    queries.add_commands(sub)  # status, screen, screen-shipment
    admin.add_commands(sub)  # audit export, auth tokens
    return parser


def main(argv: list[str] | None = None) -> int:
    from screening.config import log_level
    from screening.observability.logging import setup_logging

    args = build_parser().parse_args(argv)
    setup_logging(log_level(getattr(args, "log_level", None) or "INFO"))
    try:
        return int(args.func(args) or 0)
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return Exit.INTERRUPTED
    except BrokenPipeError:
        # The reader went away (`| head`): say nothing more, and let Python's exit-time
        # flush of stdout write to nowhere rather than fail again.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return Exit.OK


if __name__ == "__main__":
    sys.exit(main())
