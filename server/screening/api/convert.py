"""Between protobuf messages and domain objects: every enum map, both ways, and the
domain -> protobuf conversions (requests are parsed and checked in api/validation.py)."""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Iterable

from google.protobuf import timestamp_pb2

from screening.casework.acceptlist import (
    ACTIVE,
    EXPIRED,
    REVOKED,
    VOIDED,
    Acceptance,
    Counterparty,
    now_utc,
)
from screening.casework.audit.records import PartyAnswer
from screening.casework.monitoring import Alert, Monitored
from screening.casework.screen import ShipmentAnswer
from screening.matching.types import Component, MatchResult
from screening.model.entities import DateBasis, Entity, EntityType
from screening.risk.assess import Outcome
from screening.risk.findings import Finding, Severity
from screening.risk.party import Decision
from screening.risk.shipment import Role, ScreenedParty
from screening.store.freshness import SourceAge, publication_day
from screening.store.snapshots import ChangeReport, SourceState
from screening.v1 import screening_pb2 as pb

ENTITY_TYPE_PB = {
    EntityType.UNKNOWN: pb.ENTITY_TYPE_UNSPECIFIED,
    EntityType.PERSON: pb.ENTITY_TYPE_PERSON,
    EntityType.ORGANIZATION: pb.ENTITY_TYPE_ORGANIZATION,
    EntityType.VESSEL: pb.ENTITY_TYPE_VESSEL,
    EntityType.AIRCRAFT: pb.ENTITY_TYPE_AIRCRAFT,
}
ENTITY_TYPE_FROM_PB = {value: kind for kind, value in ENTITY_TYPE_PB.items()}
DATE_BASIS_PB = {
    DateBasis.NONE: pb.DESIGNATION_DATE_BASIS_UNSPECIFIED,
    DateBasis.OFFICIAL: pb.DESIGNATION_DATE_BASIS_OFFICIAL,
    DateBasis.FIRST_SEEN: pb.DESIGNATION_DATE_BASIS_FIRST_SEEN,
    DateBasis.NOT_LATER_THAN: pb.DESIGNATION_DATE_BASIS_NOT_LATER_THAN,
}
DECISION_PB = {
    Decision.CLEAR: pb.DECISION_CLEAR,
    Decision.REVIEW: pb.DECISION_REVIEW,
    Decision.BLOCK: pb.DECISION_BLOCK,
}
DECISION_FROM_PB = {value: decision for decision, value in DECISION_PB.items()}
DECISION_NAME = {value: decision.value for decision, value in DECISION_PB.items()}
ROLE_FROM_PB = {
    pb.PARTY_ROLE_UNSPECIFIED: Role.UNSPECIFIED,
    pb.PARTY_ROLE_SHIPPER: Role.SHIPPER,
    pb.PARTY_ROLE_SUPPLIER: Role.SUPPLIER,
    pb.PARTY_ROLE_CONSIGNEE: Role.CONSIGNEE,
    pb.PARTY_ROLE_INTERMEDIATE_CONSIGNEE: Role.INTERMEDIATE_CONSIGNEE,
    pb.PARTY_ROLE_END_USER: Role.END_USER,
    pb.PARTY_ROLE_NOTIFY_PARTY: Role.NOTIFY_PARTY,
    pb.PARTY_ROLE_FREIGHT_FORWARDER: Role.FREIGHT_FORWARDER,
    pb.PARTY_ROLE_CARRIER: Role.CARRIER,
    pb.PARTY_ROLE_BANK: Role.BANK,
}
ROLE_PB = {role: value for value, role in ROLE_FROM_PB.items()}
SEVERITY_PB = {
    Severity.INFO: pb.SEVERITY_INFO,
    Severity.LOW: pb.SEVERITY_LOW,
    Severity.MEDIUM: pb.SEVERITY_MEDIUM,
    Severity.HIGH: pb.SEVERITY_HIGH,
    Severity.CRITICAL: pb.SEVERITY_CRITICAL,
}
ACCEPTANCE_STATUS_PB = {
    ACTIVE: pb.ACCEPTANCE_STATUS_ACTIVE,
    EXPIRED: pb.ACCEPTANCE_STATUS_EXPIRED,
    REVOKED: pb.ACCEPTANCE_STATUS_REVOKED,
    VOIDED: pb.ACCEPTANCE_STATUS_VOIDED,
}


