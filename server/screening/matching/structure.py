"""Structure of Chinese and Korean names: syllables, family name, given name as one unit.

A Chinese or Korean name is a family name of one syllable (rarely two, not read here) and
a given name of one or two syllables, written in Latin letters in many ways: family name
first ("CHEN SHIH-HAN", "Kim Jong Un") or last ("Guiying Chen"), "SURNAME, Given" ("CHEN,
Shih Huan"), the given name's syllables hyphenated, glued or apart ("Jong-un", "Jongun",
"Jong Un"), in pinyin, Wade-Giles, Revised Romanization or McCune-Reischauer. What the
form tells:

- "SURNAME, Given": the part before the comma is the family name.
- A name in Hangul or Han characters: family name first.
- A hyphenated or glued word of two syllables is a given name: the single syllable beside
  it is the family name.
- Three syllables written apart ("Kim Jong Un"), or one name hyphenated between syllables
  ("janghyeon-u"): the family name first or last, both read.
- One word alone ("Hannibal" cuts into "han ni bal"), a family name of two syllables or a
  given name of three: not read (other names cut into syllables too).

A given name of several syllables is one name: "SHIH-HAN" is neither "SHIH" nor "SHIH
HUAN", so it aligns only whole. Two given names agree as spelt, as the same sounds in
another romanisation (pinyin "zedong" is Wade-Giles "tse-tung"; Korean "jeong" is "jong"),
or, both in Latin letters, as the whole name with a typo; against a name in Hangul or Han
characters only by sound, as one letter there makes another syllable. A name is read this
way only when every word of it is made of such syllables and its form tells the parts.
"""

from __future__ import annotations

import functools
import re

import msgspec
from rapidfuzz.distance import OSA

from screening.matching.normalize import fold
from screening.matching.syllables import SYLLABLES_FILE, VOWELS, read_syllables
from screening.matching.tokens import token_similarity, translit_key
from screening.matching.weights import TRANSLIT_KEY_SIMILARITY

FAMILY = "family"
GIVEN = "given"

# A name read as syllables has at most this many words and syllables (a family name of
# one syllable and a given name of two; more is another kind of name).
MAX_WORDS = 3
MAX_SYLLABLES = 3

# Each romanised spelling of a syllable -> the sounds it may write (syllables.py).
SOUNDS = read_syllables(SYLLABLES_FILE)
_LONGEST = max(map(len, SOUNDS))


def same_syllable(a: str, b: str) -> bool:
    """Two romanised syllables write the same sound: as spelt, in another romanisation,
    or by transliteration key (Yu / Yoo)."""
    return (
        a == b or any(map(SOUNDS[b].__contains__, SOUNDS[a])) or translit_key(a) == translit_key(b)
    )


@functools.lru_cache(maxsize=65536)
def segmentations(word: str) -> tuple[tuple[str, ...], ...]:
    """Every way `word` splits into syllables (at most MAX_SYLLABLES), fewest first."""
    found: list[tuple[str, ...]] = []

    def walk(start: int, parts: tuple[str, ...]) -> None:
        if start == len(word):
            found.append(parts)
            return
        if len(parts) == MAX_SYLLABLES:
            return
        for end in range(min(len(word), start + _LONGEST), start, -1):
            if word[start:end] in SOUNDS:
                walk(end, (*parts, word[start:end]))

    walk(0, ())
    return tuple(sorted(found, key=_cut_likelihood))


def _cut_likelihood(parts: tuple[str, ...]) -> tuple[int, int]:
    """Order of the ways to cut a word: fewest syllables, then fewest syllables opening on
    a vowel ("lyu ji hyeon" before "lyuj ih yeon")."""
    return len(parts), sum(1 for p in parts[1:] if p[0] in VOWELS)


@functools.lru_cache(maxsize=262144)
def unit_similarity(a: str, b: str, typos: bool) -> float:
    """How alike two names made of syllables are (their syllables glued, e.g. "shihhan"):
    1 as spelt; TRANSLIT_KEY_SIMILARITY when every syllable is the same sound in another
    spelling ("zedong" / "tsetung"); with `typos`, the similarity of the glued spellings
    when they differ by one letter ("jonguun" / "jongun") or each syllable by at most one
    ("pongryul" / "pyongryul"). A part of a name is not that name ("jong" / "jongun"),
    and a syllable wholly different makes another name ("hanbong" / "hanjang")."""
    if a == b:
        return 1.0
    spelt = token_similarity(a, b) if typos else 0.0
    if spelt and OSA.distance(a, b, score_cutoff=1) > 1:
        spelt = 0.0
    for left in segmentations(a):
        for right in segmentations(b):
            if len(left) != len(right):
                continue
            if all(map(same_syllable, left, right)):
                return max(spelt, TRANSLIT_KEY_SIMILARITY)
            if typos and not spelt and all(map(_one_letter_apart, left, right)):
                spelt = token_similarity(a, b)
    return spelt


def _one_letter_apart(a: str, b: str) -> bool:
    return same_syllable(a, b) or OSA.distance(a, b, score_cutoff=1) <= 1


