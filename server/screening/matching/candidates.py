"""Candidate search: which listed names are worth scoring exactly for a query name.

Each query token is looked up in the vocabulary of list tokens through a deletion
neighbourhood of transliteration keys (finds spellings a few edits apart) or, for names
written in an abjad, of consonant skeletons; its postings accumulate an estimate of each
listed name's score, and the best estimates go on to exact scoring. The index also holds
the token weights (inverse document frequency over the lists) that both stages use.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable, Iterator
from typing import NamedTuple, Protocol, TypeVar

import numpy as np

from screening.matching.hashed import HashedLookup
from screening.matching.name_table import NameTable, encode_name
from screening.matching.names import PreparedName, prepare_name
from screening.matching.normalize import is_legal_form, name_tokens
from screening.matching.reference import reference_weights
from screening.matching.tokens import SKELETON_MARK, token_similarity, translit_key
from screening.matching.translit import ABJAD, latin_variants, script_of, skeleton
from screening.matching.types import Query
from screening.matching.weights import (
    CONFLICT,
    LEGAL_FORM_WEIGHT,
    LIST_RARE_ENTRIES,
    MIN_TOKEN_WEIGHT,
    MISSING,
    NUMBER_RARITY,
)
from screening.model.entities import Entity, EntityType, type_group
from screening.model.packed import StrTable

# Names scored exactly per query name.
CANDIDATES_PER_NAME = 64
# Names (or words) built between two yields of the cooperative build.
BUILD_STEP = 256
# Distinct query words whose index hits a worker keeps (cleared when full).
HITS_CACHE_SIZE = 20000
# Rounding room when an estimate bound decides that names need not be gathered.
ESTIMATE_MARGIN = 1e-8
# Names reached by a query name beyond which the commonest words' postings are only
# probed, when a bound shows that this loses none of the best estimates.
GATHER_ALL = 4096
# What probing a word's postings costs, in names gathered.
PROBE_COST = 256
# The share of the words' lookup keys made in the other process of a split build, while
# this one prepares the names (measured: both then finish at about the same time).
KEYS_ELSEWHERE = 0.9


T = TypeVar("T")
R = TypeVar("R")


def name_kind(entity_type: EntityType) -> EntityType:
    """The kind a name is read as: vessels and aircraft are named like organisations."""
    group = type_group(entity_type)
    return EntityType.ORGANIZATION if group == EntityType.VESSEL else group


def _deletions(word: str) -> set[str]:
    variants = {word}
    if len(word) >= 4:
        variants.update(word[:i] + word[i + 1 :] for i in range(len(word)))
    return variants


def _variants(token: str) -> set[str]:
    """Lookup keys of a token: it and its transliteration key, each with one letter deleted.
    Two tokens share a key when they are about two edits apart (a deletion on each side)."""
    key = translit_key(token)
    return _deletions(token) | {"~" + v for v in _deletions(key)}


class _Postings:
    """Name lists per word id, packed in two arrays (compressed sparse rows): one object
    instead of one array per word, built in a blink and cheap to free."""

    def __init__(self, lists: list[list[int]]) -> None:
        lengths = np.fromiter((len(p) for p in lists), dtype=np.int64, count=len(lists))
        self.offsets = np.zeros(len(lists) + 1, dtype=np.int64)
        np.cumsum(lengths, out=self.offsets[1:])
        self.names = np.fromiter(
            itertools.chain.from_iterable(lists), dtype=np.int32, count=int(self.offsets[-1])
        )

    def __getitem__(self, word: int) -> np.ndarray:
        return self.names[self.offsets[word] : self.offsets[word + 1]]


def tokens_of_names(names: list[tuple[str, EntityType]]) -> list[tuple[str, ...]]:
    """Comparable tokens of each (name, kind)."""
    return [name_tokens(text, kind) for text, kind in names]


class WordKeys(NamedTuple):
    """The lookup keys of a run of vocabulary words: every key hashed, the position in the
    run of the word it belongs to, and each word's consonant skeleton ('' for a number)."""

    hashes: np.ndarray  # int64
    word: np.ndarray  # int32, position in the run
    skeletons: list[str]


