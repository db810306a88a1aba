"""Token similarity and transliteration keys (pure logic)."""

from __future__ import annotations

from screening.matching.tokens import token_similarity, translit_key
from screening.matching.weights import MIN_TOKEN_SIMILARITY


def test_token_similarity():
    assert token_similarity("abdulhai", "abdulhai") == 1.0
    assert token_similarity("nasrala", "nasrallah") >= 0.75
    assert token_similarity("1", "2") == 0.0
    assert token_similarity("ali", "aly") == 0.92  # same transliteration key
    assert token_similarity("smith", "jones") == 0.0


def test_translit_key_merges_romanisations():
    assert translit_key("yuriy") == translit_key("yuri") == translit_key("iouri")
    assert token_similarity("mohammed", "muhammad") >= 0.75


def test_a_typo_is_a_letter_or_two_however_long_the_word():
    # Two letters off in a long word: a typo.
    assert token_similarity("lindenberg", "lyndenburg") >= 0.8
    assert token_similarity("khurelchukh", "khurelsukh") >= 0.8
    # Three letters off, in spelling and in transliteration key: another word.
    assert token_similarity("maroghashvili", "margoshvili") == 0.0
    assert token_similarity("constructors", "construction") == 0.0
    # Spellings of one sound stay within two letters of key (Alexander / Aleksandr).
    assert token_similarity("alexander", "aleksandr") >= MIN_TOKEN_SIMILARITY
