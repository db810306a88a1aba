"""Identifying numbers as the lists and the requests write them: the forms to compare them
by, and the IMO number with its check digit.

Counterparties and lists write one number many ways: "52-1943868", "521943868"; "IMO
9187629", "9187629"; a UK company number "02696754" or "2696754"; a Russian tax id
"7743237789", "RU7743237789" or "RU 7743237789". Two values are the same number when any of
their forms (identifier_forms) agree:

- case, spaces and punctuation (dashes, dots, slashes) never count;
- "IMO" before an IMO number's digits is dropped;
- a two-letter country prefix before the digits is dropped when it names the identifier's
  country (or a country of the party or entry), or, for a tax id, any country (the VAT
  convention: "DE123456789");
- leading zeros of an all-digit value are dropped.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from screening.model.countries import is_alpha2

_IMO = re.compile(r"^(?:IMO)?(\d{7})$")
# A country prefix counts for any country on these schemes (VAT numbers are written so).
_PREFIXED_SCHEMES = frozenset({"tax_id", "vat"})


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


def identifier_forms(value: str, scheme: str = "", countries: Iterable[str] = ()) -> set[str]:
    """Every form `value` may be written in (see the module docstring); empty for no value."""
    compact = normalize_identifier(value)
    if not compact:
        return set()
    forms = {compact}
    prefix, rest = compact[:2], compact[2:]
    if len(compact) > 6 and prefix.isalpha() and rest.isdigit():
        known = {c.strip().upper() for c in countries if c}
        if prefix in known or (scheme in _PREFIXED_SCHEMES and is_alpha2(prefix)):
            forms.add(rest)
    for form in list(forms):
        if form.isdigit() and form.startswith("0"):
            forms.add(form.lstrip("0") or "0")
    return forms
