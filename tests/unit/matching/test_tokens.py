"""Token similarity and transliteration keys (pure logic)."""

from __future__ import annotations

import random
import re

from screening.matching.tokens import token_similarity, translit_key
from screening.matching.translit import skeleton
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


# The spelling-key and skeleton rules as plain regex passes in order: translit_key and
# skeleton skip a pass where the letters it needs are missing, which must change nothing.
KEY_RULES = [
    (r"(.)\1+", r"\1"),
    (r"dzh|dj|zh", "j"),
    (r"tch|tsch", "ch"),
    (r"hs|sh|x", "s"),
    (r"ts|tz", "z"),
    (r"kh", "h"),
    (r"ph", "f"),
    (r"c(?=e)", "s"),
    (r"ck|q|c(?!h)", "k"),
    (r"w", "v"),
    (r"eo|eu", "u"),
    (r"ou|oo|o", "u"),
    (r"ee|ie|iy|ii|ij|ei|y|e", "i"),
    (r"(?<=[aiu])h\b", ""),
    (r"(.)\1+", r"\1"),
]
SKELETON_RULES = [
    (r"[`'’]", ""),
    (r"th|dh", "t"),
    (r"kh|gh|q|c|k|g", "k"),
    (r"sh|ch|x", "s"),
    (r"ph|v", "f"),
    (r"p", "b"),
    (r"z", "s"),
    (r"d", "t"),
    (r"[aeiouyw]", ""),
    (r"(.)\1+", r"\1"),
]


def _passes(rules: list[tuple[str, str]], word: str) -> str:
    for pattern, repl in rules:
        word = re.sub(pattern, repl, word)
    return word


def test_keys_are_the_rules_applied_in_order():
    rng = random.Random(20261207)
    letters = "abcdefghijklmnopqrstuvwxyz'`’0123456789"
    # Dense in the letters the rules turn on, so that they meet each other often.
    dense = "cdeghijkoqstuvwxyzh'"
    words = ["yuriy", "iouri", "dzhabar", "tschaikovsky", "service", "khodorkovsky", "ali'h"]
    words += ["".join(rng.choices(letters, k=rng.randint(1, 12))) for _ in range(20000)]
    words += ["".join(rng.choices(dense, k=rng.randint(1, 9))) for _ in range(20000)]
    for word in words:
        expected = word if word.isdigit() else _passes(KEY_RULES, word)
        assert translit_key.__wrapped__(word) == expected, word
        for spelled in (word, word.upper()):
            assert skeleton.__wrapped__(spelled) == (
                _passes(SKELETON_RULES, spelled.lower()) or spelled[:1]
            ), spelled
