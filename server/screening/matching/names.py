"""Name comparison: token alignment weighted by how identifying each token is.

A name is a set of tokens, each weighted by its rarity in the lists. Two names are aligned
token to token in any order; a pair scores by edit similarity of the tokens or of their
transliteration keys. Words split, glued or cut at another place ("JSC ARGUMENT" /
"JSCARGUMENT", "AREFULLAHA REF" / "AREFULLAH AREF"), initials ("JC" / "Jean Claude") and
acronyms ("PLA" / "People's Liberation Army") align too.

The score then asks two questions of what did not align:
- conflict: do *both* names hold identifying words the other lacks? ("Habib ben Mohamed"
  vs "Habib ben Ahmed": two different people) - weighs heavily;
- missing: does one name hold words the other lacks? ("Dost Mohammad" vs "Dost Mohammad
  Khan Haqqani": a shorter form of the same name) - weighs lightly.

    score = 1 - CONFLICT * min(u_q, u_c) - MISSING * max(u_q, u_c) - TYPO * d

where u_q and u_c are the shares of each name's weight left unaligned, and d is the
spelling distance of what aligned: the weighted mean of (1 - similarity) over aligned words.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

import msgspec
from rapidfuzz.distance import Indel

from screening.matching.normalize import (
    PATRONYMIC_PARTICLES,
    is_legal_form,
    legal_forms_of,
    name_tokens,
)
from screening.matching.structure import Reading, readings, unit_similarity
from screening.matching.tokens import (
    SKELETON_MARK,
    glued_similarity,
    token_similarity,
)
from screening.matching.translit import ABJAD, LATIN, native_words, script_of, skeleton
from screening.matching.weights import (
    CONFLICT,
    INITIALS_SIMILARITY,
    LEGAL_FORM_CONFLICT,
    LEGAL_FORM_WEIGHT,
    MIN_GLUED_SIMILARITY,
    MISSING,
    MISSING_IN_LISTED,
    PATRONYMIC_REVERSED,
    SHORT_NAME,
    SKELETON_INFORMATION,
    SKELETON_SIMILARITY,
    SYLLABIC_NAME_INFORMATION,
    SYLLABLE_INFORMATION,
    TRANSLIT_KEY_SIMILARITY,
    TYPO,
    WHOLE_NAME_EDITS,
    WHOLE_NAME_GLUED,
)
from screening.model.entities import EntityType

# Scripts whose romanisation merges different names (Korean 종/정 are both "jong"; Chinese
# homophones): two names in one of them compare in that script.
NATIVE_SCRIPTS = frozenset({"hangul", "han", "kana"})
# Scripts a Chinese or Korean name is read in as family and given names (structure.py):
# Latin letters, or its own characters, which write the family name first.
NATIVE_SYLLABIC = frozenset({"hangul", "han"})
READ_SCRIPTS = NATIVE_SYLLABIC | {LATIN}


class PreparedName(msgspec.Struct, frozen=True, array_like=True, gc=False):
    """A name ready for comparison: Latin tokens in written order and their weights, the
    script it was written in, and its words in that script when it is not Latin."""

    text: str
    tokens: tuple[str, ...]
    weights: tuple[float, ...]
    total: float
    script: str = LATIN
    native: tuple[str, ...] = ()
    # Of a query name: how rare each word is, in the lists and outside them (0-1); what an
    # agreement on it proves. Empty for listed names: the weights stand in.
    rarity: tuple[float, ...] = ()
    # Its legal-person forms ("llc", "jsc"), found once.
    forms: frozenset[str] = frozenset()
    # A short name of an organisation (see short_name): agrees only as spelt.
    short: bool = False
    # Of a person's name whose words are all Chinese or Korean syllables: its readings as
    # family and given names (structure.py). Empty for any other name.
    structure: tuple[Reading, ...] = ()

    @classmethod
    def of(
        cls,
        text: str,
        tokens: tuple[str, ...],
        weights: tuple[float, ...],
        script: str | None = None,
        rarity: tuple[float, ...] = (),
        kind: EntityType = EntityType.UNKNOWN,
    ) -> PreparedName:
        script = script or script_of(text)
        native = native_words(text) if script != LATIN else ()
        forms = legal_forms_of(tokens)
        short = kind != EntityType.PERSON and short_name(tokens)
        structure = (
            readings(text, tokens, script in NATIVE_SYLLABIC)
            if kind in (EntityType.PERSON, EntityType.UNKNOWN) and script in READ_SCRIPTS
            else ()
        )
        return cls(
            text, tokens, weights, sum(weights), script, native, rarity, forms, short, structure
        )

    def as_skeletons(self) -> PreparedName:
        tokens = tuple(SKELETON_MARK + skeleton(t) for t in self.tokens)
        return PreparedName(
            self.text,
            tokens,
            self.weights,
            self.total,
            self.script,
            (),
            self.rarity,
            self.forms,
            self.short,
        )

    def as_native(self) -> PreparedName:
        if len(self.native) == len(self.tokens):
            weights, rarity = self.weights, self.rarity
        else:
            weights, rarity = tuple(1.0 for _ in self.native), ()
        return PreparedName(
            self.text,
            self.native,
            weights,
            sum(weights),
            self.script,
            (),
            rarity,
            self.forms,
            self.short,
        )


def prepare_name(
    text: str,
    kind: EntityType,
    weigh: Callable[[str], float],
    tokens: tuple[str, ...] | None = None,
) -> PreparedName:
    """Tokens of a listed name, each weighed by `weigh` (legal forms weigh little).
    `tokens`: the name's tokens when the caller has them already (name_tokens)."""
    if tokens is None:
        tokens = name_tokens(text, kind)
    weights = tuple(LEGAL_FORM_WEIGHT if is_legal_form(t) else weigh(t) for t in tokens)
    return PreparedName.of(text, tokens, weights, kind=kind)


