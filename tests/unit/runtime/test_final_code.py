"""The status a cancelled call is counted under in grpc_server_handled_total."""

from __future__ import annotations

import asyncio

import grpc
import pytest

from screening.runtime.grpc_metrics import DEADLINE_SLACK_SECONDS, _final_code


class _Context:
    def __init__(self, remaining: float | None, code: grpc.StatusCode | None = None) -> None:
        self._remaining, self._code = remaining, code

    def time_remaining(self) -> float | None:
        return self._remaining

    def code(self) -> grpc.StatusCode | None:
        return self._code


@pytest.mark.parametrize(
    ("remaining", "expected"),
    [
        (-0.5, "DeadlineExceeded"),
        (0.0, "DeadlineExceeded"),
        # The client's copy of the deadline expires first: its cancellation arrives a
        # moment before the server's own deadline.
        (DEADLINE_SLACK_SECONDS / 2, "DeadlineExceeded"),
        (DEADLINE_SLACK_SECONDS * 4, "Canceled"),
        (None, "Canceled"),  # no deadline: the caller cancelled
    ],
)
def test_a_cancelled_call_counts_as_its_deadline_or_its_caller_ended_it(remaining, expected):
    assert _final_code(_Context(remaining), asyncio.CancelledError()) == expected  # type: ignore[arg-type]


def test_other_ends_count_under_their_code():
    assert _final_code(_Context(1.0, grpc.StatusCode.NOT_FOUND), None) == "NotFound"  # type: ignore[arg-type]
    assert _final_code(_Context(1.0), ValueError()) == "Unknown"  # type: ignore[arg-type]
    assert _final_code(_Context(1.0), None) == "OK"  # type: ignore[arg-type]
