"""`serving`'s startup_seconds: counted from the process's start, or from the mark a wrapper
script (deploy/local/serve.sh) leaves when it execs the service after work of its own."""

from __future__ import annotations

import time

import pytest

from screening.runtime.readiness import STARTED_AT_ENV, seconds_since_start


def test_a_wrappers_mark_is_where_the_count_starts(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(STARTED_AT_ENV, str(time.time() - 5.0))
    assert 5.0 <= seconds_since_start() < 6.0


def test_without_a_mark_the_process_start_counts(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(STARTED_AT_ENV, raising=False)
    since_process = seconds_since_start()
    # This test process started before its first test ran, and not days ago.
    assert 0.0 < since_process < 3600.0
    monkeypatch.setenv(STARTED_AT_ENV, "not a time")
    assert abs(seconds_since_start() - since_process) < 1.0
