"""Names with nothing to screen (matching/screenable.py)."""

from __future__ import annotations

import pytest

from screening.matching.screenable import nothing_to_screen


@pytest.mark.parametrize(
    "name",
    [
        "X",
        "x.",
        "-",
        "--",
        "?",
        "N/A",
        "n.a.",
        "NA",
        "UNKNOWN",
        "Unknown",
        "TBD",
        "tba",
        "none",
        "XXX",
        "000",
        "Not applicable",
        "  ",
    ],
)
def test_nothing_to_screen(name):
    assert nothing_to_screen(name)


@pytest.mark.parametrize(
    "name", ["Li", "7-28", "王伟", "ООО «Аурус»", "AURUS", "Ali", "Bank Melli", "BNC", "X Y"]
)
def test_names_to_screen(name):
    assert nothing_to_screen(name) == ""
