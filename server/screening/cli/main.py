"""The `screening` command: serve, ingest, refresh, eval, status, screen."""

from __future__ import annotations

import argparse
import logging
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING

from screening.config import Settings
from screening.harness.access import ClientAccess, add_access_flags

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
            "workers": getattr(args, "workers", None),
            "redis_url": getattr(args, "redis_url", None),
            "lists_dir": getattr(args, "lists_dir", None),
            "log_level": getattr(args, "log_level", None),
            "policy_file": getattr(args, "policy", None),
            "refresh_interval": getattr(args, "refresh_interval", None),
        }.items()
        if value is not None
    }
    settings = Settings()
    return settings.model_copy(update=overrides) if overrides else settings


def cmd_serve(args: argparse.Namespace) -> int:
    from screening.runtime.supervisor import Supervisor

    settings = _settings(args)
    if settings.workers < 1:
        raise SystemExit("--workers must be at least 1")
    _check_policy(settings.policy_file)
    return Supervisor(settings).run()


def _check_policy(path: Path | None) -> str:
    """Refuse to start on a policy that does not validate, naming every problem."""
    from screening.risk.policy import DEFAULT_POLICY_PATH, PolicyError, load_policy

    try:
        policy = load_policy(path or DEFAULT_POLICY_PATH)
    except PolicyError as exc:
        raise SystemExit(f"screening: {exc}") from exc
    return policy.version


def cmd_check_policy(args: argparse.Namespace) -> int:
    version = _check_policy(args.file)
    print(f"policy {args.file or 'shipped with the package'}: valid, version {version}")
    return 0


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
    )


def cmd_ingest(args: argparse.Namespace) -> int:
    """Ingest into the given Redis; without one, parse and check the files only."""
    from screening.sources.ingest import ingest_directory
    from screening.store.connection import connect
    from screening.store.embedded import EmbeddedRedis
    from screening.store.snapshots import ListStore

    settings = _settings(args)
    if settings.lists_dir is None:
        raise SystemExit("--lists-dir is required")
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
        result = ingest_directory(
            store,
            settings.lists_dir,
            max_drop_share=settings.max_drop_share,
            describe_dates=True,
        )
        seconds = time.perf_counter() - started
        print(format_ingest_table(result.files))
        for rejected in result.rejected:
            print(f"REJECTED {rejected}", file=sys.stderr)
        manifest = store.manifest()
        if manifest is not None:
            print(f"\ndata version {manifest.version}  ({seconds:.1f} s)")
            print(f"{'source':<11} {'published':<11} {'entities':>8}  format")
            for name, state in sorted(manifest.sources.items()):
                print(
                    f"{name:<11} {state.publication_date:<11} {state.entity_count:>8}  "
                    f"{state.format}"
                )
        return 1 if result.rejected and args.strict else 0
    finally:
        if embedded is not None:
            embedded.stop()


def format_ingest_table(files: list[FileOutcome]) -> str:
    """One line per publication found: what it holds and what became of it."""
    lines = [
        f"{'source':<11} {'file':<40} {'published':<11} {'entities':>8} {'secs':>5}  "
        f"{'outcome':<17} dates / detail"
    ]
    for f in sorted(files, key=lambda f: (f.source, f.publication_date, f.file)):
        detail = f.dates if f.dates else f.detail
        lines.append(
            f"{f.source:<11} {f.file[:40]:<40} {f.publication_date:<11} {f.entities:>8} "
            f"{f.seconds:>5.1f}  {f.outcome:<17} {detail}"
        )
    return "\n".join(lines)


def cmd_refresh(args: argparse.Namespace) -> int:
    """Fetch the official lists once into the given Redis (the same as a scheduled round)."""
    from screening.sources.refresh import RefreshOptions, refresh, targets
    from screening.sources.registry import FORMATS_BY_NAME
    from screening.store.connection import connect
    from screening.store.snapshots import ListStore

    settings = _settings(args)
    if not settings.redis_url:
        raise SystemExit("--redis-url (or REDIS_URL) is required: refresh updates that Redis")
    formats = args.format or settings.refresh_formats
    unknown = [f for f in formats if f not in FORMATS_BY_NAME]
    if unknown:
        raise SystemExit(f"unknown format(s) {unknown}; known: {sorted(FORMATS_BY_NAME)}")
    overrides = dict(settings.refresh_urls)
    for item in args.url or []:
        key, sep, url = item.partition("=")
        if not sep or not url:
            raise SystemExit(f"--url takes FORMAT=URL (or FORMAT:FILE=URL), got {item!r}")
        overrides[key] = url
    store = ListStore(connect(settings.redis_url), settings.redis_prefix)
    options = RefreshOptions(
        max_drop_share=settings.max_drop_share,
        timeout=settings.refresh_timeout,
        max_seconds=settings.refresh_max_seconds,
    )
    result = refresh(store, targets(formats, overrides), options, wait_for_lock=args.wait)
    print(
        f"{'source':<11} {'format':<24} {'outcome':<10} {'published':<11} {'entities':>8}  detail"
    )
    for item in result.sources:
        print(
            f"{item.source:<11} {item.format:<24} {item.outcome:<10} "
            f"{item.publication_date:<11} {item.entities:>8}  {item.detail}"
        )
    print(f"\ndata version {result.data_version}")
    return 0 if result.ok else 1


