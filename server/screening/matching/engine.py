"""The matcher: candidate search over an in-memory index, then scoring and explanation.

Build once per snapshot (`MatchIndex(entities)`); query from any number of coroutines.
Candidate search: each query token is looked up in the vocabulary of list tokens through a
deletion neighbourhood of transliteration keys (finds spellings a few edits apart), its
postings accumulate an estimate of each list name's score, and the best estimates are
scored exactly. `brute_force` scores every name, to measure what the candidate stage loses.
"""

from __future__ import annotations

import asyncio
import itertools
import math
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

import numpy as np

from screening.matching import features
from screening.matching.features import Component, Query
from screening.matching.names import (
    CONFLICT,
    LEGAL_FORM_WEIGHT,
    MISSING,
    MISSING_IN_LISTED,
    SKELETON_MARK,
    Alignment,
    PreparedName,
    compare_names,
    prepare_name,
    token_similarity,
    translit_key,
)
from screening.matching.normalize import (
    LEGAL_FORM_TOKENS,
    ORGANIZATION,
    PERSON,
    UNKNOWN,
    name_tokens,
)
from screening.matching.translit import ABJAD, LATIN, latin_variants, script_of, skeleton
from screening.model.entities import DateBasis, Entity, EntityType, Name

DEFAULT_THRESHOLD = 0.80
# Scores closer than this are equal for ordering (see settle_near_ties).
SCORE_RESOLUTION = 0.01
# Order of lists among matches that tie on score and evidence: the UN designation, which
# member states implement, first; then the lists in the order compliance teams read them.
DEFAULT_SOURCE_ORDER = (
    "un",
    "ofac-sdn",
    "ofac-cons",
    "eu",
    "uk-sl",
    "uk",
    "ca-sema",
    "us-bis-dpl",
    "us-csl",
)
# Names scored exactly per query name, and how far below min_score an estimate may be.
CANDIDATES_PER_NAME = 64
# Names (or words) built between two yields of the cooperative build.
BUILD_STEP = 256
# Distinct query words whose index hits a worker keeps (cleared when full).
HITS_CACHE_SIZE = 20000
ESTIMATE_SLACK = 0.15


@dataclass(slots=True)
class MatchResult:
    entity: Entity
    score: float
    matched_name: str
    query_name: str
    components: list[Component]
    # Sum of the evidence before clamping to 0-1: orders matches that both reach 1.0.
    evidence: float = 0.0

    # Set by the index: the position of its list in the source order, then 0 for an entry
    # other lists cite as the origin of theirs.
    precedence: tuple[int, int] = (99, 1)
    alignment: Alignment | None = None
    weak: bool = False

    def explain(self) -> MatchResult:
        """Spell out the name component's detail (deferred: most candidates are dropped)."""
        name = self.components[0]
        if self.alignment is not None and not name.detail:
            detail = name_detail(self.alignment, self.query_name, self.matched_name, self.weak)
            self.components[0] = Component(name.feature, name.contribution, detail)
        return self

    def sort_key(self) -> tuple[float, int, float, tuple[int, int], int, str]:
        """Best first: score; then more features that agree (birth date, country,
        identifiers), then more evidence in all; then the rest of the tie order."""
        agreeing, precedence, official, entity_id = self.tie_key()
        return (-self.score, agreeing, -self.evidence, precedence, official, entity_id)

    def tie_key(self) -> tuple[int, tuple[int, int], int, str]:
        """Order among matches whose scores differ by less than the score can tell apart:
        more features that agree; then the source order (the UN designation, which member
        states implement, before national lists) and, within a list, the origin before
        entries citing it; then an official designation date before one known only from
        first sight; then id."""
        agreeing = sum(1 for c in self.components[1:] if c.contribution > 0)
        official = self.entity.designation_date_basis == DateBasis.OFFICIAL
        return (-agreeing, self.precedence, 0 if official else 1, self.entity.id)


def settle_near_ties(results: list[MatchResult]) -> list[MatchResult]:
    """Re-order runs of sorted matches whose score and evidence are within SCORE_RESOLUTION
    of the run's best by their tie order: a doubled letter moves a score by a few
    thousandths, which says nothing about which entry is the better match."""
    settled: list[MatchResult] = []
    start = 0
    while start < len(results):
        lead = results[start]
        end = start + 1
        while (
            end < len(results)
            and lead.score - results[end].score < SCORE_RESOLUTION
            and lead.evidence - results[end].evidence < SCORE_RESOLUTION
        ):
            end += 1
        settled.extend(sorted(results[start:end], key=MatchResult.tie_key))
        start = end
    return settled