def counterparty(party: pb.Party, *, vessel: bool = False) -> Counterparty:
    """The counterparty a Party names (accept-list and monitoring). A shipment's vessel
    counts as a vessel whatever type it was sent with."""
    kind = EntityType.VESSEL if vessel else ENTITY_TYPE_FROM_PB.get(party.entity_type)
    return Counterparty(
        names=(party.name, *party.aliases),
        entity_type=str(kind if kind is not None else party.entity_type),
        birth_date=party.birth_date,
        country=party.country,
        identifiers=tuple((ident.type, ident.value) for ident in party.identifiers),
    )


def timestamp(value: dt.datetime) -> timestamp_pb2.Timestamp:
    ts = timestamp_pb2.Timestamp()
    ts.FromDatetime(value)
    return ts


def now_timestamp() -> timestamp_pb2.Timestamp:
    """The time now; set directly: Timestamp.FromDatetime is Python code, ten times slower."""
    seconds, nanos = divmod(time.time_ns(), 1_000_000_000)
    return timestamp_pb2.Timestamp(seconds=seconds, nanos=nanos)


def component_pb(component: Component) -> pb.ScoreComponent:
    return pb.ScoreComponent(
        feature=component.feature,
        contribution=component.contribution,
        detail=component.detail,
    )


def match_pb(result: MatchResult) -> pb.Match:
    entity = result.entity
    return pb.Match(
        entity_id=entity.id,
        source=entity.source,
        source_ref=entity.source_ref,
        name=entity.name,
        matched_name=result.matched_name,
        entity_type=ENTITY_TYPE_PB[entity.entity_type],
        score=result.score,
        programs=entity.programs,
        designation_date=entity.designation_date,
        designation_date_basis=DATE_BASIS_PB[entity.designation_date_basis],
        designation_summary=entity.designation(),
        absent_from_publication=entity.absent_from,
        countries=entity.countries,
        explanation=[component_pb(c) for c in result.components],
        query_name=result.query_name,
    )


def entity_pb(entity: Entity, list_version: str = "") -> pb.Entity:
    return pb.Entity(
        entity_id=entity.id,
        source=entity.source,
        source_ref=entity.source_ref,
        entity_type=ENTITY_TYPE_PB[entity.entity_type],
        name=entity.name,
        aliases=[pb.Alias(name=n.full, kind=n.kind, quality=n.quality) for n in entity.all_names()],
        programs=entity.programs,
        countries=entity.countries,
        birth_dates=entity.birth_dates,
        addresses=[
            pb.Address(
                street=a.street,
                city=a.city,
                region=a.region,
                postal_code=a.postal_code,
                country=a.country,
                full=a.full,
            )
            for a in entity.addresses
        ],
        identifiers=[
            pb.Identifier(type=i.type, value=i.value, country=i.country) for i in entity.identifiers
        ],
        remarks=entity.remarks,
        designation_date=entity.designation_date,
        designation_date_basis=DATE_BASIS_PB[entity.designation_date_basis],
        first_seen=entity.first_seen,
        designation_summary=entity.designation(),
        absent_from_publication=entity.absent_from,
        nationalities=entity.nationalities,
        birth_places=entity.birth_places,
        properties=entity.properties,
        list_version=list_version,
    )


