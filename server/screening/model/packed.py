"""A read-only sequence held encoded: one buffer and the offsets of its items, each decoded
when it is read.

For what an index holds by the hundred thousand and reads a few times a screening (listed
entities, prepared listed names): as Python objects they cost several times their encoded
bytes in every worker. The buffer and offsets pickle out of band (pickle protocol 5): an
index file keeps them apart from the pickle stream, and the workers of a host map them
read-only from the file, one copy in memory for all of them (index/files.py).
"""

from __future__ import annotations

import pickle
from collections.abc import Iterator, Sequence
from typing import Self, SupportsIndex, TypeVar, overload

import numpy as np

T = TypeVar("T")


class PackedSequence(Sequence[T]):
    """Items by position, decoded on each read by `decode` (a subclass's)."""

    def __init__(self, blob: bytes | memoryview, offsets: np.ndarray) -> None:
        """`offsets`: len + 1 positions in `blob`; item i is blob[offsets[i]:offsets[i+1]]."""
        self._blob = memoryview(blob).cast("B")
        self._offsets = offsets
        self._bounds: list[int] = offsets.tolist()

    @classmethod
    def join(cls, encoded: Sequence[bytes]) -> Self:
        """The sequence of items encoded one by one."""
        offsets = np.zeros(len(encoded) + 1, dtype=np.int64)
        np.cumsum([len(e) for e in encoded], out=offsets[1:])
        return cls(b"".join(encoded), offsets)

    @staticmethod
    def decode(data: memoryview) -> T:
        raise NotImplementedError

    def __len__(self) -> int:
        return len(self._bounds) - 1

    @overload
    def __getitem__(self, position: int) -> T: ...
    @overload
    def __getitem__(self, position: slice) -> list[T]: ...
    def __getitem__(self, position: int | slice) -> T | list[T]:
        if position.__class__ is int and position >= 0:
            # The hot path (a candidate's name): past the end, bounds[position + 1] raises.
            bounds = self._bounds
            return self.decode(self._blob[bounds[position] : bounds[position + 1]])
        if isinstance(position, slice):
            return [self[i] for i in range(*position.indices(len(self)))]
        if not -len(self) <= position < 0:
            raise IndexError(position)
        return self[position + len(self)]

    def __iter__(self) -> Iterator[T]:
        blob, bounds, decode = self._blob, self._bounds, self.decode
        for i in range(len(bounds) - 1):
            yield decode(blob[bounds[i] : bounds[i + 1]])

    def __eq__(self, other: object) -> bool:
        if type(other) is type(self):
            assert isinstance(other, PackedSequence)
            return self._bounds == other._bounds and self._blob == other._blob
        return NotImplemented

    __hash__ = None  # type: ignore[assignment]

    def __reduce_ex__(self, protocol: SupportsIndex) -> tuple[object, ...]:
        # The buffer as a PickleBuffer: out of band where the pickler takes buffers apart.
        blob = pickle.PickleBuffer(self._blob) if int(protocol) >= 5 else bytes(self._blob)
        return (type(self), (blob, self._offsets))


class StrTable(PackedSequence[str]):
    """Strings by position, each encoded as UTF-8."""

    @staticmethod
    def decode(data: memoryview) -> str:
        return str(data, "utf-8")

    @classmethod
    def of(cls, strings: Sequence[str]) -> StrTable:
        return cls.join([s.encode() for s in strings])
