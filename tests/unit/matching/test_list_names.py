"""A name copied from a list, as listed, finds its own entry at the alert threshold: the
candidate search always scores the same name, however many others it rates as high."""

from __future__ import annotations

from screening.matching.matcher import MatchIndex
from screening.matching.types import Query
from screening.model.entities import Entity

STRIDE = 97


def test_every_sampled_list_name_finds_its_own_entry(
    list_index: MatchIndex, list_entities: list[Entity]
):
    names = [(e, n.full) for e in sorted(list_entities, key=lambda e: e.id) for n in e.all_names()]
    missed = []
    for entity, name in names[::STRIDE]:
        found = {r.entity.id for r in list_index.screen(Query([name], entity.entity_type), limit=0)}
        if entity.id not in found:
            missed.append((entity.id, name))
    assert len(names[::STRIDE]) > 500
    assert not missed, missed[:10]
