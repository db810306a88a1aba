"""Domain objects -> protobuf messages."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

from google.protobuf import timestamp_pb2

from screening.matching.engine import MatchResult
from screening.matching.features import Component
from screening.model.entities import DateBasis, Entity, EntityType
from screening.risk.party import Decision
from screening.store.freshness import SourceAge, publication_day
from screening.store.snapshots import SourceState
from screening.v1 import screening_pb2 as pb

ENTITY_TYPE_PB = {
    EntityType.UNKNOWN: pb.ENTITY_TYPE_UNSPECIFIED,
    EntityType.PERSON: pb.ENTITY_TYPE_PERSON,
    EntityType.ORGANIZATION: pb.ENTITY_TYPE_ORGANIZATION,
    EntityType.VESSEL: pb.ENTITY_TYPE_VESSEL,
    EntityType.AIRCRAFT: pb.ENTITY_TYPE_AIRCRAFT,
}
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
DECISION_NAME = {value: decision.value for decision, value in DECISION_PB.items()}


def timestamp(value: dt.datetime) -> timestamp_pb2.Timestamp:
    ts = timestamp_pb2.Timestamp()
    ts.FromDatetime(value)
    return ts


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
