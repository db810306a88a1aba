"""What the commands print for people: tables, human durations and ages, exit codes."""

from __future__ import annotations

import datetime as dt

import pytest

from screening.harness import console
from screening.harness.console import Exit, exit_for_decision
from screening_client.batch import exit_codes as client_codes


@pytest.mark.parametrize(
    ("seconds", "text"),
    [
        (0.00042, "0.42 ms"),
        (0.85, "850 ms"),
        (4.24, "4.2 s"),
        (59.94, "59.9 s"),
        (200, "3 min 20 s"),
        (180, "3 min"),
        (2 * 3600 + 300, "2 h 5 min"),
        (3 * 86400 + 4 * 3600, "3 d 4 h"),
    ],
)
def test_durations_in_human_units(seconds: float, text: str) -> None:
    assert console.duration(seconds) == text


@pytest.mark.parametrize(
    ("days", "text"),
    [(0, "today"), (1, "1 day"), (12, "12 days"), (300, "10 months"), (947, "2.6 years")],
)
def test_ages_in_human_units(days: float, text: str) -> None:
    assert console.age(days) == text


def test_ago() -> None:
    now = dt.datetime(2026, 1, 10, 12, 0, tzinfo=dt.UTC)
    assert console.ago(None) == "-"
    assert console.ago(now - dt.timedelta(seconds=20), now) == "just now"
    assert console.ago(now - dt.timedelta(minutes=3, seconds=10), now) == "3 min ago"
    assert console.ago(now - dt.timedelta(days=12), now) == "12 days ago"


def test_milliseconds() -> None:
    assert console.milliseconds(0.4234) == "0.42 ms"
    assert console.milliseconds(12.54) == "12.5 ms"
    assert console.milliseconds(1300) == "1.3 s"


def test_table_aligns_columns_to_their_widest_cell() -> None:
    text = console.table(("source", "entries"), [("un", 1003), ("ofac-sdn", 14965)], right={1})
    assert text.splitlines() == [
        "source    entries",
        "un           1003",
        "ofac-sdn    14965",
    ]


def test_exit_codes_tell_decisions_and_errors_apart() -> None:
    assert exit_for_decision("DECISION_CLEAR") == Exit.OK == 0
    assert exit_for_decision("REVIEW") == Exit.REVIEW == 3
    assert exit_for_decision("DECISION_BLOCK") == Exit.BLOCK == 4
    assert len({Exit.OK, Exit.ERROR, Exit.USAGE, Exit.REVIEW, Exit.BLOCK}) == 5
    for number in ("0", "1", "2", "3", "4", "130"):
        assert f"  {number} " in console.EXIT_CODES_HELP


def test_screening_batch_exits_as_the_screening_command_does() -> None:
    assert {e.name: int(e) for e in client_codes.Exit} == {e.name: int(e) for e in Exit}
    assert client_codes.exit_for_decisions(["CLEAR", "REVIEW"]) == Exit.REVIEW
    assert client_codes.exit_for_decisions(["CLEAR", "BLOCK", "REVIEW"]) == Exit.BLOCK
    # A row that could not be screened: the file is not done, whatever the others say.
    assert client_codes.exit_for_decisions(["BLOCK", "ERROR"]) == Exit.ERROR
    assert client_codes.exit_for_decisions([]) == Exit.OK