def keys_of_words(words: list[tuple[str, bool]]) -> list[WordKeys]:
    """The keys of (word, held as a word): its deletion neighbourhood when names hold it as
    a word; a glued word pair by its spelling and key only. One WordKeys (a list, to be
    joined with the other process's): arrays, cheap to send back."""
    hashes: list[int] = []
    counts: list[int] = []
    skeletons: list[str] = []
    for token, as_word in words:
        variants = _variants(token) if as_word else {token, "~" + translit_key(token)}
        hashes.extend(map(hash, variants))
        counts.append(len(variants))
        skeletons.append("" if token.isdigit() else skeleton(token))
    return [
        WordKeys(
            np.asarray(hashes, dtype=np.int64),
            np.repeat(np.arange(len(words), dtype=np.int32), counts),
            skeletons,
        )
    ]


class SplitWork(Protocol):
    """Runs pure work over a list partly in another process (index/build.py's
    OtherProcess), results in order. `__call__`: half there, half here. `start_hashed`,
    for work whose results hold str hashes (done here alone unless the other process
    hashes as this one): hands the other process its share (`theirs`) at once and returns
    what does the rest here and joins, so that other work can run here meanwhile."""

    def __call__(self, func: Callable[[list[T]], list[R]], items: list[T]) -> list[R]: ...

    def start_hashed(
        self, func: Callable[[list[T]], list[R]], items: list[T], theirs: float
    ) -> Callable[[], list[R]]: ...


