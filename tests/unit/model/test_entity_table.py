"""Entities held encoded (entity_table.py, packed.py): read back by position and by id,
equal to what was put in, however the table was pickled."""

from __future__ import annotations

import pickle

import pytest

from screening.model.entities import (
    ENTITY_ENCODER,
    Address,
    DateBasis,
    Entity,
    EntityType,
    Identifier,
    Name,
)
from screening.model.entity_table import EntitiesById, EntityTable

ENTITIES = [
    Entity(
        id="un:1",
        source="un",
        source_ref="1",
        entity_type=EntityType.PERSON,
        name="Ahmed Hassan",
        aliases=[Name("Ahmad Hasan", "aka", "weak")],
        birth_dates=["1970-01"],
        addresses=[Address(city="Damascus", country="SY")],
        identifiers=[Identifier("passport", "N123456", "SY")],
        designation_date="2020-02-02",
        designation_date_basis=DateBasis.OFFICIAL,
    ),
    Entity(
        id="ofac-sdn:2",
        source="ofac-sdn",
        source_ref="2",
        entity_type=EntityType.VESSEL,
        name="ROCKY RUNNER",
        properties={"imo": "9999999"},
        related=["un:1"],
    ),
    Entity(id="eu:3", source="eu", source_ref="3", entity_type=EntityType.UNKNOWN, name="Ω"),
]


def _table() -> EntityTable:
    return EntityTable.join([ENTITY_ENCODER.encode(entity) for entity in ENTITIES])


def test_by_position() -> None:
    table = _table()
    assert len(table) == 3 and list(table) == ENTITIES
    assert table[1] == ENTITIES[1] and table[-1] == ENTITIES[-1]
    with pytest.raises(IndexError):
        table[3]


def test_by_id() -> None:
    positions = {e.id: i for i, e in enumerate(ENTITIES)}
    by_id = EntitiesById(_table(), positions.get)
    assert len(by_id) == 3 and "eu:3" in by_id and "eu:4" not in by_id
    assert by_id["ofac-sdn:2"] == ENTITIES[1]
    assert by_id.get("nope") is None
    assert list(by_id.values()) == ENTITIES


@pytest.mark.parametrize("protocol", [4, 5])
def test_pickled(protocol: int) -> None:
    table = _table()
    buffers: list[pickle.PickleBuffer] = []
    callback = buffers.append if protocol == 5 else None
    stream = pickle.dumps(table, protocol=protocol, buffer_callback=callback)
    assert bool(buffers) == (protocol == 5)
    # Out-of-band buffers read-only, as a mapped file gives them.
    again = pickle.loads(stream, buffers=[memoryview(bytes(b.raw())) for b in buffers])
    assert again == table and list(again) == ENTITIES
