"""UK OFSI Consolidated List of Financial Sanctions Targets, CSV and xlsx (the same
publication in two formats; OFSI's "2022 format").

One row per name; the rows of one target share a Group ID and repeat its other details.
The first line holds the publication date (`Last Updated,14/04/2025`), the second the
header. Group Type is Individual, Entity or Ship. Alias Type: Primary name, Primary name
variation, AKA, FKA; Alias Quality: Good quality (strong) or Low quality (weak).
`UK Sanctions List Date Designated` is the official designation date (else `Listed On`);
dates are day first, with 00 for an unknown day or month.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable, Iterator
from pathlib import Path

from screening.model.countries import to_alpha2
from screening.model.entities import Address, DateBasis, Entity, EntityType, Identifier, Name
from screening.sources.base import FileSet, ListFormat
from screening.sources.common import ParseError, clean, display_name, unique
from screening.sources.limits import ParseContext
from screening.sources.spreadsheets import xlsx_head, xlsx_rows

_COLUMNS = (
    "Name 6",
    "Name 1",
    "Group Type",
    "Alias Type",
    "Regime",
    "Listed On",
    "Group ID",
)
_TYPES = {
    "individual": EntityType.PERSON,
    "entity": EntityType.ORGANIZATION,
    "ship": EntityType.VESSEL,
}
_KINDS = {"fka": "fka", "aka": "aka"}
_ADDRESS_COLUMNS = (*(f"Address {i}" for i in range(1, 7)), "Post/Zip Code", "Country")
_DOCUMENT_COLUMNS = (
    "Passport Number",
    "Passport Details",
    "National Identification Number",
    "National Identification Details",
)
_QUALITY = {"good quality": "strong", "low quality": "weak"}
_BASE = "https://ofsistorage.blob.core.windows.net/publishlive/2022format"


def uk_date(text: str | None) -> str:
    """'14/04/2025' -> '2025-04-14'; '00/00/1962' -> '1962'; '00/05/1962' -> '1962-05'."""
    value = clean(text)
    m = re.match(r"^(\d{1,2})/(\d{1,2})/(\d{4})", value)
    if m:
        day, month, year = int(m[1]), int(m[2]), m[3]
        if not 1 <= month <= 12:
            return year
        if day == 0:
            return f"{year}-{month:02d}"
        try:
            return dt.date(int(year), month, day).isoformat()
        except ValueError:
            return year
    m = re.match(r"^(?:00/)?(\d{1,2})/(\d{4})$", value)
    if m:
        month = int(m[1])
        return f"{m[2]}-{month:02d}" if 1 <= month <= 12 else m[2]
    m = re.match(r"^(\d{4})$", value)
    return m[1] if m else ""


def _numbered(text: str) -> list[str]:
    """'(1) 223611 (2) C00146605' -> ['223611', 'C00146605']; plain text -> [text]."""
    if not re.match(r"^\(\d+\)", text):
        return [text] if text else []
    return [clean(p) for p in re.split(r"\(\d+\)", text) if clean(p)]


def _country_in(text: str) -> str:
    """The country a document note starts with: 'Libya number' -> 'LY'."""
    words = text.replace(",", " ").split()
    for size in (4, 3, 2, 1):
        code = to_alpha2(" ".join(words[:size])) if len(words) >= size else ""
        if code:
            return code
    return ""


def _documents(scheme: str, numbers: str, details: str) -> list[Identifier]:
    values, notes = _numbered(clean(numbers)), _numbered(clean(details))
    out = []
    for i, value in enumerate(values):
        note = notes[i] if i < len(notes) else (notes[0] if len(notes) == 1 else "")
        out.append(Identifier(scheme, value, _country_in(note), note))
    return out


# The records of a group hold cleaned values (parse_rows): _person_name and _group read
# them as they are.
_NAME_COLUMNS = tuple(f"Name {i}" for i in range(1, 7))


def _person_name(row: dict[str, str]) -> str:
    return " ".join(v for v in map(row.get, _NAME_COLUMNS) if v)


def _group(group_id: str, rows: list[dict[str, str]]) -> Entity:
    first = rows[0]
    entity_type = _TYPES.get(first.get("Group Type", "").lower(), EntityType.UNKNOWN)
    names: list[Name] = []
    primary = ""
    for row in rows:
        full = _person_name(row)
        if not full:
            continue
        alias_type = row.get("Alias Type", "").lower()
        quality = _QUALITY.get(row.get("Alias Quality", "").lower(), "")
        if alias_type == "primary name" and not primary:
            primary = full
            continue
        if alias_type.startswith("primary name"):
            names.append(Name(full, "aka", quality or "strong"))
        else:
            names.append(Name(full, _KINDS.get(alias_type, "aka"), quality))
    for row in rows:
        script = row.get("Name Non-Latin Script")
        if script:
            names.append(Name(script, "aka", "strong"))
    if not primary:
        if not names:
            raise ParseError(f"group {group_id} has no name")
        primary = names[0].full
    aliases: list[Name] = []
    seen = {primary}
    for name in names:
        if name.full not in seen:
            seen.add(name.full)
            aliases.append(name)

    def values(column: str) -> list[str]:
        return unique(r.get(column, "") for r in rows)

    addresses: dict[tuple[str, ...], Address] = {}
    for row in rows:
        key = tuple(row.get(c, "") for c in _ADDRESS_COLUMNS)
        if key in addresses or not any(key):
            continue
        *lines, postal, country = key
        street = ", ".join(v for v in lines if v)
        full = ", ".join(v for v in (street, postal, country) if v)
        addresses[key] = Address(
            street=street, postal_code=postal, country=to_alpha2(country), full=full
        )
    identifiers: dict[tuple[str, str], Identifier] = {}
    documents = {tuple(row.get(c, "") for c in _DOCUMENT_COLUMNS) for row in rows}
    for passport, passport_note, national, national_note in sorted(documents):
        for ident in [
            *_documents("passport", passport, passport_note),
            *_documents("national_id", national, national_note),
        ]:
            identifiers.setdefault((ident.type, ident.value), ident)
    remarks = "\n".join(values("Other Information"))
    if entity_type == EntityType.VESSEL:
        for imo in re.findall(r"IMO[^0-9]{0,20}(\d{7})", remarks):
            identifiers.setdefault(("imo", imo), Identifier("imo", imo))
    address_list, identifier_list = list(addresses.values()), list(identifiers.values())
    nationalities = unique(
        to_alpha2(n) for v in values("Nationality") for n in re.split(r"\(\d+\)|,", v)
    )
    birth_places = unique(
        ", ".join(v for v in (r.get("Town of Birth"), r.get("Country of Birth")) if v) for r in rows
    )
    properties: dict[str, str] = {}
    for prop, column in (
        ("title", "Title"),
        ("position", "Position"),
        ("listed_on", "Listed On"),
        ("last_updated", "Last Updated"),
    ):
        found = values(column)
        if found:
            properties[prop] = (
                "; ".join(uk_date(v) or v for v in found)
                if prop in ("listed_on", "last_updated")
                else "; ".join(found)
            )
    ref = re.search(r"\(UK Sanctions List Ref\):\s*([A-Z]{2,4}\d{3,5})", remarks)
    related = []
    if ref:
        properties["uk_sanctions_list_ref"] = ref[1]
        related.append(f"uk-sl:{ref[1]}")
    un_ref = re.search(r"\(UN Ref\):\s*([A-Z]{2}[ie]\.\d{3})", remarks)
    if un_ref:
        related.append(f"un:{un_ref[1]}")
    designated = min(
        (uk_date(v) for v in values("UK Sanctions List Date Designated") if uk_date(v)),
        default="",
    ) or min((uk_date(v) for v in values("Listed On") if uk_date(v)), default="")
    return Entity(
        id=f"uk:{group_id}",
        source="uk",
        source_ref=group_id,
        entity_type=entity_type,
        name=primary,
        aliases=aliases,
        programs=values("Regime"),
        countries=unique(
            [
                *nationalities,
                *(a.country for a in address_list),
                *(i.country for i in identifier_list if i.country),
            ]
        ),
        nationalities=nationalities,
        birth_dates=unique(uk_date(v) for v in values("DOB")),
        birth_places=birth_places,
        addresses=address_list,
        identifiers=identifier_list,
        remarks=remarks,
        properties=properties,
        designation_date=designated,
        designation_date_basis=DateBasis.OFFICIAL if designated else DateBasis.NONE,
        related=related,
    )


def parse_rows(rows: Iterable[list[str]], name: str) -> list[Entity]:
    """Rows as read from either format: the date line, the header, then one row per name."""
    it: Iterator[list[str]] = iter(rows)
    header: list[str] | None = None
    for row in it:
        cells = [clean(c) for c in row]
        if "Group ID" in cells and "Name 6" in cells:
            header = cells
            break
    if header is None:
        raise ParseError(f"{name}: no OFSI header row (Name 6 ... Group ID)")
    missing = [c for c in _COLUMNS if c not in header]
    if missing:
        raise ParseError(f"{name}: columns missing: {missing}")
    width = len(header)
    groups: dict[str, list[dict[str, str]]] = {}
    for lineno, row in enumerate(it, 3):
        if not any(c.strip() for c in row):
            continue
        if len(row) < width:
            raise ParseError(
                f"{name}: row {lineno} has {len(row)} fields, expected {width} "
                "(truncated or malformed file)"
            )
        record = {k: clean(v) for k, v in zip(header, row, strict=False) if v}
        group_id = record.get("Group ID", "")
        if not group_id.isdigit():
            raise ParseError(f"{name}: row {lineno} has no Group ID (truncated?)")
        groups.setdefault(group_id, []).append(record)
    if not groups:
        raise ParseError(f"{name}: no rows")
    return [_group(gid, grouped) for gid, grouped in groups.items()]


def parse_csv(path: Path, ctx: ParseContext | None = None) -> list[Entity]:
    ctx = ctx or ParseContext()
    return parse_rows(ctx.csv_rows(path), display_name(path))


def parse_xlsx(path: Path, ctx: ParseContext | None = None) -> list[Entity]:
    return parse_rows(xlsx_rows(path, ctx or ParseContext()), display_name(path))


def _csv_date(path: Path, head: bytes) -> str:
    m = re.match(rb"\xef?\xbb?\xbf?Last Updated,(\d{1,2}/\d{1,2}/\d{4})", head)
    return uk_date(m[1].decode()) if m else ""


def _xlsx_date(path: Path, head: bytes) -> str:
    rows = xlsx_head(path)
    if rows and len(rows[0]) > 1 and clean(rows[0][0]) == "Last Updated":
        return uk_date(rows[0][1])
    return ""


def _is_csv(path: Path, head: bytes) -> bool:
    return path.suffix.lower() == ".csv" and b"Group ID" in head and b"Name 6" in head


def _is_xlsx(path: Path, head: bytes) -> bool:
    if path.suffix.lower() != ".xlsx" or not head.startswith(b"PK"):
        return False
    rows = xlsx_head(path)
    if not rows:  # unreadable: a broken ConList download is rejected, not passed over
        return path.name.lower().startswith("conlist")
    return any("Group ID" in row and "Name 6" in row for row in rows)


UK_OFSI_CSV = ListFormat(
    name="uk-ofsi-csv",
    source="uk",
    title="UK OFSI Consolidated List (CSV)",
    url=f"{_BASE}/ConList.csv",
    dates_are_official=True,
    detect=_is_csv,
    parse=lambda fs, ctx: parse_csv(fs.main, ctx),
    publication_date=_csv_date,
    min_entities=1000,
    download_name="ConList.csv",
    refresh=True,
    preference=10,
)

UK_OFSI_XLSX = ListFormat(
    name="uk-ofsi-xlsx",
    source="uk",
    title="UK OFSI Consolidated List (xlsx)",
    url=f"{_BASE}/ConList.xlsx",
    dates_are_official=True,
    detect=_is_xlsx,
    parse=lambda fs, ctx: parse_xlsx(fs.main, ctx),
    publication_date=_xlsx_date,
    min_entities=1000,
    download_name="ConList.xlsx",
    preference=20,
)

__all__ = ["UK_OFSI_CSV", "UK_OFSI_XLSX", "FileSet", "parse_csv", "parse_xlsx", "uk_date"]
