"""Token similarity: how alike two words of two names are, by spelling and by sound.

Edit distance bounded by word length, transliteration keys that merge romanisation
variants (Yuriy / Yuri / Iouri), initials, and consonant skeletons for names written in an
abjad. Pure functions, cached: the same words come back in query after query.
"""

from __future__ import annotations

import functools
import re

from rapidfuzz.distance import OSA, Indel

from screening.matching.weights import (
    INITIAL_SIMILARITY,
    MAX_WORD_EDITS,
    MIN_TOKEN_SIMILARITY,
    SHORT_SKELETON_SIMILARITY,
    SKELETON_SIMILARITY,
    SWAPPED_SHORT_SIMILARITY,
    TRANSLIT_KEY_SIMILARITY,
)

# Marks a token as a consonant skeleton, so that similarity compares it as one.
SKELETON_MARK = "\x00"

_DOUBLED = re.compile(r"(.)\1+")
_J = re.compile(r"dzh|dj|zh")
_CH = re.compile(r"tch|tsch")
_S = re.compile(r"hs|sh|x")
_Z = re.compile(r"ts|tz")
# A soft c before e (English "service", "finance") sounds s: as Cyrillic writes them.
_SOFT_C = re.compile(r"c(?=e)")
_K = re.compile(r"ck|q|c(?!h)")
_EO = re.compile(r"eo|eu")
_O = re.compile(r"ou|oo|o")
_I = re.compile(r"ee|ie|iy|ii|ij|ei|y|e")
_FINAL_H = re.compile(r"(?<=[aiu])h\b")


@functools.lru_cache(maxsize=262144)
def translit_key(token: str) -> str:
    """Spelling key that merges common romanisation variants (Yuriy/Yuri/Iouri,
    Mohammed/Muhammad, Xi/Shi, Tse/Ze): similar keys mean similar pronunciation."""
    if token.isdigit():
        return token
    # The rules in order, each tried only where the letters it needs are (a substring test
    # costs a tenth of a regex pass, and most rules miss most words).
    key = _DOUBLED.sub(r"\1", token)
    if "dj" in key or "zh" in key:
        key = _J.sub("j", key)
    if "tch" in key or "tsch" in key:
        key = _CH.sub("ch", key)
    if "hs" in key or "sh" in key or "x" in key:
        key = _S.sub("s", key)
    if "ts" in key or "tz" in key:
        key = _Z.sub("z", key)
    if "kh" in key:
        key = key.replace("kh", "h")
    if "ph" in key:
        key = key.replace("ph", "f")
    if "c" in key or "q" in key:
        key = _K.sub("k", _SOFT_C.sub("s", key))
    if "w" in key:
        key = key.replace("w", "v")
    if "eo" in key or "eu" in key:
        key = _EO.sub("u", key)
    if "o" in key:
        key = _O.sub("u", key)
    if "e" in key or "i" in key or "y" in key:
        key = _I.sub("i", key)
    if "h" in key:
        key = _FINAL_H.sub("", key)
    return _DOUBLED.sub(r"\1", key)


def max_edits(length: int) -> int:
    """Edits a word of this length may differ by and still be the same word: none in a
    word of three letters, one up to five, then MAX_WORD_EDITS however long."""
    if length <= 3:
        return 0
    if length <= 5:
        return 1
    return MAX_WORD_EDITS


@functools.lru_cache(maxsize=524288)
def token_similarity(a: str, b: str) -> float:
    """0-1 similarity of two tokens. Numbers must be equal; short words nearly so."""
    if a[:1] == SKELETON_MARK == b[:1]:
        return _skeleton_similarity(a[1:], b[1:])
    if a == b:
        return 1.0
    if a.isdigit() or b.isdigit():
        return 0.0
    if len(a) == 1 or len(b) == 1:
        # An initial stands for any word with that first letter.
        return INITIAL_SIMILARITY if a[0] == b[0] else 0.0
    best = 0.0
    limit = max_edits(min(len(a), len(b)))
    if not limit and len(a) == len(b) == 3 and OSA.distance(a, b) == 1 and sorted(a) == sorted(b):
        best = SWAPPED_SHORT_SIMILARITY  # two letters swapped in a short word ("sko" / "sok")
    elif limit:
        dist = OSA.distance(a, b, score_cutoff=limit)
        if dist <= limit:
            best = 1.0 - dist / max(len(a), len(b))
    ka, kb = translit_key(a), translit_key(b)
    if ka == kb:
        best = max(best, TRANSLIT_KEY_SIMILARITY)
    elif len(ka) > 3 and len(kb) > 3:
        klimit = max_edits(min(len(ka), len(kb)))
        kdist = OSA.distance(ka, kb, score_cutoff=klimit) if klimit else 99
        if kdist <= klimit:
            best = max(best, TRANSLIT_KEY_SIMILARITY * (1.0 - kdist / max(len(ka), len(kb))))
    return best if best >= MIN_TOKEN_SIMILARITY else 0.0


def _skeleton_similarity(a: str, b: str) -> float:
    if min(len(a), len(b)) <= 2:
        return SHORT_SKELETON_SIMILARITY if a == b else 0.0
    if a == b:
        return SKELETON_SIMILARITY
    if min(len(a), len(b)) >= 4 and OSA.distance(a, b, score_cutoff=1) <= 1:
        return SKELETON_SIMILARITY * (1.0 - 1.0 / max(len(a), len(b)))
    return 0.0


def glued_similarity(a: str, b: str) -> float:
    """Similarity of two runs of words glued together (spaces and cuts don't count)."""
    if a == b:
        return 1.0
    if min(len(a), len(b)) < 4:
        return 0.0
    return Indel.normalized_similarity(a, b)