class CandidateIndex:
    """Every name of every entity of a snapshot, prepared for scoring and indexed for
    candidate search. Built by `build()`, a generator that yields every few hundred names
    so that a worker can build on its event loop."""

    def build(self, entities: list[Entity], split: SplitWork | None = None) -> Iterator[None]:
        """`split`: run the build's pure per-name and per-word work partly in another
        process (index/build.py); without it, everything runs here, yielding as it goes."""
        tokens_of: Iterator[tuple[str, ...]] | None = None
        if split is not None:
            texts = [
                (name.full, name_kind(entity.entity_type))
                for entity in entities
                for name in entity.all_names()
            ]
            tokens_of = iter(split(tokens_of_names, texts))
        # entity idx, text, kind, weak, tokens
        raw_names: list[tuple[int, str, EntityType, bool, tuple[str, ...]]] = []
        doc_freq: dict[str, int] = {}
        for idx, entity in enumerate(entities):
            kind = name_kind(entity.entity_type)
            entity_tokens: set[str] = set()
            for name in entity.all_names():
                tokens = next(tokens_of) if tokens_of is not None else name_tokens(name.full, kind)
                if not tokens:
                    continue
                raw_names.append((idx, name.full, kind, name.quality == "weak", tokens))
                entity_tokens.update(tokens)
            for token in entity_tokens:
                doc_freq[token] = doc_freq.get(token, 0) + 1
            if idx % BUILD_STEP == 0:
                yield
        # Entries per word: a dictionary while the names are weighed here, then an array.
        self._doc_freq: dict[str, int] | HashedLookup = doc_freq
        # The lookup keys of every vocabulary word (below) are the build's longest pure
        # step: with another process, most of them are made there while the names are
        # prepared here. The vocabulary: the words of names (doc_freq's) and the pairs of
        # adjacent words glued together.
        glued = {t[i] + t[i + 1] for *_, t in raw_names for i in range(len(t) - 1)}
        words = [(token, True) for token in doc_freq]
        words += [(token, False) for token in glued if token not in doc_freq]
        keys_made = None
        if split is not None:
            keys_made = split.start_hashed(keys_of_words, words, theirs=KEYS_ELSEWHERE)
        # How common each word is as a person's name, outside the lists (any query word).
        reference = reference_weights()
        self._reference = HashedLookup(reference, reference.values(), np.float64)
        yield
        self._entity_count = len(entities)
        self._log_n = math.log(len(entities) + 2)
        # (only used for words in more than LIST_RARE_ENTRIES entries, so positive)
        self._log_rare = math.log(
            max(len(entities) + 2, LIST_RARE_ENTRIES + 2) / (LIST_RARE_ENTRIES + 1)
        )

        names: list[PreparedName] = []
        self.name_weak = np.zeros(len(raw_names), dtype=bool)
        self.name_entity = np.zeros(len(raw_names), dtype=np.int32)
        name_total = np.zeros(len(raw_names), dtype=np.float32)
        vocab: dict[str, int] = {}
        # Per vocabulary token: names holding it as a word, and names holding it as two
        # adjacent words glued together (so "jscargument" finds "JSC ARGUMENT").
        postings: list[list[int]] = []
        glued_postings: list[list[int]] = []

        def token_id(token: str) -> int:
            tid = vocab.get(token)
            if tid is None:
                tid = vocab[token] = len(postings)
                postings.append([])
                glued_postings.append([])
            return tid

        for n, (idx, text, kind, weak, tokens) in enumerate(raw_names):
            prepared = prepare_name(text, kind, self.weight, tokens)
            names.append(prepared)
            self.name_entity[n] = idx
            self.name_weak[n] = weak
            name_total[n] = prepared.total
            toks = prepared.tokens
            for token in set(toks):
                postings[token_id(token)].append(n)
            for token in {toks[i] + toks[i + 1] for i in range(len(toks) - 1)} - set(toks):
                glued_postings[token_id(token)].append(n)
            if n % BUILD_STEP == 0:
                yield
        self.name_total = name_total
        # Names by their whole token sequence: the same name as listed is always scored,
        # however many names the search estimates as high (Mohammed, Shipping Co Ltd).
        self._by_tokens = HashedLookup(
            (prepared.tokens for prepared in names), range(len(names)), np.int32
        )
        yield
        # From here on a listed name is read about once a screening: held encoded.
        encoded: list[bytes] = []
        for start in range(0, len(names), BUILD_STEP):
            encoded += map(encode_name, names[start : start + BUILD_STEP])
            yield
        self.names = NameTable.join(encoded)
        del names, encoded
        self.vocab_tokens = StrTable.of(list(vocab))
        self._postings = _Postings(postings)
        yield
        self._glued_postings = _Postings(glued_postings)
        yield

        # Deletion neighbourhood of each word and of its transliteration key. Glued word
        # pairs are found by their exact spelling or key only: they are many, typos in
        # them rare.
        # (The words are the vocabulary, in another order.)
        chunks: list[WordKeys] = []
        if keys_made is not None:
            chunks = keys_made()
        else:
            for start in range(0, len(words), BUILD_STEP):
                chunks += keys_of_words(words[start : start + BUILD_STEP])
                yield
        chunks = chunks or keys_of_words([])
        tid_of_word = np.fromiter((vocab[word] for word, _ in words), np.int32, len(words))
        hashes = np.concatenate([chunk.hashes for chunk in chunks])
        firsts = np.cumsum([0] + [len(chunk.skeletons) for chunk in chunks[:-1]])
        tids = tid_of_word[
            np.concatenate(
                [chunk.word + first for chunk, first in zip(chunks, firsts, strict=True)]
            )
        ]
        skeleton_of = [""] * len(vocab)
        for tid, word_skeleton in zip(
            tid_of_word.tolist(), (s for chunk in chunks for s in chunk.skeletons), strict=True
        ):
            skeleton_of[tid] = word_skeleton
        yield
        # By key, then word: the same arrays however the keys were made.
        by_tid = np.argsort(tids, kind="stable")
        order = by_tid[np.argsort(hashes[by_tid], kind="stable")]
        self._variant_hash = hashes[order]
        self._variant_tid = tids[order].astype(np.int32)
        # Consonant skeletons, for names written in an abjad (Arabic, Persian, Hebrew).
        with_skeleton = [tid for tid, key in enumerate(skeleton_of) if key]
        self._skeletons = HashedLookup(
            (skeleton_of[tid] for tid in with_skeleton), with_skeleton, np.int32
        )
        self._doc_freq = HashedLookup(doc_freq, doc_freq.values(), np.int32)
        self.name_count = len(self.names)
        self._hits_cache: dict[tuple[str, str, bool], _Hits | None] = {}
        # (word, script) -> (weight, rarity) of a query word: as often met again.
        self._weights_cache: dict[tuple[str, str], tuple[float, float]] = {}

    # -- weights -------------------------------------------------------------------------

    def weight(self, token: str) -> float:
        """How identifying a token is among the listed names, from how many entries use it
        (inverse document frequency, scaled to 0-1 and floored). Words the lists never use
        count as rare. Weights share out a name: what did not align, and how much."""
        df = self._doc_freq.get(token, 0)
        idf = math.log((self._entity_count + 2) / (df + 1)) / self._log_n
        return max(MIN_TOKEN_WEIGHT, min(1.0, idf))

    def rarity(self, token: str) -> float:
        """What an agreement on a token proves, 0-1: the lower of how rare it is in the
        lists (1 up to LIST_RARE_ENTRIES entries: one designation is copied into several
        lists) and how rare it is as a person's name (names-dataset), floored."""
        if token.isdigit():
            return NUMBER_RARITY
        df = self._doc_freq.get(token, 0)
        in_lists = 1.0
        if df > LIST_RARE_ENTRIES:
            in_lists = math.log((self._entity_count + 2) / (df + 1)) / self._log_rare
        as_name = self._reference.get(token, 1.0)
        return max(MIN_TOKEN_WEIGHT, min(1.0, in_lists, as_name))

    def query_weight(
        self, token: str, script: str = "", kind: EntityType = EntityType.UNKNOWN
    ) -> tuple[float, float]:
        """(weight, rarity) of a query token; a spelling the lists don't use weighs like its
        nearest listed spelling ("mohamad" like "mohammad"), an unknown word as rare."""
        key = (token, script)
        weighed = self._weights_cache.get(key)
        if weighed is None:
            if len(self._weights_cache) >= HITS_CACHE_SIZE:
                self._weights_cache.clear()
            weighed = self._weights_cache[key] = self._query_weight(token, script)
        return weighed

    def _query_weight(self, token: str, script: str) -> tuple[float, float]:
        if is_legal_form(token):
            return LEGAL_FORM_WEIGHT, LEGAL_FORM_WEIGHT
        if token in self._doc_freq or (len(token) < 4 and script != ABJAD):
            return self.weight(token), self.rarity(token)
        similar = self.similar_tokens(token, script)
        as_name = self._reference.get(token, 1.0)
        if not similar:
            return 1.0, as_name
        # Deterministic among equally similar words (set order varies between processes).
        tid, _ = max(similar, key=lambda item: (item[1], self.vocab_tokens[item[0]]))
        nearest = self.vocab_tokens[tid]
        return self.weight(nearest), min(as_name, self.rarity(nearest))

    def prepare_query(self, query: Query) -> list[PreparedName]:
        """Every Latin form of every name of the query, tokenised and weighed."""
        kind = name_kind(query.entity_type)
        prepared = []
        for text in query.names:
            script = script_of(text)
            for latin in latin_variants(text):
                tokens = name_tokens(latin, kind)
                if tokens:
                    weighed = [self.query_weight(t, script, kind) for t in tokens]
                    weights = tuple(w for w, _ in weighed)
                    rarity = tuple(r for _, r in weighed)
                    prepared.append(PreparedName.of(text, tokens, weights, script, rarity, kind))
        return prepared

    # -- candidate search -----------------------------------------------------------------

    def similar_tokens(self, token: str, script: str = "") -> list[tuple[int, float]]:
        """Vocabulary tokens similar to `token`: (token id, similarity)."""
        if script == ABJAD:
            return self._similar_skeletons(token)
        lookups = _variants(token)
        if len(token) == 3:
            # Two letters swapped in a short word ("sko" / "sok"): too short for deletions.
            lookups |= {token[1] + token[0] + token[2], token[0] + token[2] + token[1]}
        variants = np.asarray([hash(v) for v in lookups], dtype=np.int64)
        left = np.searchsorted(self._variant_hash, variants, side="left")
        right = np.searchsorted(self._variant_hash, variants, side="right")
        found: dict[int, float] = {}
        for lo, hi in zip(left.tolist(), right.tolist(), strict=True):
            for tid in self._variant_tid[lo:hi].tolist():
                if tid not in found:
                    found[tid] = token_similarity(token, self.vocab_tokens[tid])
        return [(tid, sim) for tid, sim in found.items() if sim > 0]

    def _similar_skeletons(self, token: str) -> list[tuple[int, float]]:
        key = skeleton(token)
        found: dict[int, float] = {}
        for tid in self._skeletons.all_of(_deletions(key)).tolist():
            if tid not in found:
                found[tid] = token_similarity(
                    SKELETON_MARK + key, SKELETON_MARK + skeleton(self.vocab_tokens[tid])
                )
        return [(tid, sim) for tid, sim in found.items() if sim > 0]

    def _token_hits(self, token: str, script: str, with_glued: bool) -> _Hits | None:
        """Names holding a word similar to `token`, each with its best similarity (sorted by
        name). Cached: the same words come back in query after query."""
        key = (token, script, with_glued)
        hit = self._hits_cache.get(key)
        if hit is not None or key in self._hits_cache:
            return hit
        posts: list[tuple[float, np.ndarray]] = []
        for tid, sim in self.similar_tokens(token, script):
            for post in (
                self._postings[tid],
                self._glued_postings[tid] if with_glued else None,
            ):
                if post is not None and post.size:
                    posts.append((sim, post))
        result: _Hits | None = None
        if len(posts) == 1:
            sim, names = posts[0]
            result = _Hits(names, np.full(names.size, sim, dtype=np.float32), sim, names, names)
        elif posts:
            # A name reached through several similar words counts the best one once.
            posts.sort(key=lambda item: -item[0])
            names = np.concatenate([p for _, p in posts])
            sims = np.concatenate([np.full(p.size, g, dtype=np.float32) for g, p in posts])
            names, first = np.unique(names, return_index=True)
            result = _Hits(names, sims[first], posts[0][0], names, names)
        if result is not None:
            totals = self.name_total[result.names]
            order = np.argsort(totals, kind="stable")
            result = result._replace(by_total=result.names[order], totals=totals[order])
        if len(self._hits_cache) >= HITS_CACHE_SIZE:
            self._hits_cache.clear()
        self._hits_cache[key] = result
        return result

    def candidates(self, query: PreparedName, floor: float) -> np.ndarray:
        """Names worth scoring exactly for one query name: those whose estimated name score
        reaches `floor`, the best CANDIDATES_PER_NAME of them.

        The work depends on the postings of the query's words, not on the size of the index:
        names are gathered from the rarer words' postings only, as many as it takes to prove
        that a name reached by none of them could not rank among the best (its estimate,
        from the commoner words alone, stays under the CANDIDATES_PER_NAME-th estimate
        found); the commoner words' postings are then only probed for the names gathered.
        """
        if not query.tokens:
            return np.empty(0, dtype=np.int32)
        toks = query.tokens
        # (token, weight, also match glued word pairs of listed names)
        lookups = [(t, w, True) for t, w in zip(toks, query.weights, strict=True)]
        lookups += [
            (toks[i] + toks[i + 1], query.weights[i] + query.weights[i + 1], False)
            for i in range(len(toks) - 1)
        ]
        hits: list[tuple[_Hits, float]] = []
        for token, weight, with_glued in lookups:
            hit = self._token_hits(token, query.script, with_glued)
            if hit is not None:
                hits.append((hit, weight))
        same = self._by_tokens.all(toks)
        if not hits:
            return same.copy()
        total = max(query.total, 1e-6)
        touched, estimate = self._gather(hits, total, floor)
        # Still many: a name must also rank among the CANDIDATES_PER_NAME best estimates.
        passing = estimate[estimate >= floor]
        if touched.size > GATHER_ALL and passing.size > CANDIDATES_PER_NAME:
            bar = float(np.partition(passing, -CANDIDATES_PER_NAME)[-CANDIDATES_PER_NAME])
            touched, estimate = self._gather(hits, total, bar)
        keep = np.flatnonzero(estimate >= floor)
        if keep.size > CANDIDATES_PER_NAME:
            # The best estimates; among names tied at the cut, the first listed (the same
            # choice however many other names were gathered).
            cut = np.partition(estimate[keep], -CANDIDATES_PER_NAME)[-CANDIDATES_PER_NAME]
            above = keep[estimate[keep] > cut]
            at_cut = keep[estimate[keep] == cut][: CANDIDATES_PER_NAME - above.size]
            keep = np.concatenate([above, at_cut])
        found = touched[keep].astype(np.int32)
        if same.size:
            found = np.union1d(found, same)
        return found

    def _gather(
        self, hits: list[tuple[_Hits, float]], total: float, bar: float
    ) -> tuple[np.ndarray, np.ndarray]:
        """The names the query's words reach that may estimate at `bar` or above (sorted
        ids; a superset), and their estimates.

        The commonest words are only probed (looked up for the names the other words
        reach) as far as a name that only they reach cannot estimate at `bar` unless its
        own weight is at most `light`: of their postings, only such light names are
        gathered. So a legal form or a common given name brings in the few listed names
        that hold little else, not the thousands that hold it."""
        by_size = sorted(hits, key=lambda item: -item[0].names.size)
        best_split, best_light = _probe_split(by_size, total, bar)
        gathered, probed = by_size[best_split:], by_size[:best_split]
        names = [hit.names for hit, _ in gathered]
        gains = [hit.sims * weight for hit, weight in gathered]
        edge = best_light * (1 + 1e-6)
        for hit, _ in probed:
            light_names = hit.by_total[: np.searchsorted(hit.totals, edge, "right")]
            names.append(light_names)
            gains.append(np.zeros(light_names.size, dtype=np.float32))
        acc: np.ndarray
        if len(names) == 1:
            touched, acc = names[0], gains[0].astype(np.float64)
        else:
            touched, slot = _unique_inverse(np.concatenate(names))
            acc = np.bincount(slot, weights=np.concatenate(gains), minlength=touched.size)
        for hit, weight in probed:
            if hit.names.size <= touched.size:
                at = np.searchsorted(touched, hit.names)
                np.minimum(at, touched.size - 1, out=at)
                present = touched[at] == hit.names
                acc[at[present]] += hit.sims[present] * weight
            else:
                at = np.searchsorted(hit.names, touched)
                np.minimum(at, hit.names.size - 1, out=at)
                present = hit.names[at] == touched
                acc[present] += hit.sims[at[present]] * weight
        # Rounded: the sums of the same gains in another order must tie as they should.
        return touched, np.round(_estimate(acc, total, self.name_total[touched]), 9)


