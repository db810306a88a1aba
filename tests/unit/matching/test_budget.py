"""matching/budget.py: a call's matching stops past its CPU allowance, at its deadline, or
when cancelled; without a budget, spend() does nothing."""

from __future__ import annotations

import threading
import time

import pytest

from screening.matching.budget import Budget, limited, spend
from screening.model.errors import Cancelled, DeadlineExceeded, Exhausted


def _burn(seconds: float) -> None:
    until = time.thread_time() + seconds
    while time.thread_time() < until:
        spend()


def test_no_budget_no_limit():
    _burn(0.02)


def test_cpu_allowance():
    with pytest.raises(Exhausted, match=r"0\.05 s of CPU"), limited(Budget(0.05)) as budget:
        _burn(1.0)
    assert 0.05 <= budget.used < 0.2


def test_deadline():
    with pytest.raises(DeadlineExceeded), limited(Budget(10.0, time.monotonic() + 0.05)):
        _burn(1.0)


def test_cancellation():
    cancelled = threading.Event()
    threading.Timer(0.05, cancelled.set).start()
    with pytest.raises(Cancelled), limited(Budget(10.0, cancelled=cancelled)):
        _burn(1.0)


def test_a_deadline_already_past_stops_before_any_work():
    with pytest.raises(DeadlineExceeded), limited(Budget(10.0, time.monotonic() - 1)):
        pass
    _burn(0.02)  # and the budget is no longer in force
