"""Decision and risk score for one screened party, from its matches."""

from __future__ import annotations

import enum
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol, TypeVar


class Decision(enum.StrEnum):
    CLEAR = "clear"
    REVIEW = "review"
    BLOCK = "block"


@dataclass(frozen=True)
class PartyThresholds:
    """Scores at or above which a party is REVIEW and BLOCK. No defaults here: the settings
    (SCREENING_REVIEW_THRESHOLD, SCREENING_BLOCK_THRESHOLD) are the one place they live."""

    review: float
    block: float

    def evidence_floor(self, min_score: float) -> float:
        """The lowest score a screening must find: the caller's min_score may list less
        than the evidence (min_score above the review threshold), never decide on less."""
        return min(min_score, self.review)


def decide_party(scores: Sequence[float], thresholds: PartyThresholds) -> tuple[Decision, int]:
    """The decision and the risk score, from one set of evidence.

    `scores` are those of every match that counts (accepted false positives left out),
    whatever min_score lets through to the answer. The evidence is the matches at or above
    the review threshold; the best of them decides: BLOCK when near-certain, REVIEW when an
    alert. risk_score (0-100) is that best score on the 0-100 scale, and 0 without evidence
    (CLEAR). So the two never contradict: CLEAR is 0, REVIEW is from the review threshold,
    BLOCK from the block threshold.
    """
    best = max((s for s in scores if s >= thresholds.review), default=0.0)
    if best >= thresholds.block:
        return Decision.BLOCK, round(best * 100)
    if best > 0.0:
        return Decision.REVIEW, round(best * 100)
    return Decision.CLEAR, 0


class Scored(Protocol):
    score: float


ScoredT = TypeVar("ScoredT", bound=Scored)


def evidence_and_listed(
    results: Sequence[ScoredT], *, min_score: float, limit: int, thresholds: PartyThresholds
) -> list[ScoredT]:
    """The matches a screening answer carries before it is settled: those min_score lists
    (best first, at most `limit`), and the evidence below min_score that the decision still
    rests on (settling decides on all of them, then drops the latter)."""
    listed = [r for r in results if r.score >= min_score]
    if limit > 0:
        listed = listed[:limit]
    unlisted = [r for r in results if thresholds.review <= r.score < min_score]
    return listed + unlisted[:MAX_UNLISTED_EVIDENCE]


# Evidence below a raised min_score kept to decide on: the best decides, the rest stand in
# when an analyst accepted it as a false positive.
MAX_UNLISTED_EVIDENCE = 20
