"""Audit records: what a screening decided, for whom, on which data and under which policy.

`request_sha256` is the SHA-256 of the request's canonical JSON, which a caller can recompute
from its own copy of the request to prove which record is its screening:

- the protobuf message as a JSON object keyed by the proto field names (snake_case), holding
  only the fields that are set (proto3 defaults left out), enums by name, nested messages as
  objects, repeated fields as arrays in request order;
- every string trimmed of surrounding white space and in Unicode NFC form;
- keys sorted, no white space between tokens, UTF-8 (not ASCII-escaped).
"""

from __future__ import annotations

import hashlib
import time
import unicodedata
from typing import Any

import msgspec
from google.protobuf.descriptor import FieldDescriptor
from google.protobuf.message import Message

from screening.v1 import screening_pb2 as pb

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


def canonical(message: Message) -> Canonical:
    """The request as the canonical JSON object the module docstring describes."""
    out: Canonical = {}
    for field, value in message.ListFields():
        kind = _KINDS.get(field)
        if kind is None:
            kind = _KINDS[field] = _kind(field)
        repeated, convert = kind
        out[field.name] = [convert(field, v) for v in value] if repeated else convert(field, value)
    return out


def _text(_: FieldDescriptor, value: str) -> str:
    return unicodedata.normalize("NFC", value.strip())


def _enum(field: FieldDescriptor, value: int) -> str | int:
    enum: Any = field.enum_type
    number = enum.values_by_number.get(value)
    return number.name if number is not None else value


def _same(_: FieldDescriptor, value: Any) -> Any:
    return value


_Convert = Any
# Per field: (repeated, converter); descriptors are looked at once (their attributes are slow).
_KINDS: dict[FieldDescriptor, tuple[bool, _Convert]] = {}


def _kind(field: FieldDescriptor) -> tuple[bool, _Convert]:
    converters = {
        FieldDescriptor.TYPE_MESSAGE: lambda _, v: canonical(v),
        FieldDescriptor.TYPE_STRING: _text,
        FieldDescriptor.TYPE_ENUM: _enum,
        FieldDescriptor.TYPE_BYTES: lambda _, v: v.hex(),
    }
    return field.is_repeated, converters.get(field.type, _same)


def canonical_bytes(message: Message) -> bytes:
    return msgspec.json.encode(canonical(message), order="sorted")


# Digests of recently recorded requests, by message type and deterministic serialization:
# counterparties repeat, and the walk to canonical JSON costs several times the lookup. The
# same bytes of the same message type are the same message, so the digest is the same.
_DIGESTS: dict[tuple[type, bytes], str] = {}
_DIGESTS_MAX = 4096


def request_sha256(message: Message) -> str:
    key = (type(message), message.SerializeToString(deterministic=True))
    digest = _DIGESTS.get(key)
    if digest is None:
        digest = hashlib.sha256(canonical_bytes(message)).hexdigest()
        if len(_DIGESTS) >= _DIGESTS_MAX:
            _DIGESTS.clear()
        _DIGESTS[key] = digest
    return digest


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


_DECISION_NAMES = {
    value.number: value.name.removeprefix("DECISION_") for value in pb.Decision.DESCRIPTOR.values
}


def _decision(value: int) -> str:
    return _DECISION_NAMES.get(value) or str(value)


def _matches(matches: Any, party: str = "") -> list[MatchRecord]:
    # round(x * 1e4) / 1e4: round(x, 4) is several times slower (decimal conversion).
    return [
        MatchRecord(
            entity_id=m.entity_id,
            score=round(m.score * 10000) / 10000,
            party=party,
            accepted=m.accepted,
            acceptance_id=m.acceptance_id,
        )
        for m in matches
    ]


