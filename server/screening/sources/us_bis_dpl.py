"""US BIS Denied Persons List, tab-separated text (dpl.txt).

Header: Name, Street_Address, City, State, Country, Postal_Code, Effective_Date,
Expiration_Date, Standard_Order, Last_Update, Action, FR_Citation. Dates are month first.
One row per denial order and address: a person denied at two addresses has two rows, and
each row is one entry here (the list's own unit). Rows carry no id: the id is a digest of
name, address and effective date. Effective_Date (the date of the denial order) is the
official designation date.
"""

from __future__ import annotations

import re
from pathlib import Path

from screening.model.countries import to_alpha2
from screening.model.entities import Address, DateBasis, Entity, EntityType
from screening.sources.base import ListFormat
from screening.sources.common import ParseError, clean, display_name, short_hash, us_date
from screening.sources.limits import ParseContext

_COLUMNS = ("Name", "Street_Address", "City", "State", "Country", "Postal_Code", "Effective_Date")
_US_STATES = frozenset(
    re.findall(
        r"[A-Z]{2}",
        "AL AK AZ AR CA CO CT DE DC FL GA HI ID IL IN IA KS KY LA ME MD MA MI MN MS MO MT NE NV "
        "NH NJ NM NY NC ND OH OK OR PA PR RI SC SD TN TX UT VT VA WA WV WI WY GU VI",
    )
)
# Legal forms that make an unnamed-type row an organisation.
_ORG_WORDS = re.compile(
    r"\b(LTD|LIMITED|INC|CORP|CORPORATION|CO|COMPANY|LLC|GMBH|S\.?A|AG|BV|LLP|SRL|"
    r"INTERNATIONAL|TRADING|INDUSTRIES|ENTERPRISES?|AIRLINES?|GROUP|ELECTRONICS)\b\.?",
    re.IGNORECASE,
)


def legal_form_type(name: str) -> EntityType:
    return EntityType.ORGANIZATION if _ORG_WORDS.search(name) else EntityType.UNKNOWN


def parse_dpl(path: Path, ctx: ParseContext | None = None) -> list[Entity]:
    rows = (ctx or ParseContext()).csv_rows(path, delimiter="\t")
    if not rows:
        raise ParseError(f"{display_name(path)}: empty file")
    header = [clean(c) for c in rows[0]]
    missing = [c for c in _COLUMNS if c not in header]
    if missing:
        raise ParseError(f"{display_name(path)}: columns missing: {missing}")
    entities: list[Entity] = []
    seen: dict[str, int] = {}
    for lineno, row in enumerate(rows[1:], 2):
        if not any(c.strip() for c in row):
            continue
        if len(row) != len(header):
            raise ParseError(
                f"{display_name(path)}: line {lineno} has {len(row)} fields, expected "
                f"{len(header)} (truncated or malformed file)"
            )
        rec = {k: clean(v) for k, v in zip(header, row, strict=True)}
        name = rec["Name"]
        if not name:
            raise ParseError(f"{display_name(path)}: line {lineno} has no name")
        street, city, state = rec["Street_Address"], rec["City"], rec["State"]
        postal, country = rec["Postal_Code"], rec["Country"]
        country_code = to_alpha2(country) or ("US" if state in _US_STATES else "")
        full = ", ".join(v for v in (street, city, state, postal, country) if v)
        effective = us_date(rec["Effective_Date"])
        ref = short_hash(name, street, city, country, rec["Effective_Date"])
        seen[ref] = seen.get(ref, 0) + 1
        if seen[ref] > 1:  # the same row twice: keep both, as the list does
            ref = f"{ref}-{seen[ref]}"
        properties = {}
        for key, column in (
            ("expiration_date", "Expiration_Date"),
            ("standard_order", "Standard_Order"),
            ("last_update", "Last_Update"),
            ("action", "Action"),
            ("federal_register_notice", "FR_Citation"),
        ):
            value = rec.get(column, "")
            if value:
                properties[key] = us_date(value) if key == "expiration_date" else value
        entities.append(
            Entity(
                id=f"us-bis-dpl:{ref}",
                source="us-bis-dpl",
                source_ref=ref,
                entity_type=legal_form_type(name),
                name=name,
                programs=["DPL"],
                countries=[country_code] if country_code else [],
                addresses=[Address(street, city, state, postal, country_code, full)]
                if full
                else [],
                properties=properties,
                designation_date=effective,
                designation_date_basis=DateBasis.OFFICIAL if effective else DateBasis.NONE,
            )
        )
    return entities


def _is_dpl(path: Path, head: bytes) -> bool:
    return b"Effective_Date" in head and b"Street_Address" in head and b"\t" in head


US_BIS_DPL = ListFormat(
    name="us-bis-dpl-txt",
    source="us-bis-dpl",
    title="US BIS Denied Persons List",
    url="https://www.bis.doc.gov/dpl/dpl.txt",
    dates_are_official=True,
    detect=_is_dpl,
    parse=lambda fs, ctx: parse_dpl(fs.main, ctx),
    min_entities=100,
    download_name="dpl.txt",
    refresh=True,
)
