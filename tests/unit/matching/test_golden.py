"""Golden scores: a fixed set of queries built from real list names, whose results must
stay identical through refactoring. A change of method that moves scores on purpose
regenerates the file (`UPDATE_GOLDEN=1 pytest tests/unit/matching/test_golden.py`) and says
so in its commit; the diff then shows which results moved.

The queries are list names (never evaluation rows) rewritten by fixed rules: as listed,
words reversed, one word dropped, one letter doubled, with the entry's own birth date and
country or with other ones, plus CompareParties pairs of list names.
"""

from __future__ import annotations

import itertools
import json
import os
from pathlib import Path
from typing import Any

from screening.matching.matcher import MatchIndex
from screening.matching.types import Query
from screening.model.entities import Entity, EntityType

GOLDEN = Path(__file__).with_name("golden_scores.json")
# Every n-th entry (by id) of every list gives a query: a few hundred in all.
STRIDE = 211
MIN_SCORE = 0.5


def _rewrites(name: str) -> list[tuple[str, str]]:
    words = name.split()
    out = [("as listed", name)]
    if len(words) > 1:
        out.append(("reversed", " ".join(reversed(words))))
        out.append(("last word dropped", " ".join(words[:-1])))
    longest = max(words, key=len) if words else ""
    if len(longest) > 3:
        doubled = longest[:2] + longest[1] + longest[2:]
        out.append(("letter doubled", name.replace(longest, doubled, 1)))
    return out


def golden_queries(entities: list[Entity]) -> list[tuple[str, Query]]:
    chosen = sorted(entities, key=lambda e: e.id)[::STRIDE]
    queries: list[tuple[str, Query]] = []
    for entity in chosen:
        for rule, text in _rewrites(entity.name):
            queries.append((f"{entity.id} {rule}", Query([text], entity.entity_type)))
        birth = entity.birth_dates[0] if entity.birth_dates else ""
        country = entity.countries[0] if entity.countries else ""
        if birth or country:
            queries.append(
                (
                    f"{entity.id} with its details",
                    Query([entity.name], entity.entity_type, birth, country),
                )
            )
            queries.append(
                (
                    f"{entity.id} with other details",
                    Query(
                        [entity.name],
                        entity.entity_type,
                        "1901-01-01" if birth else "",
                        "NZ" if country and country != "NZ" else "",
                    ),
                )
            )
        for alias in entity.aliases[:2]:
            queries.append((f"{entity.id} alias", Query([alias.full], EntityType.UNKNOWN)))
    return queries


def golden_pairs(entities: list[Entity]) -> list[tuple[str, Query, Query]]:
    chosen = sorted(entities, key=lambda e: e.id)[STRIDE // 2 :: STRIDE]
    pairs = []
    for a, b in itertools.pairwise(chosen):
        pairs.append((f"{a.id} ~ {b.id}", Query([a.name], a.entity_type), Query([b.name])))
        for alias in a.aliases[:1]:
            pairs.append((f"{a.id} ~ alias", Query([a.name], a.entity_type), Query([alias.full])))
    return pairs


def compute(index: MatchIndex, entities: list[Entity]) -> dict[str, Any]:
    screened = {}
    for label, query in golden_queries(entities):
        results = index.screen(query, min_score=MIN_SCORE, limit=5)
        screened[label] = [
            [r.entity.id, r.score, [[c.feature, c.contribution] for c in r.components]]
            for r in results
        ]
    compared = {}
    for label, left, right in golden_pairs(entities):
        score, components = index.compare(left, right)
        compared[label] = [round(score, 4), [[c.feature, c.contribution] for c in components]]
    return {"screen": screened, "compare": compared}


def test_scores_equal_the_golden_file(list_index: MatchIndex, list_entities: list[Entity]):
    got = json.loads(json.dumps(compute(list_index, list_entities)))
    if os.environ.get("UPDATE_GOLDEN"):
        GOLDEN.write_text(json.dumps(got, indent=1, ensure_ascii=False, sort_keys=True) + "\n")
    want = json.loads(GOLDEN.read_text())
    assert len(want["screen"]) > 300 and len(want["compare"]) > 100
    moved = [k for k in want["screen"] if got["screen"].get(k) != want["screen"][k]]
    moved += [k for k in want["compare"] if got["compare"].get(k) != want["compare"][k]]
    assert not moved, f"{len(moved)} results moved, e.g. {moved[:5]}"
    assert got.keys() == want.keys()
    assert got["screen"].keys() == want["screen"].keys()
