"""Every entity of a snapshot in a few arrays: each encoded once (msgpack) and decoded when
asked for, by position or by id. A worker maps the arrays from the host's index file, so the
entries cost it no memory until an answer names them.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Iterator, Mapping

import msgspec
import numpy as np

from screening.model.entities import ENTITY_ENCODER, Entity

_DECODER = msgspec.msgpack.Decoder(Entity)
# Decoded entities a table keeps (cleared when full): the entries that answers name.
CACHED_ENTITIES = 4096


def id_hash(entity_id: str) -> int:
    """A 64-bit hash of an id, the same in every process (str hash() is not)."""
    digest = hashlib.blake2b(entity_id.encode(), digest_size=8).digest()
    return int.from_bytes(digest, "little", signed=True)


def _packed(items: list[bytes]) -> tuple[np.ndarray, np.ndarray]:
    """Byte strings as one byte array and their offsets (count + 1)."""
    offsets = np.zeros(len(items) + 1, dtype=np.int64)
    np.cumsum([len(b) for b in items], out=offsets[1:])
    return np.frombuffer(b"".join(items), dtype=np.uint8), offsets


class EntityTable(Mapping[str, Entity]):
    """Entities by position (the order they were given) and by id."""

    def __init__(self, arrays: Mapping[str, np.ndarray]) -> None:
        self._data = arrays["entity_data"]
        self._offsets = arrays["entity_offsets"]
        self._ids = arrays["entity_ids"]
        self._id_offsets = arrays["entity_id_offsets"]
        self._id_hashes = arrays["entity_id_hashes"]  # sorted
        self._id_order = arrays["entity_id_order"]  # positions, in the order of the hashes
        self._cache: dict[int, Entity] = {}

    @classmethod
    def build(cls, entities: Iterable[Entity]) -> EntityTable:
        return cls(cls.arrays_of(entities))

    @staticmethod
    def arrays_of(entities: Iterable[Entity]) -> dict[str, np.ndarray]:
        listed = list(entities)
        data, offsets = _packed([ENTITY_ENCODER.encode(e) for e in listed])
        ids, id_offsets = _packed([e.id.encode() for e in listed])
        hashes = np.fromiter((id_hash(e.id) for e in listed), dtype=np.int64, count=len(listed))
        order = np.argsort(hashes, kind="stable").astype(np.int32)
        return {
            "entity_data": data,
            "entity_offsets": offsets,
            "entity_ids": ids,
            "entity_id_offsets": id_offsets,
            "entity_id_hashes": hashes[order],
            "entity_id_order": order,
        }

    def arrays(self) -> dict[str, np.ndarray]:
        return {
            "entity_data": self._data,
            "entity_offsets": self._offsets,
            "entity_ids": self._ids,
            "entity_id_offsets": self._id_offsets,
            "entity_id_hashes": self._id_hashes,
            "entity_id_order": self._id_order,
        }

    def __len__(self) -> int:
        return len(self._offsets) - 1

    def entity(self, position: int) -> Entity:
        """The entity at `position` (decoded once, then kept while the cache has room)."""
        found = self._cache.get(position)
        if found is None:
            start, end = int(self._offsets[position]), int(self._offsets[position + 1])
            found = _DECODER.decode(self._data[start:end].data)
            if len(self._cache) >= CACHED_ENTITIES:
                self._cache.clear()
            self._cache[position] = found
        return found

    def entity_id(self, position: int) -> str:
        start, end = int(self._id_offsets[position]), int(self._id_offsets[position + 1])
        return self._ids[start:end].tobytes().decode()

    def position(self, entity_id: str) -> int | None:
        """Where the entity with this id is, or None."""
        key = id_hash(entity_id)
        at = int(np.searchsorted(self._id_hashes, key))
        while at < len(self._id_hashes) and self._id_hashes[at] == key:
            position = int(self._id_order[at])
            if self.entity_id(position) == entity_id:
                return position
            at += 1
        return None

    def __getitem__(self, entity_id: str) -> Entity:
        position = self.position(entity_id)
        if position is None:
            raise KeyError(entity_id)
        return self.entity(position)

    def __contains__(self, entity_id: object) -> bool:
        return isinstance(entity_id, str) and self.position(entity_id) is not None

    def __iter__(self) -> Iterator[str]:
        return (self.entity_id(i) for i in range(len(self)))

    def all(self) -> Iterator[Entity]:
        """Every entity in order, decoded afresh (not kept)."""
        for i in range(len(self)):
            start, end = int(self._offsets[i]), int(self._offsets[i + 1])
            yield _DECODER.decode(self._data[start:end].data)
