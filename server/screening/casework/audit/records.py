"""Audit records: what a screening decided, for whom, on which data and under which policy.

`request_sha256` is the SHA-256 of the request's canonical JSON (api/recording.py says how it
is made), which a caller can recompute from its own copy of the request to prove which record
is its screening. The records are built here from domain values: the call (`Call`) and the
answer (`PartyAnswer`, or a shipment's parts).
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, NamedTuple

import msgspec

from screening.risk.party import Decision

Canonical = dict[str, Any]


class MatchRecord(msgspec.Struct, omit_defaults=True):
    entity_id: str
    score: float
    # For shipments: the party or vessel it concerns ("parties[2]", "vessels[0]").
    party: str = ""
    accepted: bool = False
    acceptance_id: str = ""


class AuditRecord(msgspec.Struct, kw_only=True, omit_defaults=True):
    # Set by the journal: the worker process that recorded it and its position there.
    writer: str = ""
    seq: int = 0
    screening_id: str
    # "party" (ScreenParty), "shipment", "batch_item" (one ScreenParties item), "monitoring".
    kind: str
    time: str
    client: str
    request_sha256: str
    decision: str
    risk_score: int
    data_version: str
    policy_version: str
    matches: list[MatchRecord] = msgspec.field(default_factory=list)
    # Shipments: the finding codes behind the decision.
    findings: list[str] = msgspec.field(default_factory=list)
    peer: str = ""
    client_ref: str = ""
    shipment_ref: str = ""
    batch_index: int = -1
    # The canonical request itself, when SCREENING_AUDIT_INCLUDE_REQUEST is on.
    request: Canonical | None = None


RECORD_DECODER = msgspec.json.Decoder(AuditRecord)


_second = -1
_second_text = ""


def now_iso() -> str:
    """UTC now to the millisecond, as `datetime.isoformat(timespec="milliseconds")` writes it.
    The text of the current second is kept: building a datetime per record cost more than
    the rest of the record's fields."""
    global _second, _second_text
    now = time.time()
    second = int(now)
    if second != _second:
        _second_text = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(second))
        _second = second
    return f"{_second_text}.{int((now - second) * 1000):03d}+00:00"


class Scored(NamedTuple):
    """One match of an answer, as the audit trail reads it."""

    entity_id: str
    score: float


@dataclass(frozen=True, slots=True)
class PartyAnswer:
    """A party screening's answer, as casework reads it: the matches best first, and the
    entries among them the counterparty was cleared of (entity id -> acceptance id).
    `min_score`: the matches to list; below it, the answer may also hold evidence the
    decision rests on, which settling drops (casework/settle.py)."""

    screening_id: str
    data_version: str
    decision: Decision
    risk_score: int
    matches: Sequence[Scored]
    accepted: Mapping[str, str] = field(default_factory=dict)
    min_score: float = 0.0


@dataclass(frozen=True, slots=True)
class Call:
    """Who asked for a screening, and what they sent (its digest; its canonical JSON when
    records keep requests)."""

    kind: str
    client: str
    request_sha256: str
    peer: str = ""
    client_ref: str = ""
    shipment_ref: str = ""
    batch_index: int = -1
    request: Canonical | None = None


def match_records(
    matches: Sequence[Scored], accepted: Mapping[str, str], party: str = ""
) -> list[MatchRecord]:
    # round(x * 1e4) / 1e4: round(x, 4) is several times slower (decimal conversion).
    return [
        MatchRecord(
            entity_id=m.entity_id,
            score=round(m.score * 10000) / 10000,
            party=party,
            accepted=m.entity_id in accepted,
            acceptance_id=accepted.get(m.entity_id, ""),
        )
        for m in matches
    ]


def party_record(call: Call, answer: PartyAnswer, *, policy_version: str) -> AuditRecord:
    return AuditRecord(
        screening_id=answer.screening_id,
        kind=call.kind,
        time=now_iso(),
        client=call.client,
        peer=call.peer,
        request_sha256=call.request_sha256,
        decision=answer.decision.name,
        risk_score=answer.risk_score,
        matches=match_records(answer.matches, answer.accepted),
        data_version=answer.data_version,
        policy_version=policy_version,
        client_ref=call.client_ref,
        batch_index=call.batch_index,
        request=call.request,
    )


_ENCODER = msgspec.json.Encoder()
# A party record with its per-call fields empty encodes to this head, then the fields that
# come with the answer (decision, scores, data and policy versions, matches).
_PARTY_HEAD = b'{"screening_id":"","kind":"party","time":"","client":"","request_sha256":""'


class PartyRecordTemplate:
    """The audit record of an answer given again to the same request, encoded once.

    Each repeat fills in only what differs per call: screening id, time, client, peer,
    client reference and the request digest (which covers the reference). `rest` gives the
    bytes `Journal.append_encoded` takes; the line it writes is byte for byte the line
    `Journal.append(party_record(...))` writes for the same call.
    """

    __slots__ = ("_answer_fields",)

    def __init__(self, answer: PartyAnswer, *, policy_version: str) -> None:
        encoded = _ENCODER.encode(
            AuditRecord(
                screening_id="",
                kind="party",
                time="",
                client="",
                request_sha256="",
                decision=answer.decision.name,
                risk_score=answer.risk_score,
                matches=match_records(answer.matches, answer.accepted),
                data_version=answer.data_version,
                policy_version=policy_version,
            )
        )
        if not encoded.startswith(_PARTY_HEAD) or not encoded.endswith(b"}"):
            raise AssertionError("AuditRecord fields moved: PartyRecordTemplate needs updating")
        self._answer_fields = encoded[len(_PARTY_HEAD) : -1]

    def rest(
        self, *, screening_id: str, client: str, peer: str, client_ref: str, request_sha256: str
    ) -> bytes:
        parts = [
            b',"screening_id":"',
            screening_id.encode(),
            b'","kind":"party","time":"',
            now_iso().encode(),
            b'","client":',
            _ENCODER.encode(client),
            b',"request_sha256":"',
            request_sha256.encode(),
            b'"',
            self._answer_fields,
        ]
        if peer:
            parts += (b',"peer":', _ENCODER.encode(peer))
        if client_ref:
            parts += (b',"client_ref":', _ENCODER.encode(client_ref))
        parts.append(b"}")
        return b"".join(parts)


def shipment_record(
    call: Call,
    *,
    screening_id: str,
    decision: Decision,
    risk_score: int,
    matches: list[MatchRecord],
    findings: Sequence[str],
    data_version: str,
    policy_version: str,
) -> AuditRecord:
    return AuditRecord(
        screening_id=screening_id,
        kind=call.kind,
        time=now_iso(),
        client=call.client,
        peer=call.peer,
        request_sha256=call.request_sha256,
        decision=decision.name,
        risk_score=risk_score,
        matches=matches,
        findings=sorted(set(findings)),
        data_version=data_version,
        policy_version=policy_version,
        client_ref=call.client_ref,
        shipment_ref=call.shipment_ref,
        request=call.request,
    )
