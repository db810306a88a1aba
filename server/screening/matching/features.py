"""Features beyond the name: birth date, country, entity type, identifiers.

Each feature is a pure function of (query, entity) that returns a signed contribution to
add to the name score, with a detail for the analyst, or None when it has nothing to say.
The scorer loops over FEATURES; the sizes live in weights.py.
"""

from __future__ import annotations

from collections.abc import Callable

from screening.matching.types import Component, Query
from screening.matching.weights import (
    COUNTRY_MATCH,
    COUNTRY_MISMATCH,
    DOB_EXACT,
    DOB_MISMATCH,
    DOB_NEAR_YEAR,
    DOB_SAME_YEAR,
    IDENTIFIER_CONFLICT,
    TYPE_MISMATCH,
)
from screening.model.entities import Entity, EntityType, Identifier, type_group
from screening.model.identifiers import identifier_forms

# Identifier schemes that name one party only: an equal value is decisive.
DECISIVE_SCHEMES = frozenset(
    {"imo", "tax_id", "registration", "lei", "swift_bic", "passport", "national_id", "mmsi"}
)
# Schemes that are often confused with each other in the lists' free text.
_SCHEME_FAMILY = {"tax_id": "company_number", "registration": "company_number"}
# The contribution that marks an identifier match as decisive (see scoring.score_pair).
DECISIVE = 1.0


def scheme_family(scheme: str) -> str:
    """Schemes the lists confuse with each other compare as one (tax id, registration)."""
    return _SCHEME_FAMILY.get(scheme, scheme)


def birth_date(query: Query, entity: Entity) -> Component | None:
    """Birth date: the same day or year adds a little; a year apart says nothing (common
    noise in lists and requests); further apart costs much, as it names another person."""
    query_date = query.birth_date
    if not query_date or not entity.birth_dates:
        return None
    q_year = query_date[:4]
    best: Component | None = None
    for listed in entity.birth_dates:
        if len(query_date) == 10 and query_date == listed:
            return Component("birth_date", DOB_EXACT, f"birth date {query_date} = listed {listed}")
        if listed[:4] == q_year and _compatible(query_date, listed):
            best = Component("birth_date", DOB_SAME_YEAR, f"birth year {q_year} = listed {listed}")
        elif best is None or best.contribution < DOB_NEAR_YEAR:
            try:
                gap = abs(int(listed[:4]) - int(q_year))
            except ValueError:
                continue
            if gap <= 1:
                best = Component(
                    "birth_date", DOB_NEAR_YEAR, f"birth year {q_year} ~ listed {listed}"
                )
            elif best is None:
                best = Component(
                    "birth_date",
                    DOB_MISMATCH,
                    f"birth date {query_date} differs from listed {', '.join(entity.birth_dates)}",
                )
    return best


def _compatible(a: str, b: str) -> bool:
    """Same date at the precision both sides have (1965-04 vs 1965-04-17 agree)."""
    n = min(len(a), len(b))
    return a[:n] == b[:n]


def country(query: Query, entity: Entity) -> Component | None:
    """Country: one of the entry's countries adds a little, another costs a little."""
    if not query.country or not entity.countries:
        return None
    if query.country in entity.countries:
        return Component("country", COUNTRY_MATCH, f"country {query.country} is listed")
    return Component(
        "country",
        COUNTRY_MISMATCH,
        f"country {query.country} not among listed {', '.join(entity.countries[:5])}",
    )


def entity_type(query: Query, entity: Entity) -> Component | None:
    """Kind of party: a person screened against an organisation (or the reverse) costs."""
    if query.entity_type == EntityType.UNKNOWN or entity.entity_type == EntityType.UNKNOWN:
        return None
    if type_group(query.entity_type) == type_group(entity.entity_type):
        return None
    return Component(
        "entity_type",
        TYPE_MISMATCH,
        f"screened as {query.entity_type.value}, listed as {entity.entity_type.value}",
    )


def types_compatible(query_type: EntityType, entity_type: EntityType) -> bool:
    """A person is never a vessel or an aircraft: such pairs are not scored at all."""
    return {type_group(query_type), type_group(entity_type)} != {
        EntityType.PERSON,
        EntityType.VESSEL,
    }


def listed_identifier_forms(ident: Identifier, entity: Entity) -> set[str]:
    """The forms of a list entry's identifier (model/identifiers.py)."""
    return identifier_forms(ident.value, ident.type, (ident.country, *entity.countries))


def query_identifier_forms(ident: Identifier, country: str = "") -> set[str]:
    """The forms of a screened party's identifier (model/identifiers.py)."""
    return identifier_forms(ident.value, ident.type, (ident.country, country))


def identifier(query: Query, entity: Entity) -> Component | None:
    """Identifiers: the same value in a scheme that names one party is decisive; another
    value in a scheme both sides hold is a conflict. Values are compared in every form they
    may be written in: spaces, dashes, leading zeros and country prefixes do not count."""
    if not query.identifiers or not entity.identifiers:
        return None
    listed: dict[str, set[str]] = {}
    for ident in entity.identifiers:
        family_forms = listed.setdefault(scheme_family(ident.type), set())
        family_forms.update(listed_identifier_forms(ident, entity))
    conflict: Component | None = None
    for ident in query.identifiers:
        family = scheme_family(ident.type)
        forms = query_identifier_forms(ident, query.country)
        if family not in listed or not forms:
            continue
        if forms & listed[family]:
            if ident.type in DECISIVE_SCHEMES:
                return Component("identifier", DECISIVE, f"{ident.type} {ident.value} is listed")
        elif conflict is None:
            conflict = Component(
                "identifier",
                IDENTIFIER_CONFLICT,
                f"{ident.type} {ident.value} differs from the listed one",
            )
    return conflict


def best_gain(query: Query) -> float:
    """The most the features can add to a name score for this query, decisive identifiers
    aside (they lift the score to IDENTIFIER_DECISIVE whatever the name): the same birth
    date and a listed country; the entity type and a conflicting identifier only cost."""
    return (DOB_EXACT if query.birth_date else 0.0) + (COUNTRY_MATCH if query.country else 0.0)


Feature = Callable[[Query, Entity], Component | None]
# Scored in this order after the name; the order is the order of the explanation.
FEATURES: tuple[Feature, ...] = (birth_date, country, entity_type, identifier)
