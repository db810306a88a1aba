"""Name comparison: token alignment weighted by how identifying each token is.

A name is a bag of tokens. Two names are aligned token to token (any order), each pair
scored by edit similarity of the tokens or of their transliteration keys; words split or
glued ("JSC ARGUMENT" / "JSCARGUMENT") align as one. The name score is the weighted share of
both names that aligned (a weighted Dice coefficient), so a rare word that matches counts
for more than "Mohammad" or "LLC", and words on either side with no partner lower the score.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable
from dataclasses import dataclass

from rapidfuzz.distance import OSA

from screening.matching.normalize import LEGAL_FORM_TOKENS, name_tokens

# Weight of a legal-form token ("llc", "jsc"): present in the score, never decisive.
LEGAL_FORM_WEIGHT = 0.08
# Lowest token similarity that counts as an alignment.
MIN_TOKEN_SIMILARITY = 0.70

_KEY_RULES = [
    (re.compile(r"(.)\1+"), r"\1"),
    (re.compile(r"dzh|dj|zh"), "j"),
    (re.compile(r"tch|tsch"), "ch"),
    (re.compile(r"kh"), "h"),
    (re.compile(r"ph"), "f"),
    (re.compile(r"ck|q|c(?!h)"), "k"),
    (re.compile(r"w"), "v"),
    (re.compile(r"ou|oo|o"), "u"),
    (re.compile(r"ee|ie|iy|ij|y|e"), "i"),
    (re.compile(r"(?<=[aiu])h\b"), ""),
    (re.compile(r"(.)\1+"), r"\1"),
]


@functools.lru_cache(maxsize=262144)
def translit_key(token: str) -> str:
    """Spelling key that merges common romanisation variants (Yuriy/Yuri/Iouri,
    Mohammed/Muhammad, Khalil/Halil): similar keys mean similar pronunciation."""
    if token.isdigit() or len(token) <= 2:
        return token
    key = token
    for pattern, repl in _KEY_RULES:
        key = pattern.sub(repl, key)
    return key


def max_edits(length: int) -> int:
    if length <= 3:
        return 0
    if length <= 5:
        return 1
    if length <= 9:
        return 2
    return 3


@functools.lru_cache(maxsize=524288)
def token_similarity(a: str, b: str) -> float:
    """0-1 similarity of two tokens. Numbers must be equal; short words nearly so."""
    if a == b:
        return 1.0
    if a.isdigit() or b.isdigit():
        return 0.0
    if len(a) == 1 or len(b) == 1:
        # An initial stands for any word with that first letter.
        return 0.75 if a[0] == b[0] else 0.0
    best = 0.0
    longest = max(len(a), len(b))
    limit = max_edits(min(len(a), len(b)))
    if limit:
        dist = OSA.distance(a, b, score_cutoff=limit)
        if dist <= limit:
            best = 1.0 - dist / longest
    ka, kb = translit_key(a), translit_key(b)
    if ka == kb:
        best = max(best, 0.92)
    elif len(ka) > 3 and len(kb) > 3:
        klimit = max_edits(min(len(ka), len(kb)))
        kdist = OSA.distance(ka, kb, score_cutoff=klimit) if klimit else 99
        if kdist <= klimit:
            best = max(best, 0.92 * (1.0 - kdist / max(len(ka), len(kb))))
    return best if best >= MIN_TOKEN_SIMILARITY else 0.0


@dataclass(frozen=True, slots=True)
class PreparedName:
    """A name ready for comparison."""

    text: str
    tokens: tuple[str, ...]
    weights: tuple[float, ...]

    @property
    def total(self) -> float:
        return sum(self.weights)


def prepare_name(text: str, kind: str, weigh: Callable[[str], float]) -> PreparedName:
    tokens = tuple(dict.fromkeys(name_tokens(text, kind)))  # dedupe, keep order
    weights = tuple(LEGAL_FORM_WEIGHT if t in LEGAL_FORM_TOKENS else weigh(t) for t in tokens)
    return PreparedName(text, tokens, weights)


@dataclass(frozen=True, slots=True)
class Alignment:
    score: float
    pairs: tuple[tuple[str, str, float], ...]  # (query part, candidate part, similarity)
    unmatched_query: tuple[str, ...]
    unmatched_candidate: tuple[str, ...]


def compare_names(q: PreparedName, c: PreparedName) -> Alignment:
    """Align the tokens of two names and score the alignment (0-1)."""
    if not q.tokens or not c.tokens:
        return Alignment(0.0, (), q.tokens, c.tokens)
    scored = []
    for i, qt in enumerate(q.tokens):
        for j, ct in enumerate(c.tokens):
            sim = token_similarity(qt, ct)
            if sim:
                scored.append((sim * (q.weights[i] + c.weights[j]), sim, i, j))
    scored.sort(reverse=True)
    used_q: set[int] = set()
    used_c: set[int] = set()
    matched = 0.0
    pairs = []
    for gain, sim, i, j in scored:
        if i in used_q or j in used_c:
            continue
        used_q.add(i)
        used_c.add(j)
        matched += gain
        pairs.append((q.tokens[i], c.tokens[j], sim))
    # Split or glued words: one token on one side against two adjacent ones on the other.
    matched += _glued(q, c, used_q, used_c, pairs, flip=False)
    matched += _glued(c, q, used_c, used_q, pairs, flip=True)
    total = q.total + c.total
    score = matched / total if total else 0.0
    return Alignment(
        min(1.0, score),
        tuple(pairs),
        tuple(t for i, t in enumerate(q.tokens) if i not in used_q),
        tuple(t for j, t in enumerate(c.tokens) if j not in used_c),
    )


def _glued(
    one: PreparedName,
    two: PreparedName,
    used_one: set[int],
    used_two: set[int],
    pairs: list[tuple[str, str, float]],
    *,
    flip: bool,
) -> float:
    gained = 0.0
    for i, token in enumerate(one.tokens):
        if i in used_one or len(token) < 4:
            continue
        for j in range(len(two.tokens) - 1):
            if j in used_two or j + 1 in used_two:
                continue
            glued = two.tokens[j] + two.tokens[j + 1]
            sim = token_similarity(token, glued)
            if sim >= 0.85:
                used_one.add(i)
                used_two.update((j, j + 1))
                gained += sim * (one.weights[i] + two.weights[j] + two.weights[j + 1])
                joined = f"{two.tokens[j]} {two.tokens[j + 1]}"
                pairs.append((joined, token, sim) if flip else (token, joined, sim))
                break
    return gained
