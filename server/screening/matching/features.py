"""Features beyond the name: birth date, country, entity type, identifiers.

Each returns a signed contribution added to the name score, with a detail for the analyst.
The sizes are documented in the README ("What a score means") and must stay stable.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from screening.model.entities import Entity, EntityType, Identifier
from screening.model.identifiers import normalize_identifier

DOB_EXACT = 0.05
DOB_SAME_YEAR = 0.03
DOB_NEAR_YEAR = 0.0  # a year apart is common noise in both lists and requests
DOB_MISMATCH = -0.22
COUNTRY_MATCH = 0.03
COUNTRY_MISMATCH = -0.05
TYPE_MISMATCH = -0.25
IDENTIFIER_DECISIVE = 0.99
IDENTIFIER_CONFLICT = -0.10
WEAK_ALIAS_FACTOR = 0.92

# Identifier schemes that name one party only: an equal value is decisive.
DECISIVE_SCHEMES = frozenset(
    {"imo", "tax_id", "registration", "lei", "swift_bic", "passport", "national_id", "mmsi"}
)
# Schemes that are often confused with each other in the lists' free text.
_SCHEME_FAMILY = {"tax_id": "company_number", "registration": "company_number"}


@dataclass(slots=True)
class Query:
    """A party to screen, as the matcher sees it."""

    names: list[str]
    entity_type: EntityType = EntityType.UNKNOWN
    birth_date: str = ""
    country: str = ""
    identifiers: list[Identifier] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class Component:
    feature: str
    contribution: float
    detail: str


def scheme_family(scheme: str) -> str:
    return _SCHEME_FAMILY.get(scheme, scheme)


def birth_date_component(query_date: str, entity: Entity) -> Component | None:
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


def country_component(country: str, entity: Entity) -> Component | None:
    if not country or not entity.countries:
        return None
    if country in entity.countries:
        return Component("country", COUNTRY_MATCH, f"country {country} is listed")
    return Component(
        "country",
        COUNTRY_MISMATCH,
        f"country {country} not among listed {', '.join(entity.countries[:5])}",
    )


_TYPE_GROUPS = {
    EntityType.PERSON: "person",
    EntityType.ORGANIZATION: "org",
    EntityType.VESSEL: "asset",
    EntityType.AIRCRAFT: "asset",
}


def entity_type_component(query_type: EntityType, entity: Entity) -> Component | None:
    if query_type == EntityType.UNKNOWN or entity.entity_type == EntityType.UNKNOWN:
        return None
    if _TYPE_GROUPS[query_type] == _TYPE_GROUPS[entity.entity_type]:
        return None
    return Component(
        "entity_type",
        TYPE_MISMATCH,
        f"screened as {query_type.value}, listed as {entity.entity_type.value}",
    )


def types_compatible(query_type: EntityType, entity_type: EntityType) -> bool:
    """A person is never a vessel: such pairs are not scored at all."""
    groups = {_TYPE_GROUPS.get(query_type), _TYPE_GROUPS.get(entity_type)}
    return not ({"person", "asset"} <= groups)


def identifier_components(identifiers: list[Identifier], entity: Entity) -> list[Component]:
    """A decisive match (same scheme, same value) or a conflict (same scheme, other value)."""
    if not identifiers or not entity.identifiers:
        return []
    listed: dict[str, set[str]] = {}
    for ident in entity.identifiers:
        listed.setdefault(scheme_family(ident.type), set()).add(normalize_identifier(ident.value))
    out = []
    for ident in identifiers:
        family = scheme_family(ident.type)
        value = normalize_identifier(ident.value)
        if family not in listed or not value:
            continue
        if value in listed[family]:
            if ident.type in DECISIVE_SCHEMES:
                return [Component("identifier", 1.0, f"{ident.type} {ident.value} is listed")]
        else:
            out.append(
                Component(
                    "identifier",
                    IDENTIFIER_CONFLICT,
                    f"{ident.type} {ident.value} differs from the listed one",
                )
            )
    return out[:1]
