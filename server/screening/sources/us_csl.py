"""US Consolidated Screening List (trade.gov): the export-screening lists of Commerce (BIS
Entity List, Denied Persons, Unverified, Military End User), State (ISN, ITAR debarred) and
Treasury (SDN, SSI, FSE, PLC, CAPTA...) in one file, CSV or JSON.

Each row names its source list (`source`); `start_date` is the official listing date where
the list gives one (Commerce and State rows; Treasury rows have none and fall back to first
seen). The current CSV layout (29 columns) starts with `_id`, the JSON calls it `id`; the
2019 layout has no id, so rows get the list's entity number or a digest. Multi-valued cells
are '; '-separated. `ids` entries are "type, number, country" (current) or "country,
number, type" / "number, type" (2019).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from screening.model.countries import to_alpha2
from screening.model.entities import Address, DateBasis, Entity, EntityType, Identifier, Name
from screening.sources.base import ListFormat
from screening.sources.common import (
    ParseError,
    clean,
    display_name,
    iso_date,
    short_hash,
    split_values,
    unique,
)
from screening.sources.limits import ParseContext
from screening.sources.ofac_remarks import classify_label
from screening.sources.us_bis_dpl import legal_form_type

_TYPES = {
    "individual": EntityType.PERSON,
    "entity": EntityType.ORGANIZATION,
    "vessel": EntityType.VESSEL,
    "aircraft": EntityType.AIRCRAFT,
}
_REQUIRED = ("source", "name", "start_date", "alt_names", "addresses")
_BASE = "https://data.trade.gov/downloadable_consolidated_screening_list/v1"


def list_abbreviation(source: str) -> str:
    """'Entity List (EL) - Bureau of Industry and Security' -> 'EL'."""
    m = re.search(r"\(([A-Z]{2,6})\)", source)
    return m[1] if m else clean(source.split(" - ")[0])


def _identifier(text: str, current_layout: bool) -> Identifier | tuple[str, str] | None:
    parts = [clean(p) for p in text.split(",")]
    parts = [p for p in parts if p]
    if len(parts) < 2:
        return None
    country = ""
    if current_layout:
        label, number = parts[0], ", ".join(parts[1:])
        if len(parts) >= 3 and to_alpha2(parts[-1]) and len(parts[-1]) == 2:
            number, country = ", ".join(parts[1:-1]), parts[-1].upper()
    else:
        label, number = parts[-1], ", ".join(parts[:-1])
        if len(parts) >= 3 and len(parts[0]) == 2 and to_alpha2(parts[0]):
            number, country = ", ".join(parts[1:-1]), parts[0].upper()
    found = classify_label(label, number)
    if isinstance(found, Identifier):
        return Identifier(found.type, found.value, found.country or country, found.note)
    if found is not None:
        return found
    key = re.sub(r"[^a-z0-9]+", "_", label.lower()).strip("_")
    return (key, number) if key else None


def _address(text: str) -> Address:
    parts = [clean(p) for p in text.split(",") if clean(p)]
    country = parts[-1].upper() if parts and len(parts[-1]) == 2 else ""
    return Address(country=to_alpha2(country), full=clean(text))


def _row(record: dict[str, Any], current_layout: bool, seen: dict[str, int]) -> Entity:
    def get(key: str) -> str:
        value = record.get(key)
        if isinstance(value, list):
            return "; ".join(_flatten(v) for v in value)
        return clean(str(value)) if value is not None else ""

    source_list, name = get("source"), get("name")
    if not source_list or not name:
        raise ParseError("row without source or name")
    ref = get("_id") or get("id") or get("entity_number")
    if not ref:
        ref = short_hash(source_list, name, get("addresses"), get("start_date"))
    seen[ref] = seen.get(ref, 0) + 1
    if seen[ref] > 1:
        ref = f"{ref}-{seen[ref]}"
    entity_type = _TYPES.get(get("type").lower()) or legal_form_type(name)
    identifiers: list[Identifier] = []
    properties: dict[str, str] = {"list": source_list}
    for item in _items(record.get("ids"), get("ids")):
        found = _identifier(item, current_layout)
        if isinstance(found, Identifier):
            identifiers.append(found)
        elif found is not None:
            properties[found[0]] = found[1]
    call_sign = get("call_sign")
    flag = to_alpha2(get("vessel_flag"))
    if call_sign:
        identifiers.append(Identifier("call_sign", call_sign, flag))
    for key in (
        "title",
        "vessel_type",
        "vessel_flag",
        "vessel_owner",
        "gross_tonnage",
        "gross_registered_tonnage",
        "federal_register_notice",
        "end_date",
        "standard_order",
        "license_requirement",
        "license_policy",
        "source_list_url",
    ):
        value = get(key)
        if value:
            properties[key] = value
    addresses = [_address(a) for a in _items(record.get("addresses"), get("addresses"))]
    nationalities = unique(
        to_alpha2(c)
        for c in [*split_values(get("nationalities")), *split_values(get("citizenships"))]
    )
    start = iso_date(get("start_date"))
    abbreviation = list_abbreviation(source_list)
    return Entity(
        id=f"us-csl:{ref}",
        source="us-csl",
        source_ref=ref,
        entity_type=entity_type,
        name=name,
        aliases=[Name(a) for a in split_values(get("alt_names")) if a != name],
        programs=unique([abbreviation, *split_values(get("programs"))]),
        countries=unique([*nationalities, flag, *(a.country for a in addresses)]),
        nationalities=nationalities,
        birth_dates=unique(iso_date(d) for d in split_values(get("dates_of_birth"))),
        birth_places=split_values(get("places_of_birth")),
        addresses=addresses,
        identifiers=identifiers,
        remarks=get("remarks"),
        properties=properties,
        designation_date=start,
        designation_date_basis=DateBasis.OFFICIAL if start else DateBasis.NONE,
    )


def _flatten(value: Any) -> str:
    """JSON list items (addresses, ids) as the CSV writes them."""
    if isinstance(value, dict):
        if "number" in value or "type" in value:
            return ", ".join(
                clean(str(value.get(k) or "")) for k in ("type", "number", "country")
            ).strip(", ")
        return ", ".join(
            clean(str(value.get(k) or ""))
            for k in ("address", "city", "state", "postal_code", "country")
            if value.get(k)
        )
    return clean(str(value))


def _items(raw: Any, joined: str) -> list[str]:
    if isinstance(raw, list):
        return [s for s in (_flatten(v) for v in raw) if s]
    return split_values(joined)


def _parse_records(records: Iterable[dict[str, Any]], name: str, current: bool) -> list[Entity]:
    seen: dict[str, int] = {}
    out = []
    for i, record in enumerate(records, 1):
        try:
            out.append(_row(record, current, seen))
        except ParseError as exc:
            raise ParseError(f"{name}: record {i}: {exc}") from exc
    if not out:
        raise ParseError(f"{name}: no rows")
    return out


def parse_csl_csv(path: Path, ctx: ParseContext | None = None) -> list[Entity]:
    rows = (ctx or ParseContext()).csv_rows(path)
    if not rows:
        raise ParseError(f"{display_name(path)}: empty file")
    header = [clean(c) for c in rows[0]]
    missing = [c for c in _REQUIRED if c not in header]
    if missing:
        raise ParseError(f"{display_name(path)}: columns missing: {missing}")
    records = []
    for lineno, row in enumerate(rows[1:], 2):
        if not any(c.strip() for c in row):
            continue
        if len(row) != len(header):
            raise ParseError(
                f"{display_name(path)}: line {lineno} has {len(row)} fields, expected "
                f"{len(header)} (truncated or malformed file)"
            )
        records.append(dict(zip(header, row, strict=True)))
    return _parse_records(records, display_name(path), current="_id" in header)


def parse_csl_json(path: Path, ctx: ParseContext | None = None) -> list[Entity]:
    ctx = ctx or ParseContext()
    ctx.check_size(path)
    try:
        data = json.loads(ctx.decode(path.read_bytes(), display_name(path)))
    except (json.JSONDecodeError, RecursionError) as exc:
        raise ParseError(f"{display_name(path)}: malformed or truncated JSON: {exc}") from exc
    records = data.get("results") if isinstance(data, dict) else data
    if not isinstance(records, list) or not all(isinstance(r, dict) for r in records):
        raise ParseError(f"{display_name(path)}: expected a list of results")
    total = data.get("total") if isinstance(data, dict) else None
    if isinstance(total, int) and total != len(records):
        raise ParseError(
            f"{display_name(path)}: {len(records)} results, the file says {total} (truncated?)"
        )
    return _parse_records(records, display_name(path), current=True)


def _is_csl_csv(path: Path, head: bytes) -> bool:
    first = head.split(b"\n", 1)[0]
    return (
        path.suffix.lower() == ".csv"
        and b"source" in first
        and b"start_date" in first
        and b"alt_names" in first
    )


def _is_csl_json(path: Path, head: bytes) -> bool:
    return path.suffix.lower() == ".json" and b'"source"' in head and b'"alt_names"' in head


US_CSL_CSV = ListFormat(
    name="us-csl-csv",
    source="us-csl",
    title="US Consolidated Screening List (trade.gov), CSV",
    url=f"{_BASE}/consolidated.csv",
    dates_are_official=True,
    detect=_is_csl_csv,
    parse=lambda fs, ctx: parse_csl_csv(fs.main, ctx),
    download_name="consolidated.csv",
    refresh=True,
    preference=10,
)

US_CSL_JSON = ListFormat(
    name="us-csl-json",
    source="us-csl",
    title="US Consolidated Screening List (trade.gov), JSON",
    url=f"{_BASE}/consolidated.json",
    dates_are_official=True,
    detect=_is_csl_json,
    parse=lambda fs, ctx: parse_csl_json(fs.main, ctx),
    download_name="consolidated.json",
    preference=20,
)