def mark_accepted(response: pb.ScreenPartyResponse, settled: PartyAnswer) -> None:
    """The settled answer's acceptances, decision and listed matches, written into its
    response."""
    if len(settled.matches) != len(response.matches):
        listed = {m.entity_id for m in settled.matches}
        kept = [m for m in response.matches if m.entity_id in listed]
        del response.matches[:]
        response.matches.extend(kept)
    for match in response.matches:
        acceptance_id = settled.accepted.get(match.entity_id)
        if acceptance_id:
            match.accepted = True
            match.acceptance_id = acceptance_id
    response.decision = DECISION_PB[settled.decision]
    response.risk_score = settled.risk_score


# -- shipments ---------------------------------------------------------------------------


def finding_pb(finding: Finding) -> pb.Finding:
    out = pb.Finding(
        code=finding.code,
        severity=SEVERITY_PB[finding.severity],
        message=finding.message,
        evidence=finding.evidence,
        # Deprecated sentinels (-1: none), still sent for clients that read them.
        party_index=finding.party_index,
        vessel_index=finding.vessel_index,
        goods_index=finding.goods_index,
        score=finding.points,
        entity_ids=finding.entity_ids,
    )
    # What the finding concerns, by presence: index 0 is an index like any other.
    if finding.party_index >= 0:
        out.party = finding.party_index
    if finding.vessel_index >= 0:
        out.vessel = finding.vessel_index
    if finding.goods_index >= 0:
        out.goods_line = finding.goods_index
    return out


def shipment_response_pb(
    request: pb.ScreenShipmentRequest, answer: ShipmentAnswer
) -> pb.ScreenShipmentResponse:
    shipment, assessment = answer.shipment, answer.assessment
    results = [
        _party_result_pb(answer, party, request.parties[party.index], outcome)
        for party, outcome in zip(shipment.parties, assessment.parties, strict=True)
    ] + [
        _party_result_pb(answer, vessel, request.vessels[vessel.index], outcome)
        for vessel, outcome in zip(shipment.vessels, assessment.vessels, strict=True)
    ]
    return pb.ScreenShipmentResponse(
        screening_id=answer.screening_id,
        decision=DECISION_PB[assessment.outcome.decision],
        risk_score=assessment.outcome.risk_score,
        party_results=results,
        findings=[finding_pb(f) for f in assessment.findings],
        data_version=answer.data_version,
        screened_at=timestamp(dt.datetime.now(dt.UTC)),
        shipment_ref=request.shipment_ref,
        policy_version=assessment.policy_version,
        client_ref=request.client_ref,
    )


def _party_result_pb(
    answer: ShipmentAnswer, party: ScreenedParty, given: pb.Party, outcome: Outcome
) -> pb.PartyResult:
    matches = []
    for result, acceptance_id in answer.reported(party):
        match = match_pb(result)
        if acceptance_id:
            match.accepted, match.acceptance_id = True, acceptance_id
        matches.append(match)
    return pb.PartyResult(
        index=party.index,
        is_vessel=party.is_vessel,
        role=given.role,
        name=given.name,
        party_ref=given.party_ref,
        decision=DECISION_PB[outcome.decision],
        risk_score=outcome.risk_score,
        matches=matches,
    )


# -- casework ----------------------------------------------------------------------------


def acceptance_pb(acceptance: Acceptance) -> pb.Acceptance:
    out = pb.Acceptance(
        acceptance_id=acceptance.acceptance_id,
        party=pb.Party.FromString(bytes.fromhex(acceptance.party)),
        counterparty_key=acceptance.counterparty_key,
        entity_id=acceptance.entity_id,
        entity_name=acceptance.entity_name,
        entity_fingerprint=acceptance.entity_fingerprint,
        data_version=acceptance.data_version,
        analyst=acceptance.analyst,
        client=acceptance.client,
        reason=acceptance.reason,
        status=ACCEPTANCE_STATUS_PB.get(
            acceptance.state(now_utc()), pb.ACCEPTANCE_STATUS_UNSPECIFIED
        ),
        status_reason=acceptance.status_reason,
        status_changed_by=acceptance.status_changed_by,
    )
    out.accepted_at.FromDatetime(dt.datetime.fromisoformat(acceptance.accepted_at))
    out.expires_at.FromDatetime(dt.datetime.fromisoformat(acceptance.expires_at))
    if acceptance.status_changed_at:
        out.status_changed_at.FromDatetime(dt.datetime.fromisoformat(acceptance.status_changed_at))
    return out


