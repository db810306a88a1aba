"""Answers as an analyst reads them: `screening status`, `screening screen`,
`screening screen-shipment` print these (or, with --json, the answer whole, defaults
included: a 0 score or index and an empty list are printed, not left out).
"""

from __future__ import annotations

import datetime as dt

from google.protobuf.json_format import MessageToJson
from google.protobuf.message import Message

from screening.v1 import screening_pb2 as pb


def message_json(message: Message) -> str:
    """The proto JSON of a message with every field, default values included."""
    return MessageToJson(
        message,
        always_print_fields_with_no_presence=True,
        preserving_proto_field_name=True,
        indent=2,
        ensure_ascii=False,
    )


def _when(stamp: object) -> str:
    seconds = getattr(stamp, "seconds", 0)
    if not seconds:
        return "-"
    return dt.datetime.fromtimestamp(seconds, dt.UTC).strftime("%Y-%m-%d %H:%M")


def format_status(reply: pb.GetDataStatusResponse) -> str:
    """One row per source: publication, age, entries, last refresh and outcome, STALE."""
    header = (
        f"{'source':<11} {'published':<11} {'age (days)':>10} {'max':>4} {'entries':>8}  "
        f"{'loaded':<16}  {'last refresh':<16}  {'outcome':<22} state"
    )
    lines = [f"data version {reply.data_version}, {reply.entity_count} entries", "", header]
    for source in reply.sources:
        refreshed = _when(source.last_refresh_at) if source.HasField("last_refresh_at") else "-"
        outcome = source.last_refresh_outcome or "never refreshed"
        lines.append(
            f"{source.source:<11} {source.publication_date:<11} {source.age_days:>10} "
            f"{source.max_age_days:>4g} {source.entity_count:>8}  {_when(source.loaded_at):<16}  "
            f"{refreshed:<16}  {outcome[:22]:<22} {'STALE' if source.stale else 'ok'}"
        )
    stale = list(reply.data_age.stale_sources)
    lines.append("")
    lines.append(
        f"STALE: {', '.join(stale)} (not known current within their maximum age; answers "
        "name them in data_age.stale_sources)"
        if stale
        else "every source within its maximum age"
    )
    return "\n".join(lines)


def format_data_age(age: pb.DataAge) -> str:
    """'data: oldest ca-sema 2025 (705 days old); STALE: ofac-sdn, un'."""
    if not age.oldest_source:
        return "data age: unknown"
    text = (
        f"data: oldest {age.oldest_source} published {age.oldest_publication_date} "
        f"({age.oldest_age_days} days old)"
    )
    if age.stale_sources:
        text += f"; STALE: {', '.join(age.stale_sources)}"
    return text


def _decision(value: int) -> str:
    return pb.Decision.Name(value).removeprefix("DECISION_")


def format_match(position: int, match: pb.Match) -> list[str]:
    listed = match.designation_summary or (
        f"dated {match.designation_date}" if match.designation_date else "no date"
    )
    details = "; ".join(
        part for part in (", ".join(match.programs), ", ".join(match.countries), listed) if part
    )
    accepted = f"  [accepted: {match.acceptance_id}]" if match.accepted else ""
    return [
        f"  {position}. {match.entity_id}  {match.name}  score {match.score:.2f}{accepted}",
        f"     {details}",
        f"     matched '{match.matched_name}' with '{match.query_name}'",
    ]


def format_party(name: str, reply: pb.ScreenPartyResponse) -> str:
    lines = [
        f"{name!r}: {_decision(reply.decision)}, risk {reply.risk_score}"
        f"  (screening {reply.screening_id}, data version {reply.data_version})",
    ]
    if not reply.matches:
        lines.append(f"  no match at or above {reply.min_score:g}")
    for i, match in enumerate(reply.matches, 1):
        lines += format_match(i, match)
    lines.append(format_data_age(reply.data_age))
    return "\n".join(lines)


def format_shipment(reply: pb.ScreenShipmentResponse) -> str:
    lines = [
        f"shipment {reply.shipment_ref or '-'}: {_decision(reply.decision)}, risk "
        f"{reply.risk_score}  (policy {reply.policy_version}, data version {reply.data_version})",
        "findings:",
    ]
    for finding in reply.findings:
        severity = pb.Severity.Name(finding.severity).removeprefix("SEVERITY_")
        lines.append(f"  {severity:<8} {finding.code}: {finding.message}")
    lines.append("parties:")
    for party in reply.party_results:
        kind = "vessels" if party.is_vessel else "parties"
        role = pb.PartyRole.Name(party.role).removeprefix("PARTY_ROLE_").lower()
        lines.append(
            f"  {kind}[{party.index}] {party.name!r} ({role}): {_decision(party.decision)}, "
            f"risk {party.risk_score}"
        )
        for i, match in enumerate(party.matches, 1):
            lines += ["  " + line for line in format_match(i, match)]
    lines.append(format_data_age(reply.data_age))
    return "\n".join(lines)
