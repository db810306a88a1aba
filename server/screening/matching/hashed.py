"""Lookups held as arrays: keys by their hash, sorted, beside a value for each.

For the index's large lookups (listed names by their words, words by their consonant
skeleton, reference weights): as dictionaries they cost every worker tens of megabytes of
small objects; as arrays they are mapped from the index file and shared (model/packed.py).
A key is found by its str/tuple hash, which the processes of a host share (PYTHONHASHSEED,
index/files.py), as the word-variant keys of the candidate search already are. Two keys
with one 64-bit hash are not told apart: every use here either checks what it finds (a
candidate is scored exactly) or reads a weight, for which a collision, about one chance in
10^14 per lookup, would cost one word's weight.
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable

import numpy as np


class HashedLookup:
    """Key -> values (several per key, in the order given), as sorted hashes and values."""

    def __init__(self, keys: Iterable[Hashable], values: Iterable[float], dtype: type) -> None:
        """`values[i]` is a value of `keys[i]`."""
        hashes = np.fromiter(map(hash, keys), dtype=np.int64)
        held: np.ndarray = np.fromiter(values, dtype=dtype)
        if hashes.size != held.size:
            raise ValueError(f"{hashes.size} keys for {held.size} values")
        order = np.argsort(hashes, kind="stable")
        self.hashes: np.ndarray = hashes[order]
        self.values: np.ndarray = held[order]

    def __len__(self) -> int:
        return int(self.hashes.size)

    def _span(self, key: Hashable) -> tuple[int, int]:
        """Where `key`'s values are (empty if none)."""
        h = hash(key)
        lo = int(self.hashes.searchsorted(h))
        hi = lo
        while hi < self.hashes.size and self.hashes[hi] == h:
            hi += 1
        return lo, hi

    def all(self, key: Hashable) -> np.ndarray:
        """Every value of `key` (empty if none)."""
        lo, hi = self._span(key)
        return self.values[lo:hi]

    def all_of(self, keys: Iterable[Hashable]) -> np.ndarray:
        """Every value of any of `keys`, in one search."""
        wanted = np.fromiter((hash(k) for k in keys), dtype=np.int64)
        lo = self.hashes.searchsorted(wanted, side="left")
        hi = self.hashes.searchsorted(wanted, side="right")
        spans = [self.values[a:b] for a, b in zip(lo.tolist(), hi.tolist(), strict=True) if b > a]
        return np.concatenate(spans) if spans else self.values[:0]

    def get(self, key: Hashable, default: float) -> float:
        """The first value of `key`, or `default`."""
        lo, hi = self._span(key)
        return float(self.values[lo]) if hi > lo else default

    def __contains__(self, key: object) -> bool:
        lo, hi = self._span(key)
        return hi > lo

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, HashedLookup):
            return NotImplemented
        return np.array_equal(self.hashes, other.hashes) and np.array_equal(
            self.values, other.values
        )

    __hash__ = None  # type: ignore[assignment]