def _probe_split(by_size: list[tuple[_Hits, float]], total: float, bar: float) -> tuple[int, float]:
    """How many of the commonest words (`by_size`, most names first) to probe rather than
    gather, and the heaviest name they still gather: the split that gathers fewest names
    (probing one word costs about as much as gathering a few hundred). Split 0 gathers
    everything."""
    everything = sum(hit.names.size for hit, _ in by_size)
    # A split costs at least its probes and the words it gathers whole: when that is no
    # less than gathering everything for every split, none is worth working out.
    unprobed = everything
    for split, (hit, _) in enumerate(by_size[:-1], start=1):
        unprobed -= hit.names.size
        if PROBE_COST * split + unprobed < everything:
            break
    else:
        return 0, 0.0
    lights: list[float] = []
    aligned = 0.0
    for hit, weight in by_size[:-1]:
        aligned += hit.best * weight
        light = _light_limit(aligned, total, bar - ESTIMATE_MARGIN)
        if light is None:
            break
        lights.append(light)
    if not lights:
        return 0, 0.0
    # The names each split gathers: all of the words it does not probe, and the light ones
    # (up to its edge) of those it probes; one search per probed word for every split.
    edges = [light * (1 + 1e-6) for light in lights]
    costs = []
    unprobed = everything
    for split, (hit, _) in enumerate(by_size[: len(lights)]):
        unprobed -= hit.names.size
        costs.append(PROBE_COST * (split + 1) + unprobed)
    for split, (hit, _) in enumerate(by_size[: len(lights)]):
        light_counts = np.searchsorted(hit.totals, edges[split:], "right").tolist()
        for later, count in enumerate(light_counts, start=split):
            costs[later] += count
    best_cost = min(costs)
    if best_cost < everything:
        best = costs.index(best_cost)  # the first of equal costs: the fewest probes
        return best + 1, lights[best]
    return 0, 0.0


