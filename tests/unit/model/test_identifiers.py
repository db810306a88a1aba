"""IMO numbers and the normal form of identifiers (model/identifiers.py)."""

from __future__ import annotations

import pytest

from screening.model.identifiers import imo_number, normalize_identifier


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("9187667", "9187667"),
        ("IMO 9187667", "9187667"),
        ("imo9187667", "9187667"),
        ("9187668", ""),  # bad check digit
        ("918766", ""),
        ("ABC1234", ""),
    ],
)
def test_imo_number(value, expected):
    assert imo_number(value) == expected


def test_identifiers_compare_by_letters_and_digits():
    assert normalize_identifier("IMO 9187629") == normalize_identifier("9187629") == "9187629"
    assert normalize_identifier("ru-7743 237789") == "RU7743237789"
