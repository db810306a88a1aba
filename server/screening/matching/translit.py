"""Scripts and transliteration: any name to Latin letters, in the forms the lists use.

- Most scripts: anyascii (Cyrillic -> "Yuriy", Greek, Chinese -> pinyin, Devanagari...).
  Spelling variants between romanisation systems (Yuriy / Yuri / Iouri) are merged later by
  the transliteration key of names.py.
- Hangul: two romanisations, because South Korean names are listed in Revised Romanization
  ("Gim Jeong Eun") and North Korean names in the McCune-Reischauer style the DPRK uses
  ("Kim Jong Un"). Syllables become separate words, as the lists write them.
- Arabic, Persian, Hebrew (abjads) write few vowels, so their transliteration ("mhmd",
  "frnndw") is compared with Latin names through a consonant skeleton (see `skeleton`).
"""

from __future__ import annotations

import functools
import re
import unicodedata

from anyascii import anyascii

LATIN = "latin"
ABJAD = "abjad"  # Arabic, Persian, Urdu, Hebrew scripts

_SCRIPT_RANGES = [
    (0x0370, 0x03FF, "greek"),
    (0x0400, 0x052F, "cyrillic"),
    (0x0530, 0x058F, "armenian"),
    (0x0590, 0x05FF, ABJAD),
    (0x0600, 0x06FF, ABJAD),
    (0x0750, 0x077F, ABJAD),
    (0x08A0, 0x08FF, ABJAD),
    (0x0900, 0x097F, "devanagari"),
    (0x0E00, 0x0E7F, "thai"),
    (0x10A0, 0x10FF, "georgian"),
    (0x1100, 0x11FF, "hangul"),
    (0x1200, 0x139F, "ethiopic"),
    (0x1780, 0x17FF, "khmer"),
    (0x3040, 0x30FF, "kana"),
    (0x3130, 0x318F, "hangul"),
    (0x3400, 0x9FFF, "han"),
    (0xAC00, 0xD7AF, "hangul"),
    (0xFB1D, 0xFB4F, ABJAD),
    (0xFB50, 0xFDFF, ABJAD),
    (0xFE70, 0xFEFF, ABJAD),
]


@functools.lru_cache(maxsize=65536)
def script_of(text: str) -> str:
    """The script most letters of `text` are written in ('latin' for ASCII and accents)."""
    if text.isascii():
        return LATIN
    counts: dict[str, int] = {}
    for ch in text:
        if not ch.isalpha():
            continue
        code = ord(ch)
        script = LATIN if code < 0x0370 else "other"
        for lo, hi, name in _SCRIPT_RANGES:
            if lo <= code <= hi:
                script = name
                break
        counts[script] = counts.get(script, 0) + 1
    return max(counts, key=lambda k: counts[k]) if counts else LATIN


@functools.lru_cache(maxsize=65536)
def to_latin(text: str) -> str:
    """The main Latin form of a name in any script."""
    if text.isascii():
        return text
    if script_of(text) == "hangul":
        return hangul_to_latin(text, dprk=False)
    return anyascii(text)


def latin_variants(text: str) -> list[str]:
    """Every Latin form worth screening: the main one, plus the McCune-Reischauer (DPRK)
    form of a Korean name."""
    main = to_latin(text)
    if not text.isascii() and script_of(text) == "hangul":
        dprk = hangul_to_latin(text, dprk=True)
        if dprk != main:
            return [main, dprk]
    return [main]


# Hangul jamo, Revised Romanization, and the DPRK's McCune-Reischauer style without breves.
_INITIALS_RR = "g kk n d tt r m b pp s ss _ j jj ch k t p h".split()
_INITIALS_MR = "k kk n t tt r m p pp s ss _ j jj ch k t p h".split()
_MEDIALS_RR = "a ae ya yae eo e yeo ye o wa wae oe yo u wo we wi yu eu ui i".split()
_MEDIALS_MR = "a ae ya yae o e yo ye o wa wae oe yo u wo we wi yu u ui i".split()
_FINALS = " k k ks n nj nh t l lk lm lb ls lt lp lh m p ps t t ng t t k t p t".split(" ")


def hangul_to_latin(text: str, *, dprk: bool) -> str:
    """Romanise Hangul syllable by syllable, each syllable a word ("Kim Jong Un")."""
    initials = _INITIALS_MR if dprk else _INITIALS_RR
    medials = _MEDIALS_MR if dprk else _MEDIALS_RR
    out: list[str] = []
    for ch in text:
        code = ord(ch) - 0xAC00
        if 0 <= code < 11172:
            initial, rest = divmod(code, 588)
            medial, final = divmod(rest, 28)
            lead = initials[initial].replace("_", "")
            if dprk and initial == 5 and not out:
                lead = "r"  # DPRK keeps an initial r: Ri, Ryu
            out.append(" " + lead + medials[medial] + _FINALS[final])
        else:
            out.append(anyascii(ch) if not ch.isspace() else " ")
    return " ".join("".join(out).split())


# Consonant skeleton: what an abjad spelling and a Latin spelling of one name share.
_APOSTROPHES = re.compile(r"[`'’]")
_T = re.compile(r"th|dh")
_K = re.compile(r"kh|gh|q|c|k|g")
_S = re.compile(r"sh|ch|x")
_F = re.compile(r"ph|v")
_DOUBLED = re.compile(r"(.)\1+")
_NO_VOWELS = str.maketrans("", "", "aeiouyw")


@functools.lru_cache(maxsize=262144)
def skeleton(token: str) -> str:
    """Consonants only, with sounds the scripts spell differently merged: 'fernando' and
    'frnndw' both give 'frnnt' -> 'frnt'; 'mohammed' and 'mhmd' give 'mhmt'."""
    # The rules in order, each tried only where the letters it needs are.
    key = token.lower()
    if "`" in key or "'" in key or "’" in key:
        key = _APOSTROPHES.sub("", key)
    if "th" in key or "dh" in key:
        key = _T.sub("t", key)
    if "q" in key or "c" in key or "k" in key or "g" in key:
        key = _K.sub("k", key)
    if "sh" in key or "ch" in key or "x" in key:
        key = _S.sub("s", key)
    if "ph" in key or "v" in key:
        key = _F.sub("f", key)
    key = key.replace("p", "b").replace("z", "s").replace("d", "t").translate(_NO_VOWELS)
    key = _DOUBLED.sub(r"\1", key)
    return key or token[:1]


def native_words(text: str) -> tuple[str, ...]:
    """Words of a name in its own script (case-folded, marks kept): two names in the same
    non-Latin script compare here, before transliteration blurs them (김정은 / 김종은)."""
    folded = unicodedata.normalize("NFKC", text).casefold()
    return tuple(w for w in re.split(r"[\W_]+", folded) if w)
