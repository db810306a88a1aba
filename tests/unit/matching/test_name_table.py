"""Listed names held encoded (name_table.py): every field of every kind of prepared name
comes back as it was, by position, however the table was pickled."""

from __future__ import annotations

import pickle

import pytest

from screening.matching.matcher import MatchIndex
from screening.matching.name_table import NameTable, encode_name
from screening.matching.names import PreparedName, prepare_name
from screening.model.entities import EntityType

NAMES = [
    ("Ahmed Hassan Al-Masri", EntityType.PERSON),
    ("李志强", EntityType.PERSON),  # read as family and given names: a structure
    ("Kim Jong Un", EntityType.PERSON),
    ("محمد بن سلمان", EntityType.PERSON),
    ("Владимир Путин", EntityType.PERSON),
    ("OOO Aurus Trading LLC", EntityType.ORGANIZATION),
    ("IRISL", EntityType.ORGANIZATION),  # short
    ("ROCKY RUNNER", EntityType.VESSEL),
    ("", EntityType.UNKNOWN),
]


def _weight(token: str) -> float:
    return 0.25 + len(token) / 40


@pytest.fixture(scope="module")
def prepared() -> list[PreparedName]:
    names = [prepare_name(text, kind, _weight) for text, kind in NAMES]
    assert any(name.structure for name in names), "no name with a structure to test"
    assert any(name.forms for name in names) and any(name.short for name in names)
    assert any(name.native for name in names)
    return names


def test_every_field_comes_back(prepared: list[PreparedName]) -> None:
    table = NameTable.join([encode_name(name) for name in prepared])
    assert len(table) == len(prepared)
    assert list(table) == prepared
    assert [table[i] for i in range(len(prepared))] == prepared
    assert table[-1] == prepared[-1] and table[1:3] == prepared[1:3]
    with pytest.raises(IndexError):
        table[len(prepared)]


@pytest.mark.parametrize("protocol", [4, 5])
def test_pickled_in_band_or_out_of_band(prepared: list[PreparedName], protocol: int) -> None:
    table = NameTable.join([encode_name(name) for name in prepared])
    buffers: list[pickle.PickleBuffer] = []
    callback = buffers.append if protocol == 5 else None
    stream = pickle.dumps(table, protocol=protocol, buffer_callback=callback)
    if protocol == 5:
        assert buffers, "the names' buffer was not taken out of band"
        assert len(stream) < 1000
    again = pickle.loads(stream, buffers=[b.raw() for b in buffers])
    assert again == table and list(again) == prepared


def test_positions_of_a_built_index(list_index: MatchIndex) -> None:
    """The table of a built index holds each name where the index's lookups point."""
    index = list_index.candidates
    assert isinstance(index.names, NameTable)
    assert len(index.names) == index.name_count > 10_000
    for n in range(0, len(index.names), 97):
        name = index.names[n]
        assert n in index._by_tokens.all(name.tokens).tolist()
        assert name.total == pytest.approx(float(index.name_total[n]), rel=1e-6)
