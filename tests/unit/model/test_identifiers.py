"""IMO numbers and the normal form of identifiers (model/identifiers.py)."""

from __future__ import annotations

import pytest

from screening.model.identifiers import identifier_forms, imo_number, normalize_identifier


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


@pytest.mark.parametrize(
    ("a", "b", "same"),
    [
        # scheme, value, countries for each side
        (("tax_id", "7743237789", ()), ("tax_id", "RU 774-323-7789", ()), True),  # VAT style
        (("tax_id", "7743237789", ("RU",)), ("tax_id", "ru7743237789", ()), True),
        (("registration", "02696754", ("GB",)), ("registration", "2696754", ()), True),
        (("registration", "GB02696754", ("GB",)), ("registration", "2696754", ()), True),
        (("imo", "IMO 9187667", ()), ("imo", "9187667", ()), True),
        # A prefix that is not the identifier's country stays part of a passport number.
        (("passport", "AE1234567", ()), ("passport", "1234567", ()), False),
        (("passport", "AE1234567", ("AE",)), ("passport", "1234567", ()), True),
        (("tax_id", "7743237789", ()), ("tax_id", "7743237788", ()), False),
    ],
)
def test_identifier_forms(a, b, same):
    forms_a = identifier_forms(a[1], a[0], a[2])
    forms_b = identifier_forms(b[1], b[0], b[2])
    assert bool(forms_a & forms_b) == same, (forms_a, forms_b)


def test_identifier_forms_of_nothing():
    assert identifier_forms("  - ") == set()