class _Hits(NamedTuple):
    """The names a query word reaches: sorted ids, each one's best similarity, the best
    similarity; and the same names ordered by their weight."""

    names: np.ndarray
    sims: np.ndarray
    best: float
    by_total: np.ndarray  # names, lightest first
    totals: np.ndarray  # their weights (name_total), ascending


def _unique_inverse(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """np.unique(values, return_inverse=True) for a 1-d array, without its general
    machinery: the sorted distinct values and where each value went."""
    order = np.argsort(values, kind="stable")
    ordered = values[order]
    first = np.empty(ordered.size, dtype=bool)
    first[:1] = True
    np.not_equal(ordered[1:], ordered[:-1], out=first[1:])
    slot = np.empty(ordered.size, dtype=np.intp)
    slot[order] = np.cumsum(first) - 1
    return ordered[first], slot


def _estimate(aligned: np.ndarray, query_total: float, name_total: np.ndarray) -> np.ndarray:
    """Optimistic estimate of a name score from the weight aligned: the listed name aligns
    about as much weight as the query did, and what did not align may still align as glued
    or cut words, so it counts as missing, not as a conflict (see names.py)."""
    # Ufuncs in place rather than np.clip: the same values, at a few microseconds less of
    # call overhead on the short arrays of one query name.
    u_q = np.divide(aligned, query_total)
    np.subtract(1.0, u_q, out=u_q)
    np.minimum(np.maximum(u_q, 0.0, out=u_q), 1.0, out=u_q)
    u_c = np.divide(aligned, np.maximum(name_total, 1e-6))
    np.subtract(1.0, u_c, out=u_c)
    np.minimum(np.maximum(u_c, 0.0, out=u_c), 1.0, out=u_c)
    low = np.minimum(u_q, u_c)
    np.maximum(u_q, u_c, out=u_c)
    return 1.0 - CONFLICT * low * 0.5 - MISSING * u_c


def _light_limit(aligned: float, query_total: float, bar: float) -> float | None:
    """The largest weight of a listed name that may still estimate at `bar` or above when
    it aligns at most `aligned` of the query's weight `query_total` (heavier names leave
    more of their own weight unaligned); None when any name may."""
    c, m = CONFLICT * 0.5, MISSING
    u_q = min(max(1.0 - aligned / query_total, 0.0), 1.0)
    if 1.0 - c * u_q - m >= bar:
        return None  # even a name aligning nothing of its own would
    # The unaligned share of the name's weight above which its estimate is under `bar`
    # (the estimate falls with it, at rate c while it is under u_q and m above).
    if 1.0 - (c + m) * u_q < bar:
        u_c = max(0.0, (1.0 - bar - m * u_q) / c)
    else:
        u_c = (1.0 - bar - c * u_q) / m
    return aligned / (1.0 - u_c)