def party_record(
    request: pb.ScreenPartyRequest,
    response: pb.ScreenPartyResponse,
    *,
    kind: str,
    client: str,
    peer: str,
    policy_version: str,
    include_request: bool,
    batch_index: int = -1,
) -> AuditRecord:
    return AuditRecord(
        screening_id=response.screening_id,
        kind=kind,
        time=now_iso(),
        client=client,
        peer=peer,
        request_sha256=request_sha256(request),
        decision=_decision(response.decision),
        risk_score=response.risk_score,
        matches=_matches(response.matches),
        data_version=response.data_version,
        policy_version=policy_version,
        client_ref=request.client_ref,
        batch_index=batch_index,
        request=canonical(request) if include_request else None,
    )


_ENCODER = msgspec.json.Encoder()
# A party record with its per-call fields empty encodes to this head, then the fields that
# come with the answer (decision, scores, data and policy versions, matches).
_PARTY_HEAD = b'{"screening_id":"","kind":"party","time":"","client":"","request_sha256":""'


class PartyRecordTemplate:
    """The audit record of an answer given again to the same request, encoded once.

    Each repeat fills in only what differs per call: screening id, time, client, peer,
    client reference (and the request digest when the reference is set, since the digest
    covers it). `rest` gives the bytes `Journal.append_encoded` takes; the line it writes
    is byte for byte the line `Journal.append(party_record(...))` writes for the same call.
    """

    __slots__ = ("_answer_fields", "_sha256")

    def __init__(
        self,
        request: pb.ScreenPartyRequest,
        response: pb.ScreenPartyResponse,
        *,
        policy_version: str,
    ) -> None:
        unreferenced = pb.ScreenPartyRequest()
        unreferenced.CopyFrom(request)
        unreferenced.ClearField("client_ref")
        self._sha256 = request_sha256(unreferenced)
        encoded = _ENCODER.encode(
            AuditRecord(
                screening_id="",
                kind="party",
                time="",
                client="",
                request_sha256="",
                decision=_decision(response.decision),
                risk_score=response.risk_score,
                matches=_matches(response.matches),
                data_version=response.data_version,
                policy_version=policy_version,
            )
        )
        if not encoded.startswith(_PARTY_HEAD) or not encoded.endswith(b"}"):
            raise AssertionError("AuditRecord fields moved: PartyRecordTemplate needs updating")
        self._answer_fields = encoded[len(_PARTY_HEAD) : -1]

    def rest(
        self, request: pb.ScreenPartyRequest, *, screening_id: str, client: str, peer: str
    ) -> bytes:
        ref = request.client_ref
        parts = [
            b',"screening_id":"',
            screening_id.encode(),
            b'","kind":"party","time":"',
            now_iso().encode(),
            b'","client":',
            _ENCODER.encode(client),
            b',"request_sha256":"',
            (request_sha256(request) if ref else self._sha256).encode(),
            b'"',
            self._answer_fields,
        ]
        if peer:
            parts += (b',"peer":', _ENCODER.encode(peer))
        if ref:
            parts += (b',"client_ref":', _ENCODER.encode(ref))
        parts.append(b"}")
        return b"".join(parts)


def shipment_record(
    request: pb.ScreenShipmentRequest,
    response: pb.ScreenShipmentResponse,
    *,
    client: str,
    peer: str,
    include_request: bool,
) -> AuditRecord:
    matches: list[MatchRecord] = []
    for result in response.party_results:
        where = f"{'vessels' if result.is_vessel else 'parties'}[{result.index}]"
        matches += _matches(result.matches, where)
    return AuditRecord(
        screening_id=response.screening_id,
        kind="shipment",
        time=now_iso(),
        client=client,
        peer=peer,
        request_sha256=request_sha256(request),
        decision=_decision(response.decision),
        risk_score=response.risk_score,
        matches=matches,
        findings=sorted({f.code for f in response.findings}),
        data_version=response.data_version,
        policy_version=response.policy_version,
        client_ref=request.client_ref,
        shipment_ref=request.shipment_ref,
        request=canonical(request) if include_request else None,
    )
