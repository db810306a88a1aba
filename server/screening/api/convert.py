"""Domain objects -> protobuf messages."""

from __future__ import annotations

import datetime as dt

from google.protobuf import timestamp_pb2

from screening.matching.types import Component, MatchResult
from screening.model.entities import DateBasis, Entity, EntityType
from screening.risk.party import Decision
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
        nationalities=entity.nationalities,
        birth_places=entity.birth_places,
        properties=entity.properties,
        list_version=list_version,
    )