def monitored_pb(monitored: Monitored) -> pb.MonitoredParty:
    out = pb.MonitoredParty(
        monitor_id=monitored.monitor_id,
        party=pb.Party.FromString(bytes.fromhex(monitored.party)),
        client=monitored.client,
        min_score=monitored.min_score,
        known_entity_ids=monitored.known,
        data_version=monitored.data_version,
    )
    out.registered_at.FromDatetime(dt.datetime.fromisoformat(monitored.registered_at))
    return out


def alert_pb(alert_id: str, alert: Alert) -> pb.MonitoringAlert:
    out = pb.MonitoringAlert(
        alert_id=alert_id,
        monitor_id=alert.monitor_id,
        party=pb.Party.FromString(bytes.fromhex(alert.party)),
        match=pb.Match.FromString(bytes.fromhex(alert.match)),
        data_version=alert.data_version,
        previous_version=alert.previous_version,
    )
    out.raised_at.FromDatetime(dt.datetime.fromisoformat(alert.raised_at))
    return out


# -- list data ---------------------------------------------------------------------------


def source_status_pb(state: SourceState, age: SourceAge) -> pb.SourceStatus:
    status = pb.SourceStatus(
        source=state.source,
        version=state.version,
        publication_date=state.publication_date,
        entity_count=state.entity_count,
        staleness_seconds=_seconds_since(state.publication_date),
        files=state.files,
        sha256=state.sha256,
        added=state.added,
        removed=state.removed,
        changed=state.changed,
        age_days=age.age_days or 0,
        max_age_days=age.max_age_days,
        stale=age.stale,
        last_refresh_outcome=age.last_refresh_outcome,
    )
    status.loaded_at.FromDatetime(dt.datetime.fromisoformat(state.loaded_at))
    if age.last_refresh_at is not None:
        status.last_refresh_at.FromDatetime(age.last_refresh_at)
    if age.current_as_of is not None:
        status.current_as_of.FromDatetime(age.current_as_of)
    return status


def _seconds_since(publication_date: str) -> int:
    day = publication_day(publication_date)
    if day is None:
        return 0
    published = dt.datetime.combine(day, dt.time(), dt.UTC)
    return max(0, int((dt.datetime.now(dt.UTC) - published).total_seconds()))


def data_age_pb(ages: Iterable[SourceAge]) -> pb.DataAge:
    """How old the data of these sources is: the oldest publication, the stale sources."""
    ages = list(ages)
    out = pb.DataAge(
        stale_sources=[a.source for a in ages if a.stale],
        sources=[
            pb.SourceAge(
                source=a.source,
                publication_date=a.publication_date,
                age_days=a.age_days or 0,
                stale=a.stale,
            )
            for a in ages
        ],
    )
    dated = [a for a in ages if a.age_days is not None]
    if dated:
        oldest = max(dated, key=lambda a: (a.age_days or 0, a.source))
        out.oldest_source = oldest.source
        out.oldest_publication_date = oldest.publication_date
        out.oldest_age_days = oldest.age_days or 0
    return out


def publication_changes_pb(report: ChangeReport) -> pb.PublicationChanges:
    item = pb.PublicationChanges(
        source=report.source,
        previous_version=report.previous_version,
        version=report.version,
        publication_date=report.publication_date,
        added=[pb.EntityChange(entity_id=c.entity_id, name=c.name) for c in report.added],
        removed=[pb.EntityChange(entity_id=c.entity_id, name=c.name) for c in report.removed],
        changed=[
            pb.EntityChange(entity_id=c.entity_id, name=c.name, fields=c.fields)
            for c in report.changed
        ],
    )
    item.ingested_at.FromDatetime(dt.datetime.fromisoformat(report.ingested_at))
    return item