def short_name(tokens: tuple[str, ...]) -> bool:
    """One word of SHORT_NAME letters or fewer besides legal forms: a brand, a ticker, an
    acronym, where one letter off makes another name."""
    words = [t for t in tokens if not is_legal_form(t)]
    return len(words) == 1 and len(words[0]) <= SHORT_NAME


def comparable_forms(q: PreparedName, c: PreparedName) -> tuple[PreparedName, PreparedName, str]:
    """The forms two names compare in: their own script when they share a non-Latin one,
    consonant skeletons when one is written in an abjad and the other is not, else Latin."""
    if q.script == c.script:
        if q.script in NATIVE_SCRIPTS and q.native and c.native:
            return q.as_native(), c.as_native(), "native"
        return q, c, ""
    if ABJAD in (q.script, c.script):
        return q.as_skeletons(), c.as_skeletons(), "skeleton"
    return q, c, ""


def _shown(tokens: Iterable[str]) -> str:
    """Words as an explanation shows them (skeletons without their internal mark)."""
    return " ".join(t.removeprefix(SKELETON_MARK) for t in tokens)


@dataclass(frozen=True, slots=True)
class Alignment:
    """A scored alignment; the words behind it are spelled out only when explained."""

    score: float
    q_tokens: tuple[str, ...]
    c_tokens: tuple[str, ...]
    # (query positions, listed positions, similarity) of each aligned part
    aligned: tuple[tuple[tuple[int, ...], tuple[int, ...], float], ...] = ()
    notes: tuple[str, ...] = ()
    # How much the agreement proves: the weight of the query words that aligned, each
    # times its similarity (rare words weigh about 1, the commonest names about 0.1).
    information: float = 0.0
    # Every word of both names agreed as written, in one script: the same full name.
    exact: bool = False

    @property
    def pairs(self) -> list[tuple[str, str, float]]:
        """(query words, listed words, similarity) of each aligned part."""
        return [
            (_shown(self.q_tokens[i] for i in qi), _shown(self.c_tokens[j] for j in ci), sim)
            for qi, ci, sim in self.aligned
        ]

    @property
    def unmatched_query(self) -> tuple[str, ...]:
        used = {i for qi, _, _ in self.aligned for i in qi}
        return tuple(_shown([t]) for i, t in enumerate(self.q_tokens) if i not in used)

    @property
    def unmatched_candidate(self) -> tuple[str, ...]:
        used = {j for _, ci, _ in self.aligned for j in ci}
        return tuple(_shown([t]) for j, t in enumerate(self.c_tokens) if j not in used)

    def describe(self, query_text: str, listed_text: str, weak: bool) -> str:
        """Which words of the query aligned with which of the listed name, and what not."""
        pairs = ", ".join(f"{a}~{b}" if s < 1 else a for a, b, s in self.pairs) or "none"
        detail = f"'{query_text}' vs '{listed_text}': aligned {pairs}"
        if self.unmatched_query:
            detail += f"; unmatched in query: {' '.join(self.unmatched_query)}"
        if self.unmatched_candidate:
            detail += f"; unmatched in listed name: {' '.join(self.unmatched_candidate)}"
        if weak:
            detail += "; weak alias"
        for note in self.notes:
            detail += f"; {note}"
        return detail


