"""Helpers shared by the list parsers: dates, text clean-up, file names and hashing."""

from __future__ import annotations

import datetime as dt
import hashlib
import os
import re
from collections.abc import Iterable
from pathlib import Path

_MONTHS = {
    m: i + 1
    for i, m in enumerate(
        ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"]
    )
}


class ParseError(ValueError):
    """A list file is malformed or truncated: the publication is rejected whole."""


def clean(value: str | None) -> str:
    """Strip, collapse whitespace, and map OFAC's '-0-' empty marker to ''."""
    if not value:
        return ""
    text = " ".join(value.split())
    return "" if text in ("-0-", "-0", "") else text


def iso_date(text: str | None) -> str:
    """Parse the date spellings the lists use into ISO (partial when the list is partial).

    '12 Jan 1960' -> '1960-01-12', 'Jan 1960' -> '1960-01', '1960' -> '1960',
    '1960-01-12' / '1960-01-12T00:00:00' -> '1960-01-12', '12/01/1960' (day first) -> '1960-01-12'.
    Returns '' when the text holds no date.
    """
    if not text:
        return ""
    s = text.strip()
    m = re.match(r"^(\d{4})-(\d{2})-(\d{2})", s)
    if m:
        return _valid(int(m[1]), int(m[2]), int(m[3]))
    m = re.match(r"^(\d{4})-(\d{2})$", s)
    if m:
        return f"{m[1]}-{m[2]}" if 1 <= int(m[2]) <= 12 else m[1]
    m = re.match(r"^(\d{1,2})[/.](\d{1,2})[/.](\d{4})", s)
    if m:
        return _valid(int(m[3]), int(m[2]), int(m[1]))
    m = re.match(r"^(\d{1,2})\s+([A-Za-z]{3})[a-z]*\.?\s+(\d{4})", s)
    if m and m[2].lower() in _MONTHS:
        return _valid(int(m[3]), _MONTHS[m[2].lower()], int(m[1]))
    m = re.match(r"^([A-Za-z]{3})[a-z]*\.?\s+(\d{4})$", s)
    if m and m[1].lower() in _MONTHS:
        return f"{m[2]}-{_MONTHS[m[1].lower()]:02d}"
    m = re.match(r"^(\d{4})$", s)
    if m:
        return m[1]
    return ""


def _valid(year: int, month: int, day: int) -> str:
    try:
        return dt.date(year, month, day).isoformat()
    except ValueError:
        return f"{year:04d}" if 1000 <= year <= 2999 else ""


def date_in_name(path: Path) -> str:
    """Publication date written in a file or directory name: 2024-02-23, 2025-12, 2021-07."""
    for part in (path.name, path.parent.name):
        m = re.search(r"(\d{4})-(\d{2})-(\d{2})", part)
        if m:
            return _valid(int(m[1]), int(m[2]), int(m[3]))
        m = re.search(r"(\d{4})-(\d{2})(?!\d)", part)
        if m:
            return f"{m[1]}-{m[2]}"
        m = re.search(r"([A-Za-z]{3})[a-z]*_(\d{1,2})_(\d{4})", part)  # FCDO: Mon_Aug_11_2025
        if m and m[1].lower() in _MONTHS:
            return _valid(int(m[3]), _MONTHS[m[1].lower()], int(m[2]))
        m = re.search(r"_(\d{4})(?:\.|_|$)", part)
        if m:
            return m[1]
    return ""


def printable(text: str) -> str:
    """Text that can be printed, logged and stored as UTF-8: bytes of a file name that are
    not UTF-8 (held as lone surrogates) are shown as escapes ('list\\xff.csv')."""
    try:
        raw = text.encode("utf-8", "surrogateescape")
    except UnicodeEncodeError:
        return text.encode("utf-8", "backslashreplace").decode("utf-8")
    return raw.decode("utf-8", "backslashreplace")


def display_name(path: Path | str) -> str:
    """A file's name, printable (see `printable`)."""
    return printable(os.path.basename(path))


def sha256_files(paths: Iterable[Path]) -> str:
    digest = hashlib.sha256()
    for path in sorted(paths):
        digest.update(os.fsencode(path.name))  # the name's own bytes, UTF-8 or not
        digest.update(path.read_bytes())
    return digest.hexdigest()


def unique(values: Iterable[str]) -> list[str]:
    """Drop empties and repeats, keep order."""
    seen: set[str] = set()
    out = []
    for v in values:
        if v and v not in seen:
            seen.add(v)
            out.append(v)
    return out


def us_date(text: str | None) -> str:
    """Month-first dates as US agencies write them: '06/19/2003' -> '2003-06-19'."""
    if not text:
        return ""
    m = re.match(r"^\s*(\d{1,2})/(\d{1,2})/(\d{4})", text)
    if m:
        return _valid(int(m[3]), int(m[1]), int(m[2]))
    return iso_date(text)


def short_hash(*parts: str) -> str:
    """A stable id for lists whose rows carry none: a digest of the row's identifying text."""
    digest = hashlib.sha1("\x1f".join(parts).encode(), usedforsecurity=False)
    return digest.hexdigest()[:12]


def split_values(text: str | None, separators: str = ";") -> list[str]:
    """Split a multi-valued cell ('A; B; C'), cleaned, without empties or repeats."""
    if not text:
        return []
    return unique(clean(v) for v in re.split("[" + re.escape(separators) + "]", text))
