"""Screening a shipment: every distinct party and vessel against the worker's index, the
matches each was cleared of set aside, the policy's rules run on the rest, and the outcome
recorded. A party is settled by casework/settle.py, as every screening is."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from screening.casework.acceptlist import Counterparty
from screening.casework.audit.records import AuditRecord, Call, MatchRecord, Scored, match_records
from screening.casework.audit.records import shipment_record as build_shipment_record
from screening.casework.settle import Casework, clear_accepted
from screening.index.holder import LoadedIndex
from screening.matching.types import MatchResult, Query
from screening.model.ids import new_screening_id
from screening.risk.assess import Assessment, assess
from screening.risk.policy import Policy
from screening.risk.shipment import ScreenedParty, Shipment


@dataclass(slots=True)
class ShipmentRequest:
    """A valid ScreenShipment request: the shipment, and per party then vessel (in that
    order) the query screened and the counterparty the accept-list knows."""

    shipment: Shipment
    queries: list[Query]
    counterparties: list[Counterparty]
    policy: Policy
    min_score: float


@dataclass(slots=True)
class ShipmentAnswer:
    screening_id: str
    data_version: str
    shipment: Shipment
    assessment: Assessment
    # (is vessel, index) -> the matches it was cleared of, with their acceptance ids.
    accepted: dict[tuple[bool, int], list[tuple[MatchResult, str]]] = field(default_factory=dict)
    # The matches each party lists; the rules saw every alert-level match.
    min_score: float = 0.0

    def reported(self, party: ScreenedParty) -> list[tuple[MatchResult, str]]:
        """A party's matches as answered (at or above min_score): cleared ones too, marked
        with their acceptance id, in score order with the others ('' for one that counts)."""
        matches = [(r, "") for r in party.matches if r.score >= self.min_score]
        cleared = self.accepted.get((party.is_vessel, party.index))
        if cleared:
            matches += [(r, a) for r, a in cleared if r.score >= self.min_score]
            matches.sort(key=lambda m: -m[0].score)
        return matches


def _query_key(query: Query) -> tuple[object, ...]:
    return (
        tuple(query.names),
        query.entity_type,
        query.birth_date,
        query.country,
        tuple(query.identifiers),
    )


Screened = dict[tuple[object, ...], list[MatchResult]]


def match_shipment(index: LoadedIndex, request: ShipmentRequest, *, limit: int) -> Screened:
    """The matches of every distinct party and vessel: the matcher's part, touching nothing
    but the index (a worker may run it off its event loop)."""
    # One party often plays several roles (shipper and supplier, consignee and notify
    # party): each distinct query is screened once.
    # min_score chooses which matches each party lists, never the findings: the rules see
    # every match down to the policy's alert score.
    floor = min(request.min_score, request.policy.spec.matches.alert_score)
    screened: Screened = {}
    for query in request.queries:
        key = _query_key(query)
        if key not in screened:
            screened[key] = index.matcher.screen(query, min_score=floor, limit=limit)
    return screened


def screen_shipment(
    work: Casework,
    index: LoadedIndex,
    request: ShipmentRequest,
    *,
    limit: int,
    call: Callable[[], Call],
    screened: Screened | None = None,
) -> ShipmentAnswer:
    """Screen (unless `screened` holds the matches already), settle and record one
    shipment. Raises AuditUnavailable when the record cannot be kept: the answer must not
    leave."""
    shipment = request.shipment
    if screened is None:
        screened = match_shipment(index, request, limit=limit)
    accepted: dict[tuple[bool, int], list[tuple[MatchResult, str]]] = {}
    parties = (*shipment.parties, *shipment.vessels)
    for party, query, counterparty in zip(
        parties, request.queries, request.counterparties, strict=True
    ):
        key = _query_key(query)
        party.matches = screened[key]
        if work.acceptances is not None and party.matches:
            party.matches, cleared = clear_accepted(work, counterparty, party.matches, index)
            if cleared:
                accepted[(party.is_vessel, party.index)] = [
                    (r, cleared[r.entity.id]) for r in screened[key] if r.entity.id in cleared
                ]
    answer = ShipmentAnswer(
        new_screening_id(),
        index.version,
        shipment,
        assess(shipment, request.policy),
        accepted,
        request.min_score,
    )
    if work.audit is not None:
        work.record(_record(call(), answer))
    return answer


def _record(call: Call, answer: ShipmentAnswer) -> AuditRecord:
    matches: list[MatchRecord] = []
    for party in (*answer.shipment.parties, *answer.shipment.vessels):
        reported = answer.reported(party)
        matches += match_records(
            [Scored(r.entity.id, r.score) for r, _ in reported],
            {r.entity.id: acceptance for r, acceptance in reported if acceptance},
            party.label,
        )
    outcome = answer.assessment.outcome
    return build_shipment_record(
        call,
        screening_id=answer.screening_id,
        decision=outcome.decision,
        risk_score=outcome.risk_score,
        matches=matches,
        findings=[f.code for f in answer.assessment.findings],
        data_version=answer.data_version,
        policy_version=answer.assessment.policy_version,
    )