# -- what a name's form tells ------------------------------------------------------------


class Unit(msgspec.Struct, frozen=True, array_like=True, gc=False):
    """One name of a person's name (a family or a given name): its syllables, its role,
    and the share of each of the name's words it holds (a glued "lyujihyeon" holds a
    family name and a given name)."""

    syllables: tuple[str, ...]
    role: str  # FAMILY or GIVEN
    # (word position, syllables of that word in the unit, syllables of the word)
    words: tuple[tuple[int, int, int], ...]

    @property
    def glued(self) -> str:
        return "".join(self.syllables)


# One reading of a name: its units in written order.
Reading = tuple[Unit, ...]

_GROUP_SPLIT = re.compile(r"[\s,]+")


def _groups(text: str, tokens: tuple[str, ...]) -> list[list[int]] | None:
    """Word positions of `tokens` grouped as the text writes them (a hyphenated word is one
    group); None when the text's words are not the tokens (honorifics dropped...)."""
    groups: list[list[int]] = []
    position = 0
    for chunk in _GROUP_SPLIT.split(text):
        words = fold(chunk).split()
        if not words:
            continue
        if tuple(words) != tokens[position : position + len(words)]:
            return None
        groups.append(list(range(position, position + len(words))))
        position += len(words)
    return groups if position == len(tokens) else None


def _unit(pieces: list[tuple[int, str]], counts: dict[int, int], role: str) -> Unit:
    """A unit of these (word position, syllable) pieces."""
    held: dict[int, int] = {}
    for position, _ in pieces:
        held[position] = held.get(position, 0) + 1
    words = tuple((k, n, counts[k]) for k, n in sorted(held.items()))
    return Unit(tuple(s for _, s in pieces), role, words)


def readings(text: str, tokens: tuple[str, ...], native: bool) -> tuple[Reading, ...]:
    """The readings of a person's name as a Chinese or Korean name (family and given
    names), or () when its form does not tell one: a word that is no syllables, a
    family name of more than one syllable or a given name of more than two (other names
    cut into syllables too: "Pedro Sancho" is "ped ro san cho"), or, in Latin letters, one
    word alone without a hyphen. `native`: written in Hangul or Han characters (family
    name first)."""
    if not tokens or len(tokens) > MAX_WORDS:
        return ()
    split = [segmentations(t) for t in tokens]
    if not all(split):
        return ()
    syllables = [s[0] for s in split]
    counts = {i: len(s) for i, s in enumerate(syllables)}
    pieces = [(i, s) for i, word in enumerate(syllables) for s in word]
    if not 2 <= len(pieces) <= MAX_SYLLABLES:
        return ()
    if native:
        return _plausible(((_unit(pieces[:1], counts, FAMILY), _unit(pieces[1:], counts, GIVEN)),))
    if "," in text:
        family_text, _, given_text = text.partition(",")
        family_words = len(fold(family_text).split())
        if 0 < family_words < len(tokens) and "," not in given_text:
            family = [p for p in pieces if p[0] < family_words]
            given = [p for p in pieces if p[0] >= family_words]
            return _plausible(((_unit(family, counts, FAMILY), _unit(given, counts, GIVEN)),))
        return ()
    groups = _groups(text, tokens)
    if groups is None or len(groups) > MAX_WORDS:
        return ()
    grouped = [[p for p in pieces if p[0] in group] for group in groups]
    if len(grouped) == 1:
        # One word alone tells nothing ("Hannibal" is "han ni bal"); hyphenated between
        # syllables ("janghyeon-u"), it is a whole name, its family name first or last.
        return _plausible(_family_first_or_last(grouped[0], counts)) if len(groups[0]) > 1 else ()
    if len(grouped) == 2:
        first, second = grouped
        if len(first) == 1 and len(second) > 1:
            return _plausible(((_unit(first, counts, FAMILY), _unit(second, counts, GIVEN)),))
        if len(second) == 1 and len(first) > 1:
            return _plausible(((_unit(first, counts, GIVEN), _unit(second, counts, FAMILY)),))
        return _plausible(
            (
                (_unit(first, counts, FAMILY), _unit(second, counts, GIVEN)),
                (_unit(first, counts, GIVEN), _unit(second, counts, FAMILY)),
            )
        )
    if all(len(g) == 1 for g in grouped):
        return _plausible(_family_first_or_last([p for g in grouped for p in g], counts))
    return ()


def _plausible(found: tuple[Reading, ...]) -> tuple[Reading, ...]:
    """The readings with a family name of one syllable and a given name of one or two."""
    return tuple(
        reading
        for reading in found
        if all(
            len(unit.syllables) == 1 if unit.role == FAMILY else 1 <= len(unit.syllables) <= 2
            for unit in reading
        )
    )


def _family_first_or_last(
    pieces: list[tuple[int, str]], counts: dict[int, int]
) -> tuple[Reading, ...]:
    return (
        (_unit(pieces[:1], counts, FAMILY), _unit(pieces[1:], counts, GIVEN)),
        (_unit(pieces[:-1], counts, GIVEN), _unit(pieces[-1:], counts, FAMILY)),
    )
