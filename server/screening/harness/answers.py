"""Answers as an analyst reads them: `screening status`, `screening screen`,
`screening screen-shipment` print these (or, with --json, the answer whole, defaults
included: a 0 score or index and an empty list are printed, not left out).
"""

from __future__ import annotations

import datetime as dt

from google.protobuf.json_format import MessageToJson
from google.protobuf.message import Message

from screening.harness import console
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


def _stamp(stamp: object) -> dt.datetime | None:
    seconds = getattr(stamp, "seconds", 0)
    return dt.datetime.fromtimestamp(seconds, dt.UTC) if seconds else None


def format_status(reply: pb.GetDataStatusResponse) -> str:
    """One row per source: publication, age, entries, last refresh and outcome, STALE."""
    rows = []
    for source in reply.sources:
        refreshed = _stamp(source.last_refresh_at) if source.HasField("last_refresh_at") else None
        rows.append(
            (
                source.source,
                source.publication_date,
                console.age(source.age_days),
                console.age(source.max_age_days),
                source.entity_count,
                console.ago(_stamp(source.loaded_at)),
                console.ago(refreshed) if refreshed else "never",
                (source.last_refresh_outcome or "-")[:22],
                "STALE" if source.stale else "ok",
            )
        )
    headers = (
        "source",
        "published",
        "age",
        "max age",
        "entries",
        "loaded",
        "last refresh",
        "outcome",
        "state",
    )
    lines = [
        f"data version {reply.data_version}, {reply.entity_count} entries",
        "",
        console.table(headers, rows, right={4}),
    ]
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
    """'data: oldest ca-sema published 2025 (1.9 years old); STALE: ofac-sdn, un'."""
    if not age.oldest_source:
        return "data age: unknown"
    text = (
        f"data: oldest {age.oldest_source} published {age.oldest_publication_date} "
        f"({console.age(age.oldest_age_days)} old)"
    )
    if age.stale_sources:
        text += f"; STALE: {', '.join(age.stale_sources)}"
    return text


def _decision(value: int) -> str:
    return pb.Decision.Name(value).removeprefix("DECISION_")


def _listed(match: pb.Match) -> str:
    return match.designation_summary or (
        f"dated {match.designation_date}" if match.designation_date else "no date"
    )


def matches_table(matches: list[pb.Match], indent: str = "  ") -> list[str]:
    """The matches, best first, one row each: the entry, how it was matched, when listed."""
    rows = [
        (
            i,
            match.entity_id + (f" [accepted: {match.acceptance_id}]" if match.accepted else ""),
            match.name,
            f"{match.score:.2f}",
            match.matched_name,
            _listed(match),
            ", ".join(match.programs),
            ", ".join(match.countries),
        )
        for i, match in enumerate(matches, 1)
    ]
    headers = ("#", "entry", "name", "score", "matched name", "listed", "programs", "countries")
    return [indent + line for line in console.table(headers, rows, right={0, 3}).splitlines()]


def format_party(name: str, reply: pb.ScreenPartyResponse) -> str:
    lines = [
        f"{name!r}: {_decision(reply.decision)}, risk {reply.risk_score}"
        f"  (screening {reply.screening_id}, data version {reply.data_version})",
    ]
    if reply.matches:
        lines += matches_table(list(reply.matches))
    else:
        lines.append(f"  no match at or above {reply.min_score:g}")
    lines.append(format_data_age(reply.data_age))
    return "\n".join(lines)


def _concerns(finding: pb.Finding) -> str:
    if finding.HasField("party"):
        return f"parties[{finding.party}]"
    if finding.HasField("vessel"):
        return f"vessels[{finding.vessel}]"
    if finding.HasField("goods_line"):
        return f"goods[{finding.goods_line}]"
    return "shipment"


def format_shipment(reply: pb.ScreenShipmentResponse) -> str:
    lines = [
        f"shipment {reply.shipment_ref or '-'}: {_decision(reply.decision)}, risk "
        f"{reply.risk_score}  (policy {reply.policy_version}, data version {reply.data_version})",
        "",
        "findings:",
    ]
    findings = [
        (
            pb.Severity.Name(f.severity).removeprefix("SEVERITY_").lower(),
            f.code,
            _concerns(f),
            f.message,
        )
        for f in reply.findings
    ]
    if findings:
        finding_headers = ("severity", "code", "concerns", "message")
        lines += ["  " + row for row in console.table(finding_headers, findings).splitlines()]
    else:
        lines.append("  none")
    lines += ["", "parties:"]
    parties = [
        (
            f"{'vessels' if p.is_vessel else 'parties'}[{p.index}]",
            p.name,
            pb.PartyRole.Name(p.role).removeprefix("PARTY_ROLE_").lower(),
            _decision(p.decision),
            p.risk_score,
            p.matches[0].entity_id if p.matches else "-",
        )
        for p in reply.party_results
    ]
    headers = ("party", "name", "role", "decision", "risk", "best match")
    lines += ["  " + row for row in console.table(headers, parties, right={4}).splitlines()]
    for party in reply.party_results:
        if party.matches:
            kind = "vessels" if party.is_vessel else "parties"
            lines += ["", f"matches of {kind}[{party.index}] {party.name!r}:"]
            lines += matches_table(list(party.matches))
    lines += ["", format_data_age(reply.data_age)]
    return "\n".join(lines)
