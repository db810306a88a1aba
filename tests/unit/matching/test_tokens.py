"""Token similarity and transliteration keys (pure logic)."""

from __future__ import annotations

from screening.matching.tokens import token_similarity, translit_key


def test_token_similarity():
    assert token_similarity("abdulhai", "abdulhai") == 1.0
    assert token_similarity("nasrala", "nasrallah") >= 0.75
    assert token_similarity("1", "2") == 0.0
    assert token_similarity("ali", "aly") == 0.92  # same transliteration key
    assert token_similarity("smith", "jones") == 0.0


def test_translit_key_merges_romanisations():
    assert translit_key("yuriy") == translit_key("yuri") == translit_key("iouri")
    assert token_similarity("mohammed", "muhammad") >= 0.75
