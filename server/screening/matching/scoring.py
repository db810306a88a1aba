"""Scoring: a name alignment plus the other features gives one scored match; scored
matches are then put in the order an analyst reads them."""

from __future__ import annotations

from screening.matching.features import DECISIVE, FEATURES
from screening.matching.names import Alignment, PreparedName
from screening.matching.types import Component, MatchResult, Query
from screening.matching.weights import IDENTIFIER_DECISIVE, SCORE_RESOLUTION, WEAK_ALIAS_FACTOR
from screening.model.entities import Entity


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
    name_score = alignment.score * (WEAK_ALIAS_FACTOR if weak else 1.0)
    # The name's detail is spelled out by MatchResult.explain(), for returned matches only.
    components = [Component("name", round(name_score, 4), "")]
    for feature in FEATURES:
        component = feature(query, entity)
        if component is not None:
            components.append(component)
    decisive = any(c.contribution >= DECISIVE for c in components[1:])
    evidence = name_score + sum(c.contribution for c in components[1:] if c.contribution < DECISIVE)
    score = max(evidence, IDENTIFIER_DECISIVE) if decisive else evidence
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
