"""The matcher a worker screens with: one per snapshot, queried from any number of
coroutines.

`MatchIndex(entities)` builds the candidate index (candidates.py); `screen` finds
candidates for each name of a query, aligns them (names.py), scores them with the other
features (scoring.py) and returns the best, ordered. `brute_force` scores every name, to
measure what the candidate stage loses; `compare` scores two parties (CompareParties).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterable, Iterator

import numpy as np

from screening.matching.budget import spend
from screening.matching.candidates import CandidateIndex, SplitWork, name_kind
from screening.matching.features import (
    best_gain,
    listed_identifier_forms,
    query_identifier_forms,
    types_compatible,
)
from screening.matching.hashed import HashedLookup
from screening.matching.names import Alignment, PreparedName, compare_names, prepare_name
from screening.matching.scoring import group_related, score_pair, settle_near_ties
from screening.matching.translit import LATIN
from screening.matching.types import Component, MatchResult, Query
from screening.matching.weights import (
    ALERT_THRESHOLD,
    ESTIMATE_SLACK,
    MISSING,
    MISSING_IN_LISTED,
)
from screening.model.entities import ENTITY_ENCODER, Entity, EntityType, Name
from screening.model.entity_table import EntityTable
from screening.observability import stages

# Entity kinds by their code in MatchIndex.name_type.
_ENTITY_TYPES = tuple(EntityType)
# Entities encoded between two yields of a build.
ENCODE_SLICE = 2000
# A score is rounded to 4 places: one this far under min_score may still round up to it.
SCORE_ROUNDING = 1e-4

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


class MatchIndex:
    """Every name of every entity of a snapshot, indexed for candidate search."""

    def __init__(
        self,
        entities: Iterable[Entity],
        source_order: Iterable[str] = DEFAULT_SOURCE_ORDER,
        split: SplitWork | None = None,
    ) -> None:
        """`split`: part of the build's work in another process (candidates.SplitWork)."""
        for _ in self._build(entities, source_order, split):
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

    def _build(
        self,
        entities: Iterable[Entity],
        source_order: Iterable[str],
        split: SplitWork | None = None,
    ) -> Iterator[None]:
        """Build the index, yielding every few hundred names."""
        entity_list = list(entities)
        # Lookups held as arrays (hashed.py): an id's position, an identifier's entities.
        self._positions = HashedLookup(
            (e.id for e in entity_list), range(len(entity_list)), np.int32
        )
        # Ties go to the list first in the source order, then to the entry other lists cite
        # as the origin of theirs (cited, citing none).
        cited = {ref for e in entity_list for ref in e.related}
        source_rank = {source: i for i, source in enumerate(source_order)}
        self._precedence = np.asarray(
            [
                (
                    source_rank.get(e.source, len(source_rank)),
                    0 if e.id in cited and not e.related else 1,
                )
                for e in entity_list
            ],
            dtype=np.int16,
        ).reshape(-1, 2)
        self.candidates = CandidateIndex()
        yield from self.candidates.build(entity_list, split)

        self.sources = sorted({e.source for e in entity_list})
        source_ids = {s: i for i, s in enumerate(self.sources)}
        self.entity_source = np.asarray([source_ids[e.source] for e in entity_list], dtype=np.int16)
        # Per name: its entity's list and kind, so that a query's candidates are filtered
        # by source and by kind in one step, not one Python test per candidate.
        type_ids = {t: i for i, t in enumerate(_ENTITY_TYPES)}
        entity_type = np.asarray([type_ids[e.entity_type] for e in entity_list], dtype=np.int8)
        name_entity = self.candidates.name_entity
        self.name_source = self.entity_source[name_entity]
        self.name_type = entity_type[name_entity]
        self._compatible: dict[EntityType, np.ndarray] = {}
        identified = [
            (value, idx)
            for idx, entity in enumerate(entity_list)
            for ident in entity.identifiers
            for value in listed_identifier_forms(ident, entity)
            if len(value) >= 4
        ]
        self.identifiers = HashedLookup(
            (value for value, _ in identified), (idx for _, idx in identified), np.int32
        )
        # From here on an entity is read about once a screening: held encoded.
        encoded: list[bytes] = []
        for start in range(0, len(entity_list), ENCODE_SLICE):
            encoded += map(ENTITY_ENCODER.encode, entity_list[start : start + ENCODE_SLICE])
            yield
        self.entities = EntityTable.join(encoded)

    @property
    def name_count(self) -> int:
        return self.candidates.name_count

    def position(self, entity_id: str) -> int | None:
        """Where the entity of this id is in `entities`, if the index holds it."""
        for at in self._positions.all(entity_id).tolist():
            if self.entities[at].id == entity_id:  # not another id of the same hash
                return int(at)
        return None

    def precedence(self, e_idx: int) -> tuple[int, int]:
        """Order among tied matches: the entity's list in the source order, then 0 for the
        entry other lists cite as their origin (citing none), else 1."""
        rank, cited = self._precedence[e_idx].tolist()
        return (rank, cited)

    def screen(
        self,
        query: Query,
        *,
        min_score: float = ALERT_THRESHOLD,
        sources: Iterable[str] | None = None,
        limit: int = 10,
        exhaustive: bool = False,
    ) -> list[MatchResult]:
        """The entities whose best name scores at least `min_score`, best first (at most
        `limit`; 0: all). `exhaustive` scores every listed name instead of candidates."""
        index = self.candidates
        prepared = index.prepare_query(query)
        stages.mark("normalise")
        allowed = self._source_mask(sources)
        compatible = self._compatible_types(query.entity_type)
        best: dict[int, MatchResult] = {}
        floor = min_score - ESTIMATE_SLACK
        # A name score under this cannot reach min_score, whatever the other features add:
        # the pair is not scored. (An equal decisive identifier lifts any name score.)
        reach = floor
        if not query.identifiers:
            reach = max(floor, min_score - best_gain(query) - SCORE_ROUNDING)
        for qname in prepared:
            spend()
            stages.mark("score")
            names = (
                np.arange(index.name_count, dtype=np.int32)
                if exhaustive
                else index.candidates(qname, floor)
            )
            stages.mark("candidates")
            keep = compatible[self.name_type[names]]
            if allowed is not None:
                keep &= allowed[self.name_source[names]]
            names = names[keep]
            # Many entries share a spelling (one person on several lists): align it once.
            aligned: dict[tuple[str, ...], Alignment] = {}
            for n, e_idx in zip(names.tolist(), index.name_entity[names].tolist(), strict=True):
                spend()
                listed = index.names[n]
                alignment = aligned.get(listed.tokens)
                if alignment is None or listed.script != LATIN or qname.script != LATIN:
                    alignment = aligned[listed.tokens] = compare_names(qname, listed)
                if alignment.score < reach:
                    continue
                entity = self.entities[e_idx]  # decoded: read only past the cut
                weak = bool(index.name_weak[n])
                result = score_pair(query, entity, alignment, qname, listed, weak=weak)
                result.precedence = self.precedence(e_idx)
                current = best.get(e_idx)
                if current is None or result.sort_key() < current.sort_key():
                    best[e_idx] = result
        for e_idx in self._identifier_hits(query):
            if allowed is not None and not allowed[self.entity_source[e_idx]]:
                continue
            entity = self.entities[e_idx]
            result = self._best_pair(query, prepared, entity)
            result.precedence = self.precedence(e_idx)
            current = best.get(e_idx)
            if current is None or result.sort_key() < current.sort_key():
                best[e_idx] = result
        results = [r for r in best.values() if r.score >= min_score]
        results.sort(key=MatchResult.sort_key)
        results = group_related(settle_near_ties(results))
        results = results[:limit] if limit > 0 else results
        return [r.explain() for r in results]

    def brute_force(self, query: Query, *, min_score: float = ALERT_THRESHOLD) -> list[MatchResult]:
        """Score every name of every entity (slow): the reference for candidate-stage loss."""
        return self.screen(query, min_score=min_score, limit=0, exhaustive=True)

    def _best_pair(
        self,
        query: Query,
        prepared: list[PreparedName],
        entity: Entity,
        query_extra: float = MISSING_IN_LISTED,
        screening: bool = True,
    ) -> MatchResult:
        kind = name_kind(entity.entity_type)
        best: MatchResult | None = None
        for qname in prepared or [PreparedName.of("", (), ())]:
            for name in entity.all_names():
                spend()
                cname = prepare_name(name.full, kind, self.candidates.weight)
                result = score_pair(
                    query,
                    entity,
                    compare_names(qname, cname, query_extra=query_extra, screening=screening),
                    qname,
                    cname,
                    weak=name.quality == "weak",
                    screening=screening,
                )
                if best is None or result.sort_key() < best.sort_key():
                    best = result
        assert best is not None
        return best

    def _compatible_types(self, query_type: EntityType) -> np.ndarray:
        """Kinds of listed parties a query of this kind is scored against (a person never
        against a vessel), by the codes of name_type."""
        compatible = self._compatible.get(query_type)
        if compatible is None:
            compatible = self._compatible[query_type] = np.asarray(
                [types_compatible(query_type, t) for t in _ENTITY_TYPES], dtype=bool
            )
        return compatible

    def _identifier_hits(self, query: Query) -> set[int]:
        hits: set[int] = set()
        for ident in query.identifiers:
            for value in query_identifier_forms(ident, query.country):
                hits.update(self.identifiers.all(value).tolist())
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
        prepared = self.candidates.prepare_query(left)
        result = self._best_pair(left, prepared, right_entity, MISSING, screening=False)
        return result.score, result.explain().components
