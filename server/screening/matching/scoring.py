"""Scoring: a name alignment plus the other features gives one scored match; scored
matches are then put in the order an analyst reads them."""

from __future__ import annotations

from screening.matching.features import DECISIVE, FEATURES
from screening.matching.names import Alignment, PreparedName
from screening.matching.types import Component, MatchResult, Query
from screening.matching.weights import (
    ALERT_THRESHOLD,
    CEILING_SLOPE,
    CORROBORATION,
    DOB_EXACT,
    DOB_NEAR_YEAR,
    DOB_SAME_YEAR,
    IDENTIFIER_DECISIVE,
    INFORMATION_FOR_ALERT,
    SCORE_RESOLUTION,
    WEAK_ALIAS_FACTOR,
)
from screening.model.entities import Entity


def score_pair(
    query: Query,
    entity: Entity,
    alignment: Alignment,
    query_name: PreparedName,
    listed_name: PreparedName,
    *,
    weak: bool = False,
    screening: bool = True,
) -> MatchResult:
    """Name score plus the other features, clamped to 0-1, with the explanation.
    `screening`: a party against the lists, where the score may not exceed what the
    evidence proves (see evidence_ceiling); comparing two given parties has no such
    ceiling, as the parties were not drawn from a crowd of innocent namesakes."""
    name_score = alignment.score * (WEAK_ALIAS_FACTOR if weak else 1.0)
    # The name's detail is spelled out by MatchResult.explain(), for returned matches only.
    components = [Component("name", round(name_score, 4), "")]
    for feature in FEATURES:
        component = feature(query, entity)
        if component is not None:
            components.append(component)
    decisive = any(c.contribution >= DECISIVE for c in components[1:])
    evidence = name_score + sum(c.contribution for c in components[1:] if c.contribution < DECISIVE)
    if decisive:
        score = max(evidence, IDENTIFIER_DECISIVE)
    elif screening:
        ceiling = evidence_ceiling(alignment.information, components)
        if alignment.exact:
            # A name alone, however common, is evidence for review when it is the same
            # full name: an alert, never more without a rare name or corroboration.
            ceiling = max(ceiling, ALERT_THRESHOLD)
        score = min(evidence, ceiling)
    else:
        score = evidence
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


def evidence_ceiling(information: float, components: list[Component]) -> float:
    """The highest score the evidence allows. Screening meets many innocent namesakes for
    each listed party: an agreement on common words alone (two of the commonest names,
    one generic word) stays below the alert threshold however exact, and only a rare name
    or corroboration (birth date, country) reaches a near-certain score. `information` is
    what the name agreement proves; agreeing features add theirs."""
    for component in components[1:]:
        information += corroboration(component)
    return ALERT_THRESHOLD + CEILING_SLOPE * (information - INFORMATION_FOR_ALERT)


def corroboration(component: Component) -> float:
    """What an agreeing feature proves (0 for one that does not agree)."""
    if component.feature == "birth_date":
        if component.contribution >= DOB_EXACT:
            return CORROBORATION["birth_date_exact"]
        if component.contribution >= DOB_SAME_YEAR:
            return CORROBORATION["birth_date"]
        return CORROBORATION["birth_date_near"] if component.contribution == DOB_NEAR_YEAR else 0.0
    return CORROBORATION.get(component.feature, 0.0) if component.contribution > 0 else 0.0


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
