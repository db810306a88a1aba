"""OFAC's semicolon-separated remarks ('DOB 10 Dec 1948; POB Egypt; Passport 1084010 (Egypt)').

The CSV family and sdn.xml carry much of an entry's detail only here: birth dates, nationality,
identifiers, and the weak a.k.a. names, which OFAC lists in remarks rather than in alt.csv.
"""

from __future__ import annotations

import re

import msgspec

from screening.model.countries import to_alpha2
from screening.model.entities import Identifier, Name
from screening.sources.common import iso_date


class RemarkFacts(msgspec.Struct):
    birth_dates: list[str] = msgspec.field(default_factory=list)
    birth_places: list[str] = msgspec.field(default_factory=list)
    nationalities: list[str] = msgspec.field(default_factory=list)
    identifiers: list[Identifier] = msgspec.field(default_factory=list)
    weak_aliases: list[Name] = msgspec.field(default_factory=list)
    properties: dict[str, str] = msgspec.field(default_factory=dict)


# Label (start of a remark part) -> identifier scheme. Longest labels first.
_ID_LABELS: list[tuple[str, str]] = [
    ("Vessel Registration Identification IMO", "imo"),
    ("Vessel Registration Identification", "imo"),
    ("IMO", "imo"),
    ("MMSI", "mmsi"),
    ("Passport", "passport"),
    ("Diplomatic Passport", "passport"),
    ("National ID No.", "national_id"),
    ("Identification Number", "national_id"),
    ("Cedula No.", "national_id"),
    ("C.U.R.P.", "national_id"),
    ("D.N.I.", "national_id"),
    ("Tax ID No.", "tax_id"),
    ("R.F.C.", "tax_id"),
    ("RFC", "tax_id"),
    ("V.A.T. Number", "tax_id"),
    ("NIT #", "tax_id"),
    ("Registration Number", "registration"),
    ("Registration ID", "registration"),
    ("Business Registration Number", "registration"),
    ("Business Registration Document #", "registration"),
    ("Commercial Registry Number", "registration"),
    ("Company Number", "registration"),
    ("Unified Social Credit Code (USCC)", "registration"),
    ("Government Gazette Number", "registration"),
    ("Chamber of Commerce Number", "registration"),
    ("Legal Entity Number", "lei"),
    ("SWIFT/BIC", "swift_bic"),
    ("D-U-N-S Number", "duns"),
    ("Aircraft Manufacturer's Serial Number (MSN)", "aircraft_msn"),
    ("Aircraft Tail Number", "aircraft_tail"),
    ("Digital Currency Address - XBT", "crypto_xbt"),
    ("Digital Currency Address - ETH", "crypto_eth"),
    ("Digital Currency Address - USDT", "crypto_usdt"),
    ("Email Address", "email"),
    ("Phone Number", "phone"),
    ("Website", "website"),
    ("ISIN", "isin"),
    ("BIK (RU)", "bik"),
    ("Public Registration Number", "registration"),
    ("C.R. No.", "registration"),
    ("Driver's License No.", "drivers_license"),
]
_ID_LABELS.sort(key=lambda item: -len(item[0]))
# A part starting with a label and a space or colon starts with the label's first word (up to
# a space or colon): the labels to try for a part, by that word, longest first.
_FIRST_WORD = re.compile(r"[^ :]*")


def _first_word(text: str) -> str:
    found = _FIRST_WORD.match(text)
    return found[0] if found else ""


_ID_LABELS_BY_WORD: dict[str, list[tuple[str, str]]] = {}
for _label, _scheme in _ID_LABELS:
    _ID_LABELS_BY_WORD.setdefault(_first_word(_label), []).append((_label, _scheme))

_PROPERTY_LABELS = {
    "Gender": "gender",
    "Aircraft Model": "aircraft_model",
    "Aircraft Operator": "aircraft_operator",
    "Aircraft Manufacture Date": "aircraft_manufacture_date",
    "Organization Type:": "organization_type",
    "Organization Established Date": "organization_established",
    "Vessel Year of Build": "vessel_year_of_build",
    "Other Vessel Flag": "other_vessel_flag",
    "Other Vessel Call Sign": "other_call_sign",
    "Former Vessel Flag": "former_vessel_flag",
    "Target Type": "target_type",
    "Secondary sanctions risk:": "secondary_sanctions_risk",
}

# The case-insensitive labels of a remark part, tried on its lower-case spelling. They cannot
# both start one part, so the first alternative that matches is the only one.
_LOWER_LABELS = re.compile(
    r"alt\. dob |dob |alt\. pob |pob |alt\. nationality |nationality |alt\. citizen |citizen "
)
# The property labels in their order: an alternation matches the first that starts a part,
# as a walk over them would.
_PROPERTY_LABEL = re.compile("|".join(re.escape(label) for label in _PROPERTY_LABELS))

