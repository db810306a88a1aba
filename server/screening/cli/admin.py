"""`screening audit export` and `screening auth ...`: the audit trail and bearer tokens from
the command line. A summary for people, or JSON with --json; exit codes as in
harness/console.py."""

from __future__ import annotations

import argparse
import json
import secrets
import sys
from pathlib import Path

from screening.config import Settings
from screening.harness import console
from screening.harness.console import Exit


def _settings(args: argparse.Namespace) -> Settings:
    settings = Settings()
    if getattr(args, "redis_url", None):
        settings = settings.model_copy(update={"redis_url": args.redis_url})
    return settings


def cmd_audit_export(args: argparse.Namespace) -> int:
    from screening.casework.audit.export import export, parse_time
    from screening.store.connection import connect

    settings = _settings(args)
    if not settings.redis_url:
        return _usage("--redis-url (or REDIS_URL) is required: the audit stream is in Redis")
    since = parse_time(args.since) if args.since else None
    until = parse_time(args.until) if args.until else None
    client = connect(settings.redis_url)
    to_stdout = args.output in (None, "-")
    if to_stdout:
        # The records themselves are the output (JSON lines); the summary goes to stderr.
        count = export(client, settings.redis_prefix, sys.stdout.buffer, since, until)
        sys.stdout.flush()
    else:
        with Path(args.output).open("wb") as out:
            count = export(client, settings.redis_prefix, out, since, until)
    summary = {
        "records": count,
        "output": "-" if to_stdout else str(args.output),
        "since": since.isoformat() if since else None,
        "until": until.isoformat() if until else None,
    }
    if args.json and not to_stdout:
        console.print_json(summary)
    else:
        where = "" if to_stdout else f" to {args.output}"
        print(f"{count} audit records exported{where}", file=sys.stderr if to_stdout else None)
    return Exit.OK


def _usage(message: str) -> int:
    print(f"screening: {message}", file=sys.stderr)
    return Exit.USAGE


def cmd_auth_add_token(args: argparse.Namespace) -> int:
    from screening.api.auth import KNOWN_PERMISSIONS, auth_tokens_key, hash_token
    from screening.store.connection import connect
    from screening.store.keys import Keys

    settings = _settings(args)
    permissions = sorted({p.strip() for p in args.permissions.split(",") if p.strip()})
    unknown = set(permissions) - KNOWN_PERMISSIONS
    if unknown or not permissions:
        return _usage(f"permissions must be among {sorted(KNOWN_PERMISSIONS)}")
    token = secrets.token_urlsafe(32)
    entry = {
        "client": args.client,
        "permissions": permissions,
        "rate_per_second": args.rate,
        "burst": args.burst,
    }
    digest = hash_token(token, settings.auth_token_key)
    stored = bool(settings.redis_url)
    if stored:
        client = connect(settings.redis_url)
        client.hset(auth_tokens_key(Keys(settings.redis_prefix)), digest, json.dumps(entry))
    config_entry = {**entry, "token_hash": digest}
    if args.json:
        console.print_json(
            {
                "token": token,
                **config_entry,
                "stored_in": "redis" if stored else None,
            }
        )
        return Exit.OK
    where = (
        "stored (hashed) in Redis; in force within SCREENING_AUTH_RELOAD_SECONDS"
        if stored
        else "add this entry to SCREENING_AUTH_TOKENS (a JSON list):\n" + json.dumps(config_entry)
    )
    print(f"token for {args.client!r} (shown once, keep it secret):\n{token}\n{where}")
    return Exit.OK


def cmd_auth_remove_token(args: argparse.Namespace) -> int:
    from screening.api.auth import auth_tokens_key
    from screening.store.connection import connect
    from screening.store.keys import Keys

    settings = _settings(args)
    if not settings.redis_url:
        return _usage("--redis-url (or REDIS_URL) is required")
    client = connect(settings.redis_url)
    key = auth_tokens_key(Keys(settings.redis_prefix))
    removed = 0
    for digest, raw in client.hgetall(key).items():
        if json.loads(raw).get("client") == args.client:
            removed += int(client.hdel(key, digest))
    if args.json:
        console.print_json({"client": args.client, "removed": removed})
    else:
        print(f"{removed} token(s) of {args.client!r} removed")
    return Exit.OK if removed else Exit.ERROR


def add_commands(sub: argparse._SubParsersAction) -> None:
    audit = sub.add_parser("audit", help="the audit trail")
    audit_sub = audit.add_subparsers(dest="audit_command", required=True)
    exporter = audit_sub.add_parser(
        "export",
        help="write audit records as JSON lines",
        epilog="exit codes: 0 done, 1 error, 2 usage",
    )
    exporter.add_argument("--redis-url", help="Redis URL (default: REDIS_URL)")
    exporter.add_argument("--since", help="ISO date or time (UTC unless stated), inclusive")
    exporter.add_argument("--until", help="ISO date or time, exclusive")
    exporter.add_argument("--output", "-o", help="file (default: standard output)")
    exporter.add_argument(
        "--json", action="store_true", help="with --output: print the summary as JSON"
    )
    exporter.set_defaults(func=cmd_audit_export)

    auth = sub.add_parser("auth", help="bearer tokens")
    auth_sub = auth.add_subparsers(dest="auth_command", required=True)
    add = auth_sub.add_parser(
        "add-token",
        help="make a token; store its hash in Redis, or print the config entry",
        epilog="exit codes: 0 done, 1 error, 2 usage",
    )
    add.add_argument("--client", required=True, help="client identity (audit trail)")
    add.add_argument(
        "--permissions", default="screen", help="comma-separated: screen, monitor, admin"
    )
    add.add_argument("--rate", type=float, default=0.0, help="calls per second (0: none)")
    add.add_argument("--burst", type=int, default=0, help="calls at once (0: a second's worth)")
    add.add_argument("--redis-url", help="store it in this Redis (default: print config entry)")
    add.add_argument("--json", action="store_true", help="print the token and entry as JSON")
    add.set_defaults(func=cmd_auth_add_token)
    remove = auth_sub.add_parser(
        "remove-token",
        help="remove a client's tokens from Redis",
        epilog="exit codes: 0 removed, 1 the client had no token (or error), 2 usage",
    )
    remove.add_argument("--client", required=True)
    remove.add_argument("--redis-url", help="Redis URL (default: REDIS_URL)")
    remove.add_argument("--json", action="store_true", help="print JSON instead of a line")
    remove.set_defaults(func=cmd_auth_remove_token)