class _State:
    """Alignment in progress: which tokens are used, how much weight each side aligned."""

    __slots__ = ("aligned_c", "aligned_q", "deficit", "pairs", "used_c", "used_q")

    def __init__(self) -> None:
        self.used_q: set[int] = set()
        self.used_c: set[int] = set()
        self.aligned_q = 0.0  # weight of the query's aligned words
        self.aligned_c = 0.0
        self.deficit = 0.0  # sum of (1 - similarity) * weight over aligned words
        self.pairs: list[tuple[tuple[int, ...], tuple[int, ...], float]] = []

    def take(
        self, q: PreparedName, qi: list[int], c: PreparedName, ci: list[int], sim: float
    ) -> None:
        self.used_q.update(qi)
        self.used_c.update(ci)
        weight_q = sum(q.weights[i] for i in qi)
        weight_c = sum(c.weights[j] for j in ci)
        self.aligned_q += weight_q
        self.aligned_c += weight_c
        self.deficit += (1.0 - sim) * (weight_q + weight_c)
        self.pairs.append((tuple(qi), tuple(ci), sim))

    def take_one(self, i: int, weight_q: float, j: int, weight_c: float, sim: float) -> None:
        """`take` of one word on each side (the same sums: a sum of one float is that float)."""
        self.used_q.add(i)
        self.used_c.add(j)
        self.aligned_q += weight_q
        self.aligned_c += weight_c
        self.deficit += (1.0 - sim) * (weight_q + weight_c)
        self.pairs.append(((i,), (j,), sim))


