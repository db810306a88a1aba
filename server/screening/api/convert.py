"""Between protobuf messages and domain objects: every enum map, both ways, and the
domain -> protobuf conversions (requests are parsed and checked in api/validation.py)."""

from __future__ import annotations

import datetime as dt

from google.protobuf import timestamp_pb2

from screening.casework.acceptlist import Counterparty
from screening.matching.engine import MatchResult
from screening.matching.features import Component
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
ENTITY_TYPE_FROM_PB = {value: kind for kind, value in ENTITY_TYPE_PB.items()}
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
