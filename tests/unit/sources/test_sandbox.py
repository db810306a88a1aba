"""The parsing child process (sources/sandbox.py): its time and memory caps, and that any
failure inside comes back as the rejection of that one publication."""

from __future__ import annotations

from pathlib import Path

import pytest

from screening.sources.base import FileSet
from screening.sources.limits import ParseLimits
from screening.sources.registry import discover
from screening.sources.sandbox import ParseSandbox


@pytest.fixture(scope="module")
def filesets(lists_dir: Path) -> dict[str, FileSet]:
    return {fs.main.name: fs for fs in discover(lists_dir)}


SMALL = "csl_sample_2025-06_12rows_watchman.csv"
LARGE = "ConList_2025-04-14.csv"  # about 2 s to parse, 180 MB of address space


def test_parses_in_a_child_and_reports_what_it_cost(filesets):
    with ParseSandbox() as sandbox:
        outcome = sandbox.parse(filesets[SMALL])
    assert outcome.error == ""
    assert outcome.publication is not None and len(outcome.publication.entities) == 13
    assert outcome.publication.source == "us-csl"
    assert 0 < outcome.peak_rss_bytes < 1 << 30
    assert outcome.control_fields == 0


def test_a_parse_past_the_time_cap_is_stopped_and_the_next_one_runs(filesets):
    with ParseSandbox(ParseLimits(max_seconds=0.3)) as sandbox:
        slow = sandbox.parse(filesets[LARGE])
        after = sandbox.parse(filesets[SMALL])
    assert slow.publication is None
    assert "parsing took longer than 0.3 s; stopped" in slow.error
    assert 0.3 <= slow.seconds < 5
    assert after.publication is not None, after.error


def test_a_parse_past_the_memory_cap_is_rejected_and_the_next_one_runs(filesets):
    with ParseSandbox(ParseLimits(max_memory_bytes=120 * 1024 * 1024)) as sandbox:
        big = sandbox.parse(filesets[LARGE])
        after = sandbox.parse(filesets[SMALL])
    assert big.publication is None
    assert "parsing ran out of memory (cap 125829120 bytes)" in big.error, big.error
    assert after.publication is not None, after.error


def test_a_parser_bug_is_the_rejection_of_that_file_only(filesets):
    broken = FileSet("us-csl", "no-such-format", "2025", filesets[SMALL].paths)
    with ParseSandbox() as sandbox:
        bug = sandbox.parse(broken)
        after = sandbox.parse(filesets[SMALL])
    assert bug.publication is None
    assert "KeyError: 'no-such-format' (at registry.py:" in bug.error
    assert after.publication is not None, after.error