def compare_names(
    q: PreparedName,
    c: PreparedName,
    *,
    query_extra: float = MISSING_IN_LISTED,
    screening: bool = True,
) -> Alignment:
    """Align the tokens of two names and score the alignment (0-1). `query_extra` is the
    weight of query words the listed name lacks (MISSING to compare symmetrically).
    `screening`: against the lists, where short organisation names (brands, tickers) one
    letter apart are other names of a crowd; comparing two given parties, a typo."""
    if not q.tokens or not c.tokens:
        return Alignment(0.0, q.tokens, c.tokens)
    q, c, form = comparable_forms(q, c)
    if not form and q.structure and c.structure:
        return compare_structured(q, c, query_extra, typos=not screening)
    # A Korean, Chinese or Japanese name romanised against a Latin one: each word is a
    # syllable, and one letter more or less makes another syllable (another name).
    syllabic = not form and q.script != c.script and bool({q.script, c.script} & NATIVE_SCRIPTS)
    # A short organisation name agrees only as spelt or by transliteration key too.
    short = screening and (q.short or c.short)
    least = TRANSLIT_KEY_SIMILARITY if syllabic or short else 0.0
    state = _State()
    scored = []
    q_weights, c_weights, c_tokens = q.weights, c.weights, c.tokens
    for i, qt in enumerate(q.tokens):
        weight_q = q_weights[i]
        for j, ct in enumerate(c_tokens):
            sim = token_similarity(qt, ct)
            if sim and sim >= least:
                scored.append((sim * (weight_q + c_weights[j]), sim, i, j))
    if scored:
        scored.sort(reverse=True)
        used_q, used_c = state.used_q, state.used_c
        for _, sim, i, j in scored:
            if i not in used_q and j not in used_c:
                state.take_one(i, q_weights[i], j, c_weights[j], sim)
    if len(state.used_q) < len(q.tokens) and len(state.used_c) < len(c.tokens):
        _align_initials(q, c, state)
        if _glue_possible(q, c, state):
            _align_glued(q, c, state)
    # What the agreement proves; a consonant skeleton or a syllable stands for many names.
    rarity = q.rarity or q.weights
    per_word = (
        SKELETON_INFORMATION if form == "skeleton" else SYLLABLE_INFORMATION if syllabic else 1.0
    )
    # A word within a typo of the listed one identifies as well as an exact one: the typo
    # costs in the name score already.
    information = sum(
        min(1.0, sim / TRANSLIT_KEY_SIMILARITY) * sum(min(rarity[i], per_word) for i in qi)
        for qi, _, sim in state.pairs
    )
    if syllabic:
        # Its romanisation merges many different names (homophones): alone, a name in a
        # syllabic script is no alert against a romanised one.
        information = min(information, SYLLABIC_NAME_INFORMATION)
    u_q = max(0.0, 1.0 - state.aligned_q / q.total) if q.total else 1.0
    u_c = max(0.0, 1.0 - state.aligned_c / c.total) if c.total else 1.0
    aligned = state.aligned_q + state.aligned_c
    distance = state.deficit / aligned if aligned else 0.0
    missing = query_extra if u_q > u_c else MISSING
    score = 1.0 - CONFLICT * min(u_q, u_c) - missing * max(u_q, u_c) - TYPO * distance
    notes: list[str] = []
    if u_q or u_c:
        # The same letters cut into words at other places ("AREFULLAHA REF" / "AREFULLAH
        # AREF"): compare the whole names glued together, in their written order.
        glued_q, glued_c = _glued(q.tokens), _glued(c.tokens)
        whole = glued_similarity(glued_q, glued_c)
        # Nearly the same letters: in a long name a different word ("CHAD" / "CHINA")
        # leaves the glued names similar, so the letters that differ are counted too.
        if whole >= WHOLE_NAME_GLUED and Indel.distance(glued_q, glued_c) <= WHOLE_NAME_EDITS:
            whole *= _glue_scale(q)
            if 1.0 - TYPO * (1.0 - whole) > score:
                score = 1.0 - TYPO * (1.0 - whole)
                whole_information = whole * sum(min(r, per_word) for r in rarity)
                if syllabic:
                    whole_information = min(whole_information, SYLLABIC_NAME_INFORMATION)
                information = max(information, whole_information)
                notes.append(f"same letters when glued ({whole:.2f})")
    if _patronymic_reversed(q, c, state):
        score -= PATRONYMIC_REVERSED
        notes.append("patronymic chain reversed")
    q_forms, c_forms = q.forms, c.forms
    if q_forms and c_forms and not q_forms & c_forms:
        # An LP is not the LLC of the same name: two legal persons.
        score -= LEGAL_FORM_CONFLICT
        notes.append(
            f"legal forms differ ({' '.join(sorted(q_forms))} / {' '.join(sorted(c_forms))})"
        )
    if form == "skeleton":
        notes.append("compared as consonant skeletons (abjad script)")
    elif form == "native":
        notes.append(f"compared in {q.script} script")
    exact = (
        not form
        and not syllabic
        and len(state.used_q) == len(q.tokens)
        and len(state.used_c) == len(c.tokens)
        and all(sim == 1.0 for _, _, sim in state.pairs)
    )
    return Alignment(
        max(0.0, min(1.0, score)),
        q.tokens,
        c.tokens,
        tuple(state.pairs),
        tuple(notes),
        information,
        exact,
    )


def compare_structured(
    q: PreparedName, c: PreparedName, query_extra: float, *, typos: bool
) -> Alignment:
    """Two Chinese or Korean names compared as family and given names (structure.py): a
    family name aligns with a family name and a given name with a given name, each whole;
    the best of their readings counts. `typos`: a syllable one letter off is a typo
    (comparing two given parties); screening, it is another name of a crowd of namesakes
    ("SHIH-HAN" / "SHIH HUAN"), and only the same sound in another romanisation agrees.
    A name that agrees by sound, not as spelt (another romanisation, or against Hangul or
    Han characters), proves at most SYLLABLE_INFORMATION a syllable and
    SYLLABIC_NAME_INFORMATION in all, as in compare_names: romanisation merges many
    names."""
    best: Alignment | None = None
    for q_reading in q.structure:
        for c_reading in c.structure:
            alignment = _align_readings(q, q_reading, c, c_reading, query_extra, typos)
            if best is None or (alignment.score, alignment.information) > (
                best.score,
                best.information,
            ):
                best = alignment
    assert best is not None
    return best


