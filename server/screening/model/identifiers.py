"""Identifying numbers as the lists and the requests write them: one normal form to compare
them by, and the IMO number with its check digit."""

from __future__ import annotations

import re

_IMO = re.compile(r"^(?:IMO)?(\d{7})$")


def normalize_identifier(value: str) -> str:
    """Letters and digits only, upper case; 'IMO 9187629' and '9187629' are one number."""
    compact = re.sub(r"[^0-9A-Z]", "", value.upper())
    if compact.startswith("IMO") and compact[3:].isdigit():
        return compact[3:]
    return compact


def imo_number(value: str) -> str:
    """The seven digits of an IMO number ("IMO 9187667", "9187667") if its check digit
    holds, else ''."""
    m = _IMO.match(re.sub(r"[\s.-]", "", value.upper()))
    if not m:
        return ""
    digits = m.group(1)
    check = sum(int(d) * w for d, w in zip(digits[:6], range(7, 1, -1), strict=True)) % 10
    return digits if check == int(digits[6]) else ""
