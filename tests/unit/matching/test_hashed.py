"""Lookups held as arrays (hashed.py) answer as the dictionaries they replace."""

from __future__ import annotations

import pickle
import random

import numpy as np
import pytest

from screening.matching.hashed import HashedLookup


def test_answers_as_a_dictionary_of_lists() -> None:
    rng = random.Random(7)
    words = ["".join(rng.choices("abcdefgh", k=rng.randint(1, 6))) for _ in range(3000)]
    pairs = [(word, n) for n, word in enumerate(words)]
    expected: dict[str, list[int]] = {}
    for word, n in pairs:
        expected.setdefault(word, []).append(n)
    lookup = HashedLookup([w for w, _ in pairs], [n for _, n in pairs], np.int32)
    assert len(lookup) == len(pairs)
    for word, ns in expected.items():
        assert lookup.all(word).tolist() == ns  # every value, in the order given
        assert lookup.get(word, -1) == ns[0]
    for absent in ("zzz", "", "abcdefghi"):
        assert lookup.all(absent).size == 0 and lookup.get(absent, -1) == -1
    some = [*sorted(expected)[:40], "zzz"]
    found = sorted(lookup.all_of(some).tolist())
    assert found == sorted(n for w in some for n in expected.get(w, []))
    assert lookup.all_of([]).size == 0
    with pytest.raises(ValueError):
        HashedLookup(["a", "b"], [1], np.int32)


def test_tuple_keys_and_float_values() -> None:
    lookup = HashedLookup([("al", "qaida"), ("hamas",)], [0.25, 1.0], np.float64)
    assert lookup.get(("al", "qaida"), 9.0) == 0.25 and lookup.get(("al",), 9.0) == 9.0


def test_pickles_out_of_band_and_equal() -> None:
    lookup = HashedLookup(["a", "b", "a"], [1, 2, 3], np.int32)
    buffers: list[pickle.PickleBuffer] = []
    again = pickle.loads(
        pickle.dumps(lookup, protocol=5, buffer_callback=buffers.append),
        buffers=[b.raw() for b in buffers],
    )
    assert buffers and again == lookup and again.all("a").tolist() == [1, 3]