def _unit_weights(name: PreparedName, reading: Reading, of: tuple[float, ...]) -> list[float]:
    """Each unit's share of `of` (weights or rarities) of the words it is written in."""
    return [sum(of[k] * n / count for k, n, count in unit.words) for unit in reading]


def _align_readings(
    q: PreparedName,
    q_reading: Reading,
    c: PreparedName,
    c_reading: Reading,
    query_extra: float,
    typos: bool,
) -> Alignment:
    syllabic = q.script != c.script
    weights_q = _unit_weights(q, q_reading, q.weights)
    weights_c = _unit_weights(c, c_reading, c.weights)
    rarity_q = _unit_weights(q, q_reading, q.rarity or q.weights)
    scored = []
    for i, q_unit in enumerate(q_reading):
        for j, c_unit in enumerate(c_reading):
            if q_unit.role == c_unit.role:
                sim = unit_similarity(q_unit.glued, c_unit.glued, typos and not syllabic)
                if sim:
                    scored.append((sim * (weights_q[i] + weights_c[j]), sim, i, j))
    scored.sort(reverse=True)
    used_q: set[int] = set()
    used_c: set[int] = set()
    pairs: list[tuple[tuple[int, ...], tuple[int, ...], float]] = []
    aligned_q = aligned_c = deficit = information = 0.0
    by_sound = False
    for _, sim, i, j in scored:
        if i in used_q or j in used_c:
            continue
        used_q.add(i)
        used_c.add(j)
        pairs.append(((i,), (j,), sim))
        aligned_q += weights_q[i]
        aligned_c += weights_c[j]
        deficit += (1.0 - sim) * (weights_q[i] + weights_c[j])
        if syllabic or sim < 1.0:
            # Agreement by sound: each syllable stands for many names.
            by_sound = True
            proof = len(q_reading[i].syllables) * SYLLABLE_INFORMATION
        else:
            proof = rarity_q[i]
        information += min(1.0, sim / TRANSLIT_KEY_SIMILARITY) * proof
    if by_sound:
        information = min(information, SYLLABIC_NAME_INFORMATION)
    total_q, total_c = sum(weights_q), sum(weights_c)
    u_q = max(0.0, 1.0 - aligned_q / total_q) if total_q else 1.0
    u_c = max(0.0, 1.0 - aligned_c / total_c) if total_c else 1.0
    aligned = aligned_q + aligned_c
    distance = deficit / aligned if aligned else 0.0
    missing = query_extra if u_q > u_c else MISSING
    score = 1.0 - CONFLICT * min(u_q, u_c) - missing * max(u_q, u_c) - TYPO * distance
    exact = (
        not syllabic
        and len(pairs) == len(q_reading) == len(c_reading)
        and all(sim == 1.0 for _, _, sim in pairs)
    )
    return Alignment(
        max(0.0, min(1.0, score)),
        tuple(u.glued for u in q_reading),
        tuple(u.glued for u in c_reading),
        tuple(pairs),
        ("compared as family and given names",),
        information,
        exact,
    )


def _runs(name: PreparedName, used: set[int], size: int) -> list[list[int]]:
    """Runs of `size` adjacent unused token positions."""
    free = [i for i in range(len(name.tokens)) if i not in used]
    return [
        free[k : k + size]
        for k in range(len(free) - size + 1)
        if free[k + size - 1] - free[k] == size - 1
    ]


