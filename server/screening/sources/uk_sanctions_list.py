"""UK Sanctions List (FCDO), the summary spreadsheet export (ODS): one row per designation.

Columns: Unique ID (e.g. RUS0001, the list's own reference), OFSI Group ID, Name, Regime
Name, Type (Individual, Entity, Ship), Designation source (UK, UN), Date Designated
(official, day first: 29-06-2012), Sanctions Imposed.

ODS is zipped XML (OpenDocument), read by sources/spreadsheets.py: the sheet declares a
million repeated empty rows and 16,384 repeated columns, which a document-object reader
would expand.
"""

from __future__ import annotations

import logging
import re
from pathlib import Path

from screening.model.entities import DateBasis, Entity, EntityType
from screening.sources.base import ListFormat
from screening.sources.common import ParseError, clean, display_name, iso_date, split_values
from screening.sources.limits import ParseContext
from screening.sources.spreadsheets import ods_rows

log = logging.getLogger(__name__)

_COLUMNS = ("Unique ID", "Name", "Regime Name", "Type", "Date Designated")
_TYPES = {
    "individual": EntityType.PERSON,
    "entity": EntityType.ORGANIZATION,
    "ship": EntityType.VESSEL,
}


def parse_ods(path: Path, ctx: ParseContext | None = None) -> list[Entity]:
    ctx = ctx or ParseContext()
    file = display_name(path)
    rows = ods_rows(path, ctx)
    header = [clean(c) for c in next(rows, [])]
    missing = [c for c in _COLUMNS if c not in header]
    if missing:
        raise ParseError(f"{file}: columns missing: {missing}")
    col = {name: i for i, name in enumerate(header)}
    entities = []
    nameless: list[str] = []
    for lineno, row in enumerate(rows, 2):
        if not any(c.strip() for c in row):
            continue

        def cell(name: str, row: list[str] = row) -> str:
            i = col.get(name)
            return clean(row[i]) if i is not None and i < len(row) else ""

        ref, name = cell("Unique ID"), cell("Name")
        if not ref:
            raise ParseError(f"{file}: row {lineno} has no Unique ID")
        if not name:
            # A defect of the publication itself (the 2025-08-11 export has two such rows):
            # nothing to screen against, so the row is left out and reported.
            nameless.append(ref)
            continue
        designated = _dmy(cell("Date Designated"))
        properties = {}
        for key, column in (
            ("ofsi_group_id", "OFSI Group ID"),
            ("designation_source", "Designation source"),
            ("sanctions_imposed", "Sanctions Imposed"),
        ):
            if cell(column):
                properties[key] = cell(column)
        entities.append(
            Entity(
                id=f"uk-sl:{ref}",
                source="uk-sl",
                source_ref=ref,
                entity_type=_TYPES.get(cell("Type").lower(), EntityType.UNKNOWN),
                name=name,
                programs=split_values(cell("Regime Name"), "|"),
                properties=properties,
                designation_date=designated,
                designation_date_basis=DateBasis.OFFICIAL if designated else DateBasis.NONE,
                related=[f"uk:{properties['ofsi_group_id']}"]
                if properties.get("ofsi_group_id")
                else [],
            )
        )
    if not entities:
        raise ParseError(f"{file}: no rows")
    if nameless:
        log.warning(
            "list rows without a name left out",
            extra={"file": file, "count": len(nameless), "refs": nameless[:20]},
        )
    return entities


def _dmy(text: str) -> str:
    m = re.match(r"^(\d{1,2})-(\d{1,2})-(\d{4})$", text)
    return iso_date(f"{m[1]}/{m[2]}/{m[3]}") if m else iso_date(text)


def _is_ods(path: Path, head: bytes) -> bool:
    return path.suffix.lower() == ".ods" and head.startswith(b"PK")


UK_SANCTIONS_LIST_ODS = ListFormat(
    name="uk-sl-ods",
    source="uk-sl",
    title="UK Sanctions List (FCDO), spreadsheet export",
    url="https://sanctionslist.fcdo.gov.uk/docs/UK-Sanctions-List.ods",
    dates_are_official=True,
    detect=_is_ods,
    parse=lambda fs, ctx: parse_ods(fs.main, ctx),
    min_entities=1000,
    download_name="UK-Sanctions-List.ods",
    refresh=True,
)
