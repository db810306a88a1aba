"""`screening status`, `screening screen`, `screening screen-shipment`: ask a running service
and print its answer for an analyst (harness/answers.py), or with --json the answer whole.
A screening's exit code says its decision (harness/console.py: 0 CLEAR, 3 REVIEW, 4 BLOCK,
1 error)."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import grpc
from google.protobuf.json_format import Parse, ParseError

from screening.harness.access import ClientAccess, add_access_flags, add_target_flag
from screening.harness.console import EXIT_CODES_HELP, Exit, exit_for_decision

TIMEOUT_SECONDS = 10.0


def _stub(args: argparse.Namespace) -> tuple[grpc.Channel, object, ClientAccess]:
    from screening.v1 import screening_pb2_grpc as pb_grpc

    access = ClientAccess.from_args(args)
    channel = access.channel(args.target)
    return channel, pb_grpc.ScreeningServiceStub(channel), access


def _failed(exc: grpc.RpcError) -> int:
    code = exc.code().name if isinstance(exc, grpc.Call) else "UNKNOWN"
    details = exc.details() if isinstance(exc, grpc.Call) else str(exc)
    print(f"screening: {code}: {details}", file=sys.stderr)
    return Exit.ERROR


def cmd_status(args: argparse.Namespace) -> int:
    from screening.harness.answers import format_status, message_json
    from screening.v1 import screening_pb2 as pb

    channel, stub, access = _stub(args)
    with channel:
        try:
            reply = stub.GetDataStatus(  # type: ignore[attr-defined]
                pb.GetDataStatusRequest(), timeout=TIMEOUT_SECONDS, metadata=access.metadata
            )
        except grpc.RpcError as exc:
            return _failed(exc)
    print(message_json(reply) if args.json else format_status(reply))
    return Exit.OK


def _identifier(text: str) -> tuple[str, str]:
    scheme, sep, value = text.partition(":")
    if not sep or not value:
        raise SystemExit(f"--id takes TYPE:VALUE (e.g. tax_id:7743237789), got {text!r}")
    return scheme.strip(), value.strip()


def cmd_screen(args: argparse.Namespace) -> int:
    from screening.harness.answers import format_party, message_json
    from screening.v1 import screening_pb2 as pb

    entity_type = f"ENTITY_TYPE_{args.type.upper()}" if args.type else "ENTITY_TYPE_UNSPECIFIED"
    if entity_type not in pb.EntityType.keys():  # noqa: SIM118 - an enum wrapper, not a dict
        raise SystemExit(f"--type: one of person, organization, vessel, aircraft; got {args.type}")
    party = pb.Party(
        name=args.name or "",
        entity_type=entity_type,
        country=args.country or "",
        birth_date=args.birth_date or "",
        aliases=args.alias or [],
        identifiers=[pb.Identifier(type=t, value=v) for t, v in map(_identifier, args.id or [])],
    )
    request = pb.ScreenPartyRequest(party=party, sources=args.source or [])
    if args.min_score is not None:
        request.min_score = args.min_score
    channel, stub, access = _stub(args)
    with channel:
        try:
            reply = stub.ScreenParty(  # type: ignore[attr-defined]
                request, timeout=TIMEOUT_SECONDS, metadata=access.metadata
            )
        except grpc.RpcError as exc:
            return _failed(exc)
    # A party screened on its identifiers alone is named by them.
    label = party.name or ", ".join(f"{i.type}:{i.value}" for i in party.identifiers)
    print(message_json(reply) if args.json else format_party(label, reply))
    return exit_for_decision(pb.Decision.Name(reply.decision))


def cmd_screen_shipment(args: argparse.Namespace) -> int:
    from screening.harness.answers import format_shipment, message_json
    from screening.v1 import screening_pb2 as pb

    try:
        text = sys.stdin.read() if args.file == "-" else Path(args.file).read_text()
        request = Parse(text, pb.ScreenShipmentRequest())
    except (OSError, ParseError, json.JSONDecodeError) as exc:
        print(
            f"screening: {args.file}: not a ScreenShipmentRequest in proto JSON: {exc}",
            file=sys.stderr,
        )
        return Exit.USAGE
    channel, stub, access = _stub(args)
    with channel:
        try:
            reply = stub.ScreenShipment(  # type: ignore[attr-defined]
                request, timeout=TIMEOUT_SECONDS, metadata=access.metadata
            )
        except grpc.RpcError as exc:
            return _failed(exc)
    print(message_json(reply) if args.json else format_shipment(reply))
    return exit_for_decision(pb.Decision.Name(reply.decision))


def add_commands(sub: argparse._SubParsersAction) -> None:
    def common(p: argparse.ArgumentParser) -> None:
        add_target_flag(p)
        p.add_argument("--json", action="store_true", help="print the answer as JSON, whole")
        add_access_flags(p)

    def parser(name: str, help: str, decides: bool = False) -> argparse.ArgumentParser:
        epilog = EXIT_CODES_HELP if decides else "exit codes: 0 done, 1 error, 2 usage"
        return sub.add_parser(
            name,
            help=help,
            description=help,
            epilog=epilog,
            formatter_class=argparse.RawDescriptionHelpFormatter,
        )

    status = parser("status", "data status of a running server: one row per source, STALE marked")
    common(status)
    status.set_defaults(func=cmd_status)

    screen = parser("screen", "screen one party against a running server", decides=True)
    screen.add_argument("name", nargs="?", default="", help="the party's name")
    screen.add_argument("--type", help="person, organization, vessel or aircraft")
    screen.add_argument("--country", help="ISO 3166 alpha-2")
    screen.add_argument("--birth-date", help="ISO date: 1965, 1965-04 or 1965-04-17")
    screen.add_argument("--alias", action="append", help="another name (repeatable)")
    screen.add_argument("--id", action="append", help="TYPE:VALUE, e.g. tax_id:7743237789")
    screen.add_argument("--source", action="append", help="only this source (repeatable)")
    screen.add_argument("--min-score", type=float, help="lowest score listed (default: server's)")
    common(screen)
    screen.set_defaults(func=cmd_screen)

    shipment = parser(
        "screen-shipment",
        "screen a shipment (a ScreenShipmentRequest in proto JSON, in a file or on stdin)",
        decides=True,
    )
    shipment.add_argument("file", help="JSON file holding a ScreenShipmentRequest (-: stdin)")
    common(shipment)
    shipment.set_defaults(func=cmd_screen_shipment)
