"""What the audit trail keeps of a gRPC call: the request's canonical JSON and its digest,
and the record's parts read from the protobuf messages (casework/audit/records.py builds
the records themselves).

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
import unicodedata
from dataclasses import dataclass
from typing import Any

import grpc
import msgspec
from google.protobuf.descriptor import FieldDescriptor
from google.protobuf.message import Message

from screening.api import convert
from screening.api.auth import client_of
from screening.casework.audit.records import (
    AuditRecord,
    Call,
    Canonical,
    PartyAnswer,
    PartyRecordTemplate,
    Scored,
)
from screening.casework.audit.records import (
    party_record as build_party_record,
)
from screening.v1 import screening_pb2 as pb


def canonical(message: Message) -> Canonical:
    """The request as the canonical JSON object the module docstring describes."""
    out: Canonical = {}
    for field, value in message.ListFields():
        kind = _KINDS.get(field)
        if kind is None:
            kind = _KINDS[field] = _kind(field)
        repeated, convert_value = kind
        out[field.name] = (
            [convert_value(field, v) for v in value] if repeated else convert_value(field, value)
        )
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


def call_of(
    request: pb.ScreenPartyRequest | pb.ScreenShipmentRequest,
    context: grpc.aio.ServicerContext | None,
    *,
    kind: str,
    include_request: bool,
    client: str = "",
    batch_index: int = -1,
) -> Call:
    """The call as its audit record names it; `client` given: a call of the service's own
    (the monitoring job), with no context."""
    return Call(
        kind=kind,
        client=client or client_of(context),
        peer=context.peer() if context is not None else "",
        request_sha256=request_sha256(request),
        client_ref=request.client_ref,
        shipment_ref=request.shipment_ref if isinstance(request, pb.ScreenShipmentRequest) else "",
        batch_index=batch_index,
        request=canonical(request) if include_request else None,
    )


def party_answer(response: pb.ScreenPartyResponse) -> PartyAnswer:
    """The answer as casework reads it; matches already marked accepted stay accepted."""
    return PartyAnswer(
        screening_id=response.screening_id,
        data_version=response.data_version,
        decision=convert.DECISION_FROM_PB[response.decision],
        risk_score=response.risk_score,
        matches=[Scored(m.entity_id, m.score) for m in response.matches],
        accepted={m.entity_id: m.acceptance_id for m in response.matches if m.accepted},
        min_score=response.min_score,
    )


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
    """The record of one answered party screening, read from its messages."""
    call = Call(
        kind=kind,
        client=client,
        peer=peer,
        request_sha256=request_sha256(request),
        client_ref=request.client_ref,
        batch_index=batch_index,
        request=canonical(request) if include_request else None,
    )
    return build_party_record(call, party_answer(response), policy_version=policy_version)


@dataclass(frozen=True, slots=True)
class RepeatRecord:
    """The audit record of an answer, ready for its exact repeats (api/repeat.py)."""

    template: PartyRecordTemplate
    # The digest of the request without its reference: a repeat without one has it.
    unreferenced_sha256: str

    @classmethod
    def of(
        cls,
        request: pb.ScreenPartyRequest,
        response: pb.ScreenPartyResponse,
        *,
        policy_version: str,
    ) -> RepeatRecord:
        unreferenced = pb.ScreenPartyRequest()
        unreferenced.CopyFrom(request)
        unreferenced.ClearField("client_ref")
        template = PartyRecordTemplate(party_answer(response), policy_version=policy_version)
        return cls(template, request_sha256(unreferenced))

    def rest(
        self, request: pb.ScreenPartyRequest, *, screening_id: str, client: str, peer: str
    ) -> bytes:
        ref = request.client_ref
        return self.template.rest(
            screening_id=screening_id,
            client=client,
            peer=peer,
            client_ref=ref,
            request_sha256=request_sha256(request) if ref else self.unreferenced_sha256,
        )
