"""Decision and risk score for one screened party, from its matches."""

from __future__ import annotations

import enum
from collections.abc import Sequence
from dataclasses import dataclass


class Decision(enum.StrEnum):
    CLEAR = "clear"
    REVIEW = "review"
    BLOCK = "block"


@dataclass(frozen=True)
class PartyThresholds:
    review: float = 0.80
    block: float = 0.95


def decide_party(scores: Sequence[float], thresholds: PartyThresholds) -> tuple[Decision, int]:
    """BLOCK when the best match is near-certain, REVIEW when it is an alert, else CLEAR.

    risk_score (0-100) is the best match score on that scale; no match: 0.
    """
    best = max(scores, default=0.0)
    if best >= thresholds.block:
        decision = Decision.BLOCK
    elif best >= thresholds.review:
        decision = Decision.REVIEW
    else:
        decision = Decision.CLEAR
    return decision, round(best * 100)