_ALIAS = re.compile(r"^(a\.k\.a\.|f\.k\.a\.|n\.k\.a\.)\s*'(.+)'$")
_ALIAS_KIND = {"a.k.a.": "aka", "f.k.a.": "fka", "n.k.a.": "nka"}
_COUNTRY_SUFFIX = re.compile(r"^(?P<value>.*?)\s*\((?P<country>[^()]*)\)\s*(?P<rest>.*)$")


_SPLIT_MARKS = re.compile(r"[();]")


def split_remarks(remarks: str) -> list[str]:
    """Split on ';' outside parentheses; strip the trailing full stop of each part."""
    if "(" not in remarks:
        parts = remarks.split(";")
    else:
        parts = []
        start = depth = 0
        for mark in _SPLIT_MARKS.finditer(remarks):
            ch = mark.group()
            if ch == "(":
                depth += 1
            elif ch == ")":
                if depth:
                    depth -= 1
            elif depth == 0:
                parts.append(remarks[start : mark.start()])
                start = mark.end()
        parts.append(remarks[start:])
    return [p.strip().removesuffix(".").strip() for p in parts if p.strip()]


def parse_remarks(remarks: str) -> RemarkFacts:
    facts = RemarkFacts()
    for part in split_remarks(remarks):
        _parse_part(part, facts)
    return facts


def _parse_part(part: str, facts: RemarkFacts) -> None:
    alias = _ALIAS.match(part)
    if alias:
        name = alias[2].strip().rstrip("'")
        if name:
            facts.weak_aliases.append(Name(name, _ALIAS_KIND[alias[1]], "weak"))
        return
    found = _LOWER_LABELS.match(part.lower())
    if found:
        prefix = found[0]
        rest = part[len(prefix) :]
        if prefix.endswith("dob "):
            facts.birth_dates.extend(_dob_values(rest))
        elif prefix.endswith("pob "):
            facts.birth_places.append(rest.strip())
        else:
            code = to_alpha2(rest)
            if code and code not in facts.nationalities:
                facts.nationalities.append(code)
        return
    found = _PROPERTY_LABEL.match(part)
    if found:
        label = found[0]
        facts.properties[_PROPERTY_LABELS[label]] = part[len(label) :].strip(" :")
        return
    for label, scheme in _ID_LABELS_BY_WORD.get(_first_word(part), ()):
        if part.startswith(label + " ") or part.startswith(label + ":"):
            ident = _identifier(scheme, part[len(label) :].strip(" :"))
            if ident:
                facts.identifiers.append(ident)
            return


def _identifier(scheme: str, text: str) -> Identifier | None:
    country, note = "", ""
    m = _COUNTRY_SUFFIX.match(text)
    value = text
    if m:
        value, country, note = m["value"], to_alpha2(m["country"]), m["rest"]
    value = value.strip().rstrip(".")
    if scheme == "imo":
        digits = _NOT_DIGIT.sub("", value)
        value = digits if len(digits) == 7 else value
    if not value:
        return None
    return Identifier(scheme, value, country, note.strip())


_NOT_DIGIT = re.compile(r"\D")
_YEAR_SPAN = re.compile(r"^(\d{4})\s+to\s+(\d{4})$")


def _dob_values(text: str) -> list[str]:
    """'10 Dec 1948', 'circa 1960', '1960 to 1965', 'Jan 1960'."""
    text = text.strip()
    if text.lower().startswith("circa "):
        text = text[6:]
    span = _YEAR_SPAN.match(text)
    if span:
        start, end = int(span[1]), int(span[2])
        if 0 <= end - start <= 20:
            return [str(y) for y in range(start, end + 1)]
    date = iso_date(text)
    return [date] if date else []


def classify_label(label: str, value: str) -> Identifier | tuple[str, str] | None:
    """An OFAC detail given as (label, value), as the XML formats carry them.

    Returns an Identifier for identifying numbers, a (property key, value) pair for other
    known details, or None for labels that carry neither.
    """
    label = " ".join(label.split())
    for prop_label, key in _PROPERTY_LABELS.items():
        if label == prop_label or label == prop_label.rstrip(":"):
            return (key, value.strip())
    for id_label, scheme in _ID_LABELS:
        if label == id_label or label.rstrip(":") == id_label:
            return _identifier(scheme, value) if value.strip() else None
    return None


def dob_values(text: str) -> list[str]:
    """Birth dates as OFAC writes them ('10 Dec 1948', 'circa 1960', '1960 to 1965')."""
    return _dob_values(text)