def group_related(results: list[MatchResult]) -> list[MatchResult]:
    """Records of one designation in several lists (a national entry citing the UN entry it
    implements, and entries citing that one) are listed together where the best of them
    ranks, the origin first: the analyst reads one designation, not scattered copies, and
    the origin's own record leads even when a copy agrees on one more detail."""
    if len(results) < 2:
        return results
    position = {r.entity.id: i for i, r in enumerate(results)}
    parent = list(range(len(results)))

    def root(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    linked = False
    for i, result in enumerate(results):
        for ref in result.entity.related:
            j = position.get(ref)
            if j is not None and root(i) != root(j):
                parent[max(root(i), root(j))] = min(root(i), root(j))
                linked = True
    if not linked:
        return results
    groups: dict[int, list[int]] = {}
    for i in range(len(results)):
        groups.setdefault(root(i), []).append(i)
    ordered: list[MatchResult] = []
    for members in sorted(groups.values(), key=lambda m: m[0]):
        # The origin (cited, citing none) first, then the group's own rank order.
        members.sort(key=lambda i: (results[i].precedence[1], i))
        ordered.extend(results[i] for i in members)
    return ordered


def kind_of(entity_type: EntityType) -> str:
    if entity_type == EntityType.PERSON:
        return PERSON
    if entity_type == EntityType.UNKNOWN:
        return UNKNOWN
    return ORGANIZATION


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


class MatchIndex:
    """Every name of every entity of a snapshot, indexed for candidate search."""

    def __init__(
        self, entities: Iterable[Entity], source_order: Iterable[str] = DEFAULT_SOURCE_ORDER
    ) -> None:
        for _ in self._build(entities, source_order):
            pass

    @classmethod
    async def build_async(
        cls,
        entities: Iterable[Entity],
        source_order: Iterable[str] = DEFAULT_SOURCE_ORDER,
        slice_seconds: float = 0.003,
    ) -> MatchIndex:
        """Build on the event loop in slices of a few milliseconds, so a worker keeps
        answering while it builds the index of a new snapshot (a build thread would hold the
        GIL for seconds and stall every call)."""
        index = cls.__new__(cls)
        deadline = time.perf_counter() + slice_seconds
        for _ in index._build(entities, source_order):
            if time.perf_counter() >= deadline:
                await asyncio.sleep(0)
                deadline = time.perf_counter() + slice_seconds
        return index

    def _build(self, entities: Iterable[Entity], source_order: Iterable[str]) -> Iterator[None]:
        """Build the index, yielding every few hundred names."""
        self.entities: list[Entity] = list(entities)
        self.by_id = {e.id: i for i, e in enumerate(self.entities)}
        # Ties go to the list first in the source order, then to the entry other lists cite
        # as the origin of theirs (cited, citing none).
        cited = {ref for e in self.entities for ref in e.related}
        source_rank = {source: i for i, source in enumerate(source_order)}
        self._precedence = [
            (
                source_rank.get(e.source, len(source_rank)),
                0 if e.id in cited and not e.related else 1,
            )
            for e in self.entities
        ]
        raw_names: list[tuple[int, str, str, bool]] = []  # entity idx, text, kind, weak
        doc_freq: dict[str, int] = {}
        for idx, entity in enumerate(self.entities):
            kind = kind_of(entity.entity_type)
            entity_tokens: set[str] = set()
            for name in entity.all_names():
                tokens = name_tokens(name.full, kind)
                if not tokens:
                    continue
                raw_names.append((idx, name.full, kind, name.quality == "weak"))
                entity_tokens.update(tokens)
            for token in entity_tokens:
                doc_freq[token] = doc_freq.get(token, 0) + 1
            if idx % BUILD_STEP == 0:
                yield
        self._doc_freq = doc_freq
        self._log_n = math.log(len(self.entities) + 2)

        self.names: list[PreparedName] = []
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

        for n, (idx, text, kind, weak) in enumerate(raw_names):
            prepared = prepare_name(text, kind, self.weight)
            self.names.append(prepared)
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
        self.vocab_tokens = list(vocab)
        self._postings = _Postings(postings)
        yield
        self._glued_postings = _Postings(glued_postings)
        yield

        # Deletion neighbourhood of each word and of its transliteration key. Glued word
        # pairs are found by their exact spelling or key only: they are many, typos in
        # them rare.
        hashes: list[int] = []
        tids: list[int] = []
        for token, tid in vocab.items():
            if len(self._postings[tid]):
                variants = _variants(token)
            else:
                variants = {token, "~" + translit_key(token)}
            for variant in variants:
                hashes.append(hash(variant))
                tids.append(tid)
            if tid % BUILD_STEP == 0:
                yield
        yield
        order = np.argsort(np.asarray(hashes, dtype=np.int64), kind="stable")
        self._variant_hash = np.asarray(hashes, dtype=np.int64)[order]
        self._variant_tid = np.asarray(tids, dtype=np.int32)[order]
        # Consonant skeletons, for names written in an abjad (Arabic, Persian, Hebrew).
        self._skeletons: dict[str, list[int]] = {}
        for token, tid in vocab.items():
            if not token.isdigit():
                self._skeletons.setdefault(skeleton(token), []).append(tid)
            if tid % BUILD_STEP == 0:
                yield

        self.sources = sorted({e.source for e in self.entities})
        source_ids = {s: i for i, s in enumerate(self.sources)}
        self.entity_source = np.asarray(
            [source_ids[e.source] for e in self.entities], dtype=np.int16
        )
        self.identifiers: dict[str, list[int]] = {}
        for idx, entity in enumerate(self.entities):
            for ident in entity.identifiers:
                for value in features.listed_identifier_forms(ident, entity):
                    if len(value) >= 4:
                        self.identifiers.setdefault(value, []).append(idx)
        self.name_count = len(self.names)
        self._hits_cache: dict[tuple[str, str, bool], tuple[np.ndarray, np.ndarray] | None] = {}

    # -- weights -------------------------------------------------------------------------

    def weight(self, token: str) -> float:
        """How identifying a token is, from how many entries use it (inverse document
        frequency, scaled to 0.1-1). Words the lists never use count as rare."""
        df = self._doc_freq.get(token, 0)
        return max(0.1, min(1.0, math.log((len(self.entities) + 2) / (df + 1)) / self._log_n))

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
        for variant in _deletions(key):
            for tid in self._skeletons.get(variant, ()):
                if tid not in found:
                    found[tid] = token_similarity(
                        SKELETON_MARK + key, SKELETON_MARK + skeleton(self.vocab_tokens[tid])
                    )
        return [(tid, sim) for tid, sim in found.items() if sim > 0]

    def _token_hits(
        self, token: str, script: str, with_glued: bool
    ) -> tuple[np.ndarray, np.ndarray] | None:
        """Names holding a word similar to `token`, each with its best similarity. Cached:
        the same words come back in query after query."""
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
        result: tuple[np.ndarray, np.ndarray] | None = None
        if len(posts) == 1:
            sim, names = posts[0]
            result = (names, np.full(names.size, sim, dtype=np.float32))
        elif posts:
            # A name reached through several similar words counts the best one once.
            posts.sort(key=lambda item: -item[0])
            names = np.concatenate([p for _, p in posts])
            sims = np.concatenate([np.full(p.size, g, dtype=np.float32) for g, p in posts])
            names, first = np.unique(names, return_index=True)
            result = (names, sims[first])
        if len(self._hits_cache) >= HITS_CACHE_SIZE:
            self._hits_cache.clear()
        self._hits_cache[key] = result
        return result

    def _candidates(self, query: PreparedName, floor: float) -> np.ndarray:
        """Names worth scoring exactly for one query name."""
        if not query.tokens:
            return np.empty(0, dtype=np.int32)
        toks = query.tokens
        # (token, weight, also match glued word pairs of listed names)
        lookups = [(t, w, True) for t, w in zip(toks, query.weights, strict=True)]
        lookups += [
            (toks[i] + toks[i + 1], query.weights[i] + query.weights[i + 1], False)
            for i in range(len(toks) - 1)
        ]
        hit_names: list[np.ndarray] = []
        hit_gains: list[np.ndarray] = []
        for token, weight, with_glued in lookups:
            hit = self._token_hits(token, query.script, with_glued)
            if hit is not None:
                hit_names.append(hit[0])
                hit_gains.append(hit[1] * weight)
        if not hit_names:
            return np.empty(0, dtype=np.int32)
        acc = np.bincount(
            np.concatenate(hit_names),
            weights=np.concatenate(hit_gains),
            minlength=self.name_count,
        )
        touched = np.flatnonzero(acc)
        acc = acc[touched]
        # Optimistic estimate of the name score (see names.py): the listed name aligns about
        # as much weight as the query did, and what did not align may still align as glued
        # or cut words, so it counts as missing, not as a conflict.
        u_q = np.clip(1.0 - acc / max(query.total, 1e-6), 0.0, 1.0)
        u_c = np.clip(1.0 - acc / np.maximum(self.name_total[touched], 1e-6), 0.0, 1.0)
        estimate = 1.0 - CONFLICT * np.minimum(u_q, u_c) * 0.5 - MISSING * np.maximum(u_q, u_c)
        keep = np.flatnonzero(estimate >= floor)
        if keep.size > CANDIDATES_PER_NAME:
            keep = keep[np.argpartition(-estimate[keep], CANDIDATES_PER_NAME)[:CANDIDATES_PER_NAME]]
        return touched[keep].astype(np.int32)

    # -- scoring --------------------------------------------------------------------------

    def query_weight(self, token: str, script: str = "") -> float:
        """Weight of a query token; a spelling the lists don't use weighs like its nearest
        listed spelling ("mohamad" like "mohammad"), an unknown word as rare."""
        if token in LEGAL_FORM_TOKENS:
            return LEGAL_FORM_WEIGHT
        if token in self._doc_freq or (len(token) < 4 and script != ABJAD):
            return self.weight(token)
        similar = self.similar_tokens(token, script)
        if not similar:
            return 1.0
        # Deterministic among equally similar words (set order varies between processes).
        tid, _ = max(similar, key=lambda item: (item[1], self.vocab_tokens[item[0]]))
        return self.weight(self.vocab_tokens[tid])

    def prepare_query(self, query: Query) -> list[PreparedName]:
        kind = kind_of(query.entity_type)
        prepared = []
        for text in query.names:
            script = script_of(text)
            for latin in latin_variants(text):
                tokens = name_tokens(latin, kind)
                if tokens:
                    weights = tuple(self.query_weight(t, script) for t in tokens)
                    prepared.append(PreparedName.of(text, tokens, weights, script))
        return prepared

    def score_entity(
        self, query: Query, alignment: Alignment, name_idx: int, query_name: PreparedName
    ) -> MatchResult:
        e_idx = int(self.name_entity[name_idx])
        result = score_pair(
            query,
            self.entities[e_idx],
            alignment,
            query_name,
            self.names[name_idx],
            weak=bool(self.name_weak[name_idx]),
        )
        result.precedence = self._precedence[e_idx]
        return result

    def screen(
        self,
        query: Query,
        *,
        min_score: float = DEFAULT_THRESHOLD,
        sources: Iterable[str] | None = None,
        limit: int = 10,
        exhaustive: bool = False,
    ) -> list[MatchResult]:
        prepared = self.prepare_query(query)
        allowed = self._source_mask(sources)
        best: dict[int, MatchResult] = {}
        floor = min_score - ESTIMATE_SLACK
        for qname in prepared:
            names = (
                np.arange(self.name_count, dtype=np.int32)
                if exhaustive
                else self._candidates(qname, floor)
            )
            # Many entries share a spelling (one person on several lists): align it once.
            aligned: dict[tuple[str, ...], Alignment] = {}
            for n in names.tolist():
                e_idx = int(self.name_entity[n])
                if allowed is not None and not allowed[self.entity_source[e_idx]]:
                    continue
                entity = self.entities[e_idx]
                if not features.types_compatible(query.entity_type, entity.entity_type):
                    continue
                listed = self.names[n]
                alignment = aligned.get(listed.tokens)
                if alignment is None or listed.script != LATIN or qname.script != LATIN:
                    alignment = aligned[listed.tokens] = compare_names(qname, listed)
                if alignment.score < floor:
                    continue
                result = self.score_entity(query, alignment, n, qname)
                current = best.get(e_idx)
                if current is None or result.sort_key() < current.sort_key():
                    best[e_idx] = result
        for e_idx in self._identifier_hits(query):
            if allowed is not None and not allowed[self.entity_source[e_idx]]:
                continue
            entity = self.entities[e_idx]
            result = self._best_pair(query, prepared, entity)
            result.precedence = self._precedence[e_idx]
            current = best.get(e_idx)
            if current is None or result.sort_key() < current.sort_key():
                best[e_idx] = result
        results = [r for r in best.values() if r.score >= min_score]
        results.sort(key=MatchResult.sort_key)
        results = group_related(settle_near_ties(results))
        results = results[:limit] if limit > 0 else results
        return [r.explain() for r in results]

    def brute_force(
        self, query: Query, *, min_score: float = DEFAULT_THRESHOLD
    ) -> list[MatchResult]:
        """Score every name of every entity (slow): the reference for candidate-stage loss."""
        return self.screen(query, min_score=min_score, limit=0, exhaustive=True)

    def _best_pair(
        self,
        query: Query,
        prepared: list[PreparedName],
        entity: Entity,
        query_extra: float = MISSING_IN_LISTED,
    ) -> MatchResult:
        kind = kind_of(entity.entity_type)
        best: MatchResult | None = None
        for qname in prepared or [PreparedName.of("", (), ())]:
            for name in entity.all_names():
                cname = prepare_name(name.full, kind, self.weight)
                result = score_pair(
                    query,
                    entity,
                    compare_names(qname, cname, query_extra=query_extra),
                    qname,
                    cname,
                    weak=name.quality == "weak",
                )
                if best is None or result.sort_key() < best.sort_key():
                    best = result
        assert best is not None
        return best

    def _identifier_hits(self, query: Query) -> set[int]:
        hits: set[int] = set()
        for ident in query.identifiers:
            for value in features.query_identifier_forms(ident, query.country):
                hits.update(self.identifiers.get(value, ()))
        return hits

    def _source_mask(self, sources: Iterable[str] | None) -> np.ndarray | None:
        wanted = set(sources or ())
        if not wanted:
            return None
        return np.asarray([s in wanted for s in self.sources], dtype=bool)

    def compare(self, left: Query, right: Query) -> tuple[float, list[Component]]:
        """Score two parties against each other (CompareParties), using list word weights.
        The right party is treated as a list entry; an unknown type takes the other's."""
        left_type = left.entity_type
        right_type = right.entity_type
        if left_type == EntityType.UNKNOWN:
            left_type = right_type
        if right_type == EntityType.UNKNOWN:
            right_type = left_type
        right_entity = Entity(
            id="compare:right",
            source="compare",
            source_ref="right",
            entity_type=right_type,
            name=right.names[0] if right.names else "",
            aliases=[Name(n) for n in right.names[1:]],
            birth_dates=[right.birth_date] if right.birth_date else [],
            countries=[right.country] if right.country else [],
            identifiers=list(right.identifiers),
        )
        left = Query(left.names, left_type, left.birth_date, left.country, left.identifiers)
        # Same party or not is symmetric: extra words on either side weigh alike.
        result = self._best_pair(left, self.prepare_query(left), right_entity, MISSING)
        return result.score, result.explain().components


def score_pair(
    query: Query,
    entity: Entity,
    alignment: Alignment,
    query_name: PreparedName,
    listed_name: PreparedName,
    *,
    weak: bool = False,
) -> MatchResult:
    """Name score plus the other features, clamped to 0-1, with the explanation."""
    name_score = alignment.score * (features.WEAK_ALIAS_FACTOR if weak else 1.0)
    # The name's detail is spelled out by MatchResult.explain(), for returned matches only.
    components = [Component("name", round(name_score, 4), "")]
    for component in (
        features.birth_date_component(query.birth_date, entity),
        features.country_component(query.country, entity),
        features.entity_type_component(query.entity_type, entity),
    ):
        if component is not None:
            components.append(component)
    components.extend(features.identifier_components(query.identifiers, entity, query.country))
    decisive = any(c.feature == "identifier" and c.contribution >= 1.0 for c in components)
    evidence = name_score + sum(c.contribution for c in components[1:] if c.contribution < 1.0)
    score = max(evidence, features.IDENTIFIER_DECISIVE) if decisive else evidence
    score = max(0.0, min(1.0, score))
    return MatchResult(
        entity,
        round(score, 4),
        listed_name.text,
        query_name.text,
        components,
        round(evidence, 4),
        alignment=alignment,
        weak=weak,
    )


def name_detail(alignment: Alignment, query_text: str, listed_text: str, weak: bool) -> str:
    """Which words of the query aligned with which of the listed name, and what did not."""
    pairs = ", ".join(f"{a}~{b}" if s < 1 else a for a, b, s in alignment.pairs) or "none"
    detail = f"'{query_text}' vs '{listed_text}': aligned {pairs}"
    if alignment.unmatched_query:
        detail += f"; unmatched in query: {' '.join(alignment.unmatched_query)}"
    if alignment.unmatched_candidate:
        detail += f"; unmatched in listed name: {' '.join(alignment.unmatched_candidate)}"
    if weak:
        detail += "; weak alias"
    for note in alignment.notes:
        detail += f"; {note}"
    return detail
