"""Every entity of a snapshot held encoded (model/packed.py), and by id.

A worker reads about one entity per screening (the candidates whose names score high enough,
and the matches it answers with); held as Python objects, the entities of the shared lists
cost a worker 74 MB, four times their encoded bytes. Decoding one takes about 2 microseconds.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence

import msgspec

from screening.model.entities import Entity
from screening.model.packed import PackedSequence

_DECODER = msgspec.msgpack.Decoder(Entity)


class EntityTable(PackedSequence[Entity]):
    """Entities by position, each encoded by ENTITY_ENCODER."""

    @staticmethod
    def decode(data: memoryview) -> Entity:
        return _DECODER.decode(data)


class EntitiesById(Mapping[str, Entity]):
    """The entities of a table by id (`position`: an id's place in the table, or None)."""

    def __init__(self, table: Sequence[Entity], position: Callable[[str], int | None]) -> None:
        self._table = table
        self._position = position

    def __getitem__(self, entity_id: str) -> Entity:
        at = self._position(entity_id)
        if at is None:
            raise KeyError(entity_id)
        return self._table[at]

    def __iter__(self) -> Iterator[str]:
        return (entity.id for entity in self._table)

    def __len__(self) -> int:
        return len(self._table)

    def __contains__(self, entity_id: object) -> bool:
        return isinstance(entity_id, str) and self._position(entity_id) is not None
