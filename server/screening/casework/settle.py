"""What every screening goes through after the matcher: the matches the counterparty was
cleared of (casework/acceptlist.py) are marked and no longer count, the decision is taken
again on the others, and the outcome is written to the audit trail before the answer leaves.
A worker whose audit journal cannot take a record refuses to screen: no decision goes
unrecorded."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace

from screening.casework.acceptlist import AcceptCache, Counterparty, party_key
from screening.casework.audit.records import AuditRecord, Call, PartyAnswer, party_record
from screening.casework.audit.trail import AuditTrail
from screening.casework.monitoring import MonitorStore
from screening.index.holder import LoadedIndex
from screening.matching.types import MatchResult
from screening.model.errors import NotReady
from screening.observability import stages
from screening.risk.party import PartyThresholds, decide_party

AUDIT_REFUSAL = (
    "audit trail unavailable on this worker; screening refused so that no "
    "decision goes unrecorded (retry: another worker or replica may take it)"
)


@dataclass(frozen=True)
class Casework:
    """A worker's casework: accept-list, audit trail and monitoring (each None when off)."""

    thresholds: PartyThresholds
    include_request: bool = False
    audit: AuditTrail | None = None
    acceptances: AcceptCache | None = None
    monitors: MonitorStore | None = None
    # The party decision policy, as audit records name it.
    policy_version: str = field(init=False, default="")

    def __post_init__(self) -> None:
        t = self.thresholds
        version = f"party-thresholds:review={t.review:g},block={t.block:g}"
        object.__setattr__(self, "policy_version", version)

    @property
    def refusing(self) -> bool:
        """Whether this worker must refuse screenings: its audit journal takes no records."""
        return self.audit is not None and not self.audit.accepting

    def check_recording(self) -> None:
        if self.refusing:
            raise NotReady(AUDIT_REFUSAL)

    def accepted_for(
        self, party: Counterparty, entity_ids: Sequence[str], index: LoadedIndex
    ) -> dict[str, str]:
        """Entity id -> acceptance id, for the entries this counterparty was cleared of."""
        cache = self.acceptances
        if cache is None or not cache.entity_ids.intersection(entity_ids):
            return {}
        key = party_key(party)
        out = {}
        for entity_id in entity_ids:
            entity = index.entities.get(entity_id)
            if entity is None:
                continue
            acceptance = cache.find(key, entity, index.version)
            if acceptance is not None:
                out[entity_id] = acceptance.acceptance_id
        return out

    def covers_none_of(self, entity_ids: frozenset[str]) -> bool:
        """Whether no acceptance names one of these entries (then none can apply)."""
        cache = self.acceptances
        return cache is None or not cache.entity_ids.intersection(entity_ids)

    def record(self, record: AuditRecord) -> None:
        """Raises AuditUnavailable when the record cannot be kept."""
        if self.audit is not None:
            self.audit.record(record)

    def record_encoded(self, rest: bytes) -> None:
        """A record encoded but for its writer and seq; raises AuditUnavailable likewise."""
        if self.audit is not None:
            self.audit.record_encoded(rest)


def settle_party(
    work: Casework,
    party: Counterparty,
    answer: PartyAnswer,
    index: LoadedIndex,
    call: Callable[[], Call],
) -> PartyAnswer:
    """Settle one party's answer: mark the matches it was cleared of, decide again on the
    others, drop the evidence min_score does not list, and record it (`call` is asked for
    only when a record is kept). The decision and the risk score come from every match that
    counts, listed or not (risk/party.py): min_score never changes them. Raises
    AuditUnavailable when the record cannot be kept: the answer must not leave."""
    accepted = work.accepted_for(party, [m.entity_id for m in answer.matches], index)
    unlisted = answer.min_score > work.thresholds.review and any(
        m.score < answer.min_score for m in answer.matches
    )
    if accepted or unlisted:
        decision, risk_score = decide_party(
            [m.score for m in answer.matches if m.entity_id not in accepted], work.thresholds
        )
        listed = [m for m in answer.matches if m.score >= answer.min_score]
        answer = replace(
            answer,
            decision=decision,
            risk_score=risk_score,
            accepted=accepted,
            matches=listed if unlisted else answer.matches,
        )
    stages.mark("decide")
    if work.audit is not None:
        work.audit.record(party_record(call(), answer, policy_version=work.policy_version))
    stages.mark("audit")
    return answer


def clear_accepted(
    work: Casework, party: Counterparty, results: list[MatchResult], index: LoadedIndex
) -> tuple[list[MatchResult], dict[str, str]]:
    """(the matches that count, accepted entity id -> acceptance id)."""
    accepted = work.accepted_for(party, [r.entity.id for r in results], index)
    if not accepted:
        return results, {}
    return [r for r in results if r.entity.id not in accepted], accepted