def cmd_eval(args: argparse.Namespace) -> int:
    from screening.harness.evaluate import run_evaluation

    return run_evaluation(
        Path(args.dir),
        args.target,
        concurrency=args.concurrency,
        json_out=args.json,
        show=args.show,
        lists_dir=args.lists_dir,
        loss_sample=args.loss_sample if args.lists_dir else 0,
        access=ClientAccess.from_args(args),
    )


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="screening", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)

    def redis_flags(p: argparse.ArgumentParser) -> None:
        p.add_argument("--redis-url", help="Redis URL (default: REDIS_URL, else embedded)")
        p.add_argument("--lists-dir", type=Path, help="ingest every list file found here")
        p.add_argument("--log-level", help="log level (default INFO)")

    serve = sub.add_parser("serve", help="run the gRPC service")
    serve.add_argument("--host", help="bind address (default 0.0.0.0)")
    serve.add_argument("--port", type=int, help="gRPC port (default 50051)")
    serve.add_argument("--metrics-port", type=int, help="Prometheus port (default 9464, 0: off)")
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

    check = sub.add_parser("check-policy", help="validate a shipment policy file")
    check.add_argument("file", type=Path, nargs="?", help="policy file (default: shipped)")
    check.set_defaults(func=cmd_check_policy)

    bench = sub.add_parser(
        "bench",
        help="handler time (p50/p99) of ScreenParty, CompareParties, ScreenShipment on real "
        "list data",
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
    bench.add_argument("--json", help="also write the figures to this JSON file")
    bench.add_argument(
        "--stages",
        action="store_true",
        help="instead: CPU time of an uncached ScreenParty per stage, CompareParties per pair",
    )
    bench.add_argument("--passes", type=int, default=3, help="--stages: timed passes")
    bench.set_defaults(func=cmd_bench)

    ingest = sub.add_parser("ingest", help="ingest list files into Redis without serving")
    redis_flags(ingest)
    ingest.add_argument("--strict", action="store_true", help="exit 1 if a file was rejected")
    ingest.set_defaults(func=cmd_ingest)

    refresh_cmd = sub.add_parser(
        "refresh", help="fetch the official lists once, check them and publish into Redis"
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
    refresh_cmd.set_defaults(func=cmd_refresh)

    evaluate = sub.add_parser("eval", help="run evaluation cases against a running server")
    evaluate.add_argument("dir", help="directory of *.jsonl case files")
    evaluate.add_argument("--target", default="127.0.0.1:50051", help="server host:port")
    evaluate.add_argument("--concurrency", type=int, default=8)
    evaluate.add_argument("--json", help="also write the figures to this JSON file")
    evaluate.add_argument(
        "--lists-dir",
        type=Path,
        help="also measure the candidate-stage loss in-process against these lists",
    )
    evaluate.add_argument(
        "--loss-sample", type=int, default=40, help="screening cases for the loss measure"
    )
    evaluate.add_argument("--show", type=int, default=10, help="failures printed per set")
    add_access_flags(evaluate)
    evaluate.set_defaults(func=cmd_eval)

    from screening.cli import admin, queries

    queries.add_commands(sub)  # status, screen, screen-shipment
    admin.add_commands(sub)  # audit export, auth tokens
    return parser


def main(argv: list[str] | None = None) -> int:
    from screening.config import log_level
    from screening.observability.logging import setup_logging

    args = build_parser().parse_args(argv)
    setup_logging(log_level(getattr(args, "log_level", None) or "INFO"))
    return int(args.func(args) or 0)


if __name__ == "__main__":
    sys.exit(main())
