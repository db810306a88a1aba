"""The matcher's types: what it is asked (Query) and what it answers (MatchResult, made of
Components). Callers import these without importing the index or the scorer.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from screening.matching.names import Alignment
from screening.model.entities import DateBasis, Entity, EntityType, Identifier


@dataclass(slots=True)
class Query:
    """A party to screen, as the matcher sees it."""

    names: list[str]
    entity_type: EntityType = EntityType.UNKNOWN
    birth_date: str = ""
    country: str = ""
    identifiers: list[Identifier] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class Component:
    """One feature's signed contribution to a score, with a detail for the analyst."""

    feature: str
    contribution: float
    detail: str


@dataclass(slots=True)
class MatchResult:
    """One listed entity scored against a query: the score, the name pair behind it and
    the components that add up to it."""

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
            detail = self.alignment.describe(self.query_name, self.matched_name, self.weak)
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
