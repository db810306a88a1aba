"""The entity table (model/entity_table.py): entities encoded once, decoded by position or id."""

from __future__ import annotations

from screening.model.entities import Entity, EntityType, Name
from screening.model.entity_table import EntityTable


def _entities(count: int) -> list[Entity]:
    return [
        Entity(
            id=f"src:{n}",
            source="src",
            source_ref=str(n),
            entity_type=EntityType.PERSON if n % 2 else EntityType.ORGANIZATION,
            name=f"Name {n} Мухаммад",
            aliases=[Name(f"Alias {n}")],
            birth_dates=["1970-01-0" + str(n % 9 + 1)],
        )
        for n in range(count)
    ]


def test_by_position_and_by_id():
    entities = _entities(50)
    table = EntityTable.build(entities)
    assert len(table) == 50
    for n, entity in enumerate(entities):
        assert table.entity(n) == entity
        assert table[entity.id] == entity
        assert table.position(entity.id) == n
        assert entity.id in table
    assert table.get("src:50") is None
    assert "other:1" not in table
    assert list(table) == [e.id for e in entities]
    assert list(table.all()) == entities


def test_rebuilt_from_its_arrays():
    entities = _entities(10)
    again = EntityTable(EntityTable.build(entities).arrays())
    assert [again.entity(n) for n in range(10)] == entities
    assert again["src:7"].name == "Name 7 Мухаммад"


def test_empty():
    table = EntityTable.build([])
    assert len(table) == 0
    assert table.get("src:1") is None
    assert list(table) == []
