"""The shipped reference weights: common names weigh little, rare words are absent."""

from __future__ import annotations

from screening.harness.reference_weights import KEEP_BELOW, name_weight
from screening.matching.reference import NAME_RANK_RARE, reference_weights


def test_common_names_weigh_little_and_rare_words_are_absent():
    table = reference_weights({"john", "kim", "mohammed", "salazar", "aurus", "gazprombank"})
    assert table["john"] < 0.2 and table["kim"] < 0.2 and table["mohammed"] < 0.2
    assert table["john"] < table["salazar"] < KEEP_BELOW
    assert "aurus" not in table and "gazprombank" not in table


def test_file_form():
    table = reference_weights()
    assert len(table) > 50_000
    assert all(0.0 <= w < KEEP_BELOW for w in table.values())
    assert list(table) == sorted(table)


def test_weight_scale():
    assert name_weight(1) < 0.1
    assert name_weight(NAME_RANK_RARE) == 1.0
    assert name_weight(10) < name_weight(100) < name_weight(1000) < 1.0
