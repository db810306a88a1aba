"""Findings -> risk_score and decision, for the shipment and for each party and vessel.

Findings of one code count once (the most severe): twenty goods lines on the same list are
one reason, not twenty. The reasons then combine like independent probabilities:
risk_score = 100 * (1 - prod(1 - points / 100)). The decision is BLOCK when a finding reaches
the block severity or the score the block score, REVIEW likewise for review, else CLEAR.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from screening.risk.findings import Finding, Severity
from screening.risk.party import Decision
from screening.risk.policy import Policy
from screening.risk.rules import RULES
from screening.risk.shipment import Shipment


@dataclass(frozen=True, slots=True)
class Outcome:
    decision: Decision
    risk_score: int


@dataclass(slots=True)
class Assessment:
    policy_version: str
    outcome: Outcome
    findings: list[Finding]
    parties: list[Outcome] = field(default_factory=list)
    vessels: list[Outcome] = field(default_factory=list)


def combine(findings: Iterable[Finding], policy: Policy) -> Outcome:
    worst: dict[str, Finding] = {}
    for finding in findings:
        kept = worst.get(finding.code)
        if kept is None or finding.severity > kept.severity:
            worst[finding.code] = finding
    remaining = 1.0
    for finding in worst.values():
        remaining *= 1.0 - policy.points(finding.severity) / 100.0
    score = round(100 * (1.0 - remaining))
    top = max((f.severity for f in worst.values()), default=None)
    spec = policy.spec.decision
    if (top is not None and top >= Severity.parse(spec.block_severity)) or (
        score >= spec.block_score
    ):
        decision = Decision.BLOCK
    elif (top is not None and top >= Severity.parse(spec.review_severity)) or (
        score >= spec.review_score
    ):
        decision = Decision.REVIEW
    else:
        decision = Decision.CLEAR
    return Outcome(decision, score)


def assess(shipment: Shipment, policy: Policy) -> Assessment:
    """Run every rule and combine the findings, most severe first."""
    findings: list[Finding] = []
    for rule in RULES:
        findings.extend(rule(shipment, policy))
    for finding in findings:
        finding.points = policy.points(finding.severity)
    findings.sort(key=lambda f: -f.severity)
    return Assessment(
        policy_version=policy.version,
        outcome=combine(findings, policy),
        findings=findings,
        parties=[
            combine((f for f in findings if f.party_index == p.index), policy)
            for p in shipment.parties
        ],
        vessels=[
            combine((f for f in findings if f.vessel_index == v.index), policy)
            for v in shipment.vessels
        ],
    )
