"""Retries with exponential backoff and full jitter, on UNAVAILABLE only, for idempotent
calls only, within one deadline.

UNAVAILABLE mostly means the call did not run (no server, a replica draining), but a reset
connection can hide a call that did: only a call that may run twice with no further effect
is tried again. Every other status is an answer and goes straight back to the caller. The
deadline covers all attempts together: each attempt gets what is left of it.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass

import grpc

RETRYABLE = frozenset({grpc.StatusCode.UNAVAILABLE})
# Calls that may run twice with no effect beyond the first: reads, screenings (a repeat adds
# only its own audit record, with the same answer) and MonitorParty (a counterparty's
# registration has a stable id). AcceptMatch records a new acceptance each time, and
# RevokeAcceptance and StopMonitoring answer a repeat differently: never retried.
IDEMPOTENT = frozenset(
    {
        "ScreenParty",
        "ScreenShipment",
        "CompareParties",
        "GetEntity",
        "GetDataStatus",
        "ListChanges",
        "ListAcceptances",
        "MonitorParty",
        "ListMonitoredParties",
    }
)


@dataclass(frozen=True)
class RetryPolicy:
    max_attempts: int = 5
    initial_backoff: float = 0.1
    max_backoff: float = 2.0
    multiplier: float = 2.0
    # Called before each retry with (attempt just failed, its status, seconds to wait).
    on_retry: Callable[[int, grpc.StatusCode, float], None] | None = None

    def __post_init__(self) -> None:
        if self.max_attempts < 1:
            raise ValueError("max_attempts must be at least 1")

    def backoff(self, attempt: int) -> float:
        """Seconds to wait after failed attempt number `attempt` (1-based): full jitter."""
        ceiling = min(self.max_backoff, self.initial_backoff * self.multiplier ** (attempt - 1))
        return random.uniform(0, ceiling)

    def should_retry(
        self,
        code: grpc.StatusCode | None,
        attempt: int,
        remaining: float,
        method: str = "",
    ) -> bool:
        """Whether to try `method` (an RPC name; "" for an idempotent call) once more."""
        idempotent = not method or method in IDEMPOTENT
        return idempotent and code in RETRYABLE and attempt < self.max_attempts and remaining > 0


NO_RETRY = RetryPolicy(max_attempts=1)