def _align_initials(q: PreparedName, c: PreparedName, state: _State) -> None:
    """A short token made of the initials of adjacent words on the other side ("jc" /
    "jean claude", "pla" / "peoples liberation army")."""
    for short, long_, flip in ((q, c, False), (c, q, True)):
        used_s, used_l = (state.used_c, state.used_q) if flip else (state.used_q, state.used_c)
        long_tokens = long_.tokens
        initials = ""
        for i, token in enumerate(short.tokens):
            if i in used_s or not 2 <= len(token) <= 6 or token.isdigit():
                continue
            initials = initials or "".join(w[0] for w in long_tokens)
            # The first run of unaligned adjacent words (in written order) whose initials
            # spell the token, each word longer than one letter.
            start = initials.find(token)
            while start >= 0:
                run = list(range(start, start + len(token)))
                if all(j not in used_l and len(long_tokens[j]) > 1 for j in run):
                    if flip:
                        state.take(q, run, c, [i], INITIALS_SIMILARITY)
                    else:
                        state.take(q, [i], c, run, INITIALS_SIMILARITY)
                    break
                start = initials.find(token, start + 1)


def _glue_possible(q: PreparedName, c: PreparedName, state: _State) -> bool:
    """Can any glued run of unaligned words on one side match one on the other? Only if
    both sides have some unaligned letters and the shorter run fits in the longer."""
    left = [t for i, t in enumerate(q.tokens) if i not in state.used_q]
    right = [t for j, t in enumerate(c.tokens) if j not in state.used_c]
    if not left or not right:
        return False
    if len(left) == 1 and len(right) == 1:
        return False  # one word each: the token similarity already decided
    if min(sum(map(len, left)), sum(map(len, right))) < 4:
        return False
    # Glued runs that match start with the same letter (of a skeleton: after its mark).
    return bool({_first_letter(t) for t in left} & {_first_letter(t) for t in right})


def _first_letter(token: str) -> str:
    return token[1:2] if token[:1] == SKELETON_MARK else token[:1]


# Larger cuts are left to the whole-name comparison.
_GLUE_SHAPES = ((1, 2), (2, 1), (2, 2), (1, 3), (3, 1))


def _glued(tokens: Iterable[str]) -> str:
    """Words glued together, without the skeleton marks (which would count as letters)."""
    return "".join(tokens).replace(SKELETON_MARK, "")


def _glue_scale(name: PreparedName) -> float:
    """Glued consonant skeletons are worth what a skeleton pair is: an equal skeleton says
    less than an equal spelling."""
    return SKELETON_SIMILARITY if name.tokens[:1] and name.tokens[0][:1] == SKELETON_MARK else 1.0


def _align_glued(q: PreparedName, c: PreparedName, state: _State) -> None:
    """Words split, glued or cut elsewhere: compare runs of unaligned words glued together."""
    # Two glued runs can only reach the similarity bar if their lengths are close.
    max_gap = (1.0 - MIN_GLUED_SIMILARITY) / (1.0 + MIN_GLUED_SIMILARITY)
    scale = _glue_scale(q)
    for size_q, size_c in _GLUE_SHAPES:
        runs_c = [(run, _glued(c.tokens[j] for j in run)) for run in _runs(c, state.used_c, size_c)]
        if not runs_c:
            continue
        for run_q in _runs(q, state.used_q, size_q):
            if any(i in state.used_q for i in run_q):
                continue
            glued_q = _glued(q.tokens[i] for i in run_q)
            for run_c, glued_c in runs_c:
                total = len(glued_q) + len(glued_c)
                if abs(len(glued_q) - len(glued_c)) > max_gap * total:
                    continue
                if any(j in state.used_c for j in run_c):
                    continue
                sim = glued_similarity(glued_q, glued_c)
                if sim >= MIN_GLUED_SIMILARITY:
                    state.take(q, run_q, c, run_c, sim * scale)
                    break


def _patronymic_reversed(q: PreparedName, c: PreparedName, state: _State) -> bool:
    """Does "X bin Y" in one name appear as "Y bin X" in the other?"""

    def chains(name: PreparedName) -> list[tuple[str, str]]:
        t = name.tokens
        return [(t[k - 1], t[k + 1]) for k in range(1, len(t) - 1) if t[k] in PATRONYMIC_PARTICLES]

    if PATRONYMIC_PARTICLES.isdisjoint(q.tokens):
        return False
    q_chains = chains(q)
    if not q_chains:
        return False
    c_chains = chains(c)
    for a, b in q_chains:
        for x, y in c_chains:
            if token_similarity(a, y) and token_similarity(b, x) and not token_similarity(a, x):
                return True
    return False
