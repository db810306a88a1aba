"""The features beside the name: what they may add bounds which name scores are scored."""

from __future__ import annotations

import itertools

from screening.matching.features import DECISIVE, FEATURES, best_gain
from screening.matching.types import Query
from screening.model.entities import Entity, EntityType, Identifier

BIRTH_DATES = ["", "1958", "1958-04", "1958-04-17", "1959-04-17", "1970-01-01"]
COUNTRIES = ["", "AF", "RU"]
IDENTIFIERS = [[], [Identifier("tax_id", "7743237789", "RU")], [Identifier("imo", "7406784")]]
KINDS = [EntityType.PERSON, EntityType.ORGANIZATION, EntityType.VESSEL, EntityType.UNKNOWN]


def listed(n: int, kind: EntityType, birth: str, country: str, ids: list[Identifier]) -> Entity:
    return Entity(
        id=f"t:{n}",
        source="t",
        source_ref=str(n),
        entity_type=kind,
        name="ANY NAME",
        birth_dates=[birth] if birth else [],
        countries=[country, "IR"] if country else [],
        identifiers=ids,
    )


def test_best_gain_bounds_what_the_features_add() -> None:
    """Whatever the listed party, the non-decisive features add no more than best_gain:
    the matcher leaves unscored a name that could not reach min_score with it."""
    entities = [
        listed(n, kind, birth, country, ids)
        for n, (kind, birth, country, ids) in enumerate(
            itertools.product(KINDS, BIRTH_DATES, COUNTRIES, IDENTIFIERS)
        )
    ]
    gains_seen = set()
    for kind, birth, country, ids in itertools.product(KINDS, BIRTH_DATES, COUNTRIES, IDENTIFIERS):
        query = Query(["ANY NAME"], kind, birth, country, list(ids))
        bound = best_gain(query)
        for entity in entities:
            components = [c for f in FEATURES if (c := f(query, entity)) is not None]
            added = sum(c.contribution for c in components if c.contribution < DECISIVE)
            assert added <= bound + 1e-12, (query, entity, components)
            gains_seen.add(round(added, 6))
    # The bound is reached: the same day of birth and a listed country.
    assert round(max(gains_seen), 6) == round(
        best_gain(Query(["x"], birth_date="1958-04-17", country="AF")), 6
    )
