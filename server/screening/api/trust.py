"""What every screening goes through after the matcher: accepted false positives are marked
(and no longer raise the decision), and the outcome is written to the audit trail before the
answer leaves. A worker whose audit journal cannot take a record refuses to screen
(UNAVAILABLE): no decision goes unrecorded."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import grpc

from screening.api import convert
from screening.api.auth import client_of
from screening.api.errors import abort
from screening.api.repeat import KnownAnswer
from screening.api.validation import ENTITY_TYPES
from screening.casework.acceptlist import AcceptCache, counterparty_key
from screening.casework.audit.records import PartyRecordTemplate, party_record, shipment_record
from screening.casework.audit.trail import AuditTrail, AuditUnavailable
from screening.casework.monitoring import MonitorStore
from screening.index.holder import LoadedIndex
from screening.matching.types import MatchResult
from screening.risk.party import PartyThresholds, decide_party
from screening.v1 import screening_pb2 as pb


def party_key(party: pb.Party, *, vessel: bool = False) -> str:
    """The counterparty key of a Party (accept-list and monitoring). A shipment's vessel
    counts as ENTITY_TYPE_VESSEL whatever type it was sent with."""
    from screening.api.shipment import imo_number

    identifiers = []
    for ident in party.identifiers:
        value = ident.value
        if ident.type.strip().lower() == "imo":
            value = imo_number(value) or value
        identifiers.append((ident.type, value))
    return counterparty_key(
        [party.name, *party.aliases],
        str(
            ENTITY_TYPES[pb.ENTITY_TYPE_VESSEL]
            if vessel
            else ENTITY_TYPES.get(party.entity_type, party.entity_type)
        ),
        party.birth_date,
        party.country,
        identifiers,
    )


@dataclass
class Trust:
    thresholds: PartyThresholds
    include_request: bool = False
    audit: AuditTrail | None = None
    acceptances: AcceptCache | None = None
    monitors: MonitorStore | None = None
    _policy: str = field(init=False, default="")

    def __post_init__(self) -> None:
        self._policy = (
            f"party-thresholds:review={self.thresholds.review:g},block={self.thresholds.block:g}"
        )

    # -- before screening ----------------------------------------------------------------

    @property
    def refusing(self) -> bool:
        """Whether this worker must refuse screenings: its audit journal takes no records."""
        return self.audit is not None and not self.audit.accepting

    async def check_recording(self, context: grpc.aio.ServicerContext) -> None:
        if self.refusing:
            await abort(
                context,
                grpc.StatusCode.UNAVAILABLE,
                "audit trail unavailable on this worker; screening refused so that no "
                "decision goes unrecorded (retry: another worker or replica may take it)",
            )

    # -- accept-list ---------------------------------------------------------------------

    def accepted_for(
        self,
        party: pb.Party,
        entity_ids: Sequence[str],
        index: LoadedIndex,
        *,
        vessel: bool = False,
    ) -> dict[str, str]:
        """Entity id -> acceptance id, for the entries this counterparty was cleared of."""
        cache = self.acceptances
        if cache is None or not cache.entity_ids.intersection(entity_ids):
            return {}
        key = party_key(party, vessel=vessel)
        out = {}
        for entity_id in entity_ids:
            entity = index.entities.get(entity_id)
            if entity is None:
                continue
            acceptance = cache.find(key, entity, index.version)
            if acceptance is not None:
                out[entity_id] = acceptance.acceptance_id
        return out

    def mark_party(
        self, party: pb.Party, response: pb.ScreenPartyResponse, index: LoadedIndex
    ) -> None:
        """Mark accepted matches; the decision and risk score follow the others only."""
        accepted = self.accepted_for(party, [m.entity_id for m in response.matches], index)
        if not accepted:
            return
        for match in response.matches:
            acceptance_id = accepted.get(match.entity_id)
            if acceptance_id:
                match.accepted = True
                match.acceptance_id = acceptance_id
        decision, risk = decide_party(
            [m.score for m in response.matches if not m.accepted], self.thresholds
        )
        response.decision = convert.DECISION_PB[decision]
        response.risk_score = risk

    def split_results(
        self,
        party: pb.Party,
        results: list[MatchResult],
        index: LoadedIndex,
        *,
        vessel: bool = False,
    ) -> tuple[list[MatchResult], dict[str, str]]:
        """(matches that count, accepted entity id -> acceptance id)."""
        accepted = self.accepted_for(party, [r.entity.id for r in results], index, vessel=vessel)
        if not accepted:
            return results, {}
        return [r for r in results if r.entity.id not in accepted], accepted

    # -- audit ---------------------------------------------------------------------------

    def record_party(
        self,
        request: pb.ScreenPartyRequest,
        response: pb.ScreenPartyResponse,
        context: Any,
        *,
        kind: str = "party",
        batch_index: int = -1,
        client: str = "",
    ) -> None:
        """Raises AuditUnavailable when the record cannot be kept."""
        if self.audit is None:
            return
        self.audit.record(
            party_record(
                request,
                response,
                kind=kind,
                client=client or client_of(context),
                peer=context.peer() if context is not None else "",
                policy_version=self._policy,
                include_request=self.include_request,
                batch_index=batch_index,
            )
        )

    def party_template(
        self, request: pb.ScreenPartyRequest, response: pb.ScreenPartyResponse
    ) -> PartyRecordTemplate | None:
        """The audit record of this answer, for its repeats; None when there is no audit
        trail, or when records carry the whole request (encoded per call)."""
        if self.audit is None or self.include_request:
            return None
        return PartyRecordTemplate(request, response, policy_version=self._policy)

    def answers_again(self, known: KnownAnswer) -> bool:
        """Whether a repeat of `known` needs nothing but a new id, time and record: no
        acceptance covers one of its matches, and its record is ready (or not kept)."""
        if self.audit is not None and known.record is None:
            return False
        cache = self.acceptances
        return cache is None or not cache.entity_ids.intersection(known.entity_ids)

    def record_repeat(
        self,
        request: pb.ScreenPartyRequest,
        known: KnownAnswer,
        screening_id: str,
        context: grpc.aio.ServicerContext,
    ) -> str:
        """Record a repeated answer (see answers_again). Returns why it could not be
        recorded ("" when it was): the caller must then refuse the call. Not a coroutine:
        the repeat path is the hot one, and it awaits only when it has to refuse."""
        if self.audit is None or known.record is None:
            return ""
        rest = known.record.rest(
            request, screening_id=screening_id, client=client_of(context), peer=context.peer()
        )
        try:
            self.audit.record_encoded(rest)
        except AuditUnavailable as exc:
            return f"screening not recorded: {exc}"
        return ""

    async def settle_party(
        self,
        request: pb.ScreenPartyRequest,
        response: pb.ScreenPartyResponse,
        index: LoadedIndex,
        context: grpc.aio.ServicerContext,
    ) -> pb.ScreenPartyResponse:
        self.mark_party(request.party, response, index)
        try:
            self.record_party(request, response, context)
        except AuditUnavailable as exc:
            await abort(context, grpc.StatusCode.UNAVAILABLE, f"screening not recorded: {exc}")
        return response

    async def settle_shipment(
        self,
        request: pb.ScreenShipmentRequest,
        response: pb.ScreenShipmentResponse,
        context: grpc.aio.ServicerContext,
    ) -> pb.ScreenShipmentResponse:
        if self.audit is None:
            return response
        try:
            self.audit.record(
                shipment_record(
                    request,
                    response,
                    client=client_of(context),
                    peer=context.peer(),
                    include_request=self.include_request,
                )
            )
        except AuditUnavailable as exc:
            await abort(context, grpc.StatusCode.UNAVAILABLE, f"screening not recorded: {exc}")
        return response
