"""OFAC SDN list, CSV family: sdn.csv with its add.csv / alt.csv / sdn_comments.csv companions.

sdn.csv has no header; 12 columns: ent_num, name, type, programs, title, call sign, vessel type,
tonnage, GRT, flag, owner, remarks. '-0-' marks an empty field. The file ends with a DOS
end-of-file byte (0x1A). sdn_comments.csv holds the overflow of remarks that did not fit.
"""

from __future__ import annotations

import re
from collections import defaultdict
from pathlib import Path

from screening.model.countries import to_alpha2
from screening.model.entities import Address, Entity, EntityType, Identifier, Name
from screening.sources.base import FileSet, ListFormat
from screening.sources.common import ParseError, clean, display_name, unique
from screening.sources.limits import ParseContext
from screening.sources.ofac_remarks import parse_remarks

_TYPES = {
    "individual": EntityType.PERSON,
    "vessel": EntityType.VESSEL,
    "aircraft": EntityType.AIRCRAFT,
    "": EntityType.ORGANIZATION,
}
_ALT_KINDS = {"aka": "aka", "fka": "fka", "nka": "nka"}


def read_rows(path: Path, columns: int, ctx: ParseContext, *, min_rows: int = 0) -> list[list[str]]:
    """Read an OFAC CSV strictly: a row without `columns` fields rejects the whole file."""
    name = display_name(path)
    rows = []
    for lineno, row in enumerate(ctx.csv_rows(path, strip="\x1a\r\n\t "), 1):
        if not row or row == ["\x1a"]:
            continue
        if len(row) != columns:
            raise ParseError(
                f"{name}: line {lineno} has {len(row)} fields, expected {columns} "
                "(truncated or malformed file)"
            )
        rows.append(row)
    if not rows:
        raise ParseError(f"{name}: empty file")
    if len(rows) < min_rows:
        raise ParseError(f"{name}: {len(rows)} rows, expected at least {min_rows}")
    return rows


_PROGRAM_SEPARATOR = re.compile(r"\]\s*\[")


def _programs(text: str) -> list[str]:
    return unique(map(clean, _PROGRAM_SEPARATOR.split(clean(text).strip("[]"))))


def parse_sdn_csv(
    main: Path,
    companions: list[Path],
    *,
    source: str,
    id_prefix: str | None = None,
    ctx: ParseContext | None = None,
) -> list[Entity]:
    """Parse an sdn.csv (or cons_prim.csv) and join its companions on ent_num."""
    prefix = id_prefix or source
    ctx = ctx or ParseContext()
    rows = read_rows(main, 12, ctx, min_rows=1)
    addresses: dict[str, list[Address]] = defaultdict(list)
    aliases: dict[str, list[Name]] = defaultdict(list)
    comments: dict[str, str] = {}
    for path in companions:
        kind = companion_kind(path)
        if kind == "add":
            for row in read_rows(path, 6, ctx):
                ent, _, street, city, country, _remark = map(clean, row)
                addr = Address(
                    street=street,
                    city=city,
                    country=to_alpha2(country),
                    full=", ".join(v for v in (street, city, country) if v),
                )
                if addr.full:
                    addresses[ent].append(addr)
        elif kind == "alt":
            for row in read_rows(path, 5, ctx):
                ent, _, alt_type, alt_name, alt_remark = map(clean, row)
                if alt_name:
                    quality = "weak" if "weak" in alt_remark.lower() else "strong"
                    kind_name = _ALT_KINDS.get(alt_type.lower().replace(".", ""), "aka")
                    aliases[ent].append(Name(alt_name, kind_name, quality))
        elif kind == "comments":
            for row in read_rows(path, 2, ctx):
                comments[clean(row[0])] = row[1].strip()

    entities = []
    seen: set[str] = set()
    for row in rows:
        (
            ent_num,
            name,
            sdn_type,
            programs,
            title,
            call_sign,
            vessel_type,
            tonnage,
            grt,
            flag,
            owner,
            remarks,
        ) = map(clean, row)
        if not ent_num.isdigit() or not name:
            raise ParseError(f"{display_name(main)}: bad row for entry {ent_num!r}")
        if ent_num in seen:
            raise ParseError(f"{display_name(main)}: entry {ent_num} appears twice")
        seen.add(ent_num)
        if ent_num in comments:
            remarks = (remarks + comments[ent_num]).strip()
        facts = parse_remarks(remarks)
        entity_type = _TYPES.get(sdn_type.lower(), EntityType.ORGANIZATION)
        identifiers = list(facts.identifiers)
        properties = dict(facts.properties)
        flag_code = to_alpha2(flag)
        if call_sign:
            identifiers.append(Identifier("call_sign", call_sign, flag_code))
        for key, value in (
            ("title", title),
            ("vessel_type", vessel_type),
            ("tonnage", tonnage),
            ("gross_registered_tonnage", grt),
            ("vessel_flag", flag),
            ("vessel_owner", owner),
        ):
            if value:
                properties[key] = value
        entity_addresses = addresses.get(ent_num, [])
        countries = unique(
            [
                *facts.nationalities,
                flag_code,
                *(a.country for a in entity_addresses),
                *(i.country for i in identifiers if i.type in ("passport", "national_id")),
            ]
        )
        entities.append(
            Entity(
                id=f"{prefix}:{ent_num}",
                source=source,
                source_ref=ent_num,
                entity_type=entity_type,
                name=name,
                aliases=[*aliases.get(ent_num, []), *facts.weak_aliases],
                programs=_programs(programs),
                countries=countries,
                nationalities=facts.nationalities,
                birth_dates=unique(facts.birth_dates),
                birth_places=facts.birth_places,
                addresses=entity_addresses,
                identifiers=identifiers,
                remarks=remarks,
                properties=properties,
            )
        )
    return entities


def companion_kind(path: Path) -> str:
    name = path.name.lower()
    if "comments" in name:
        return "comments"
    if re.match(r"^(cons_)?add[_.]", name):
        return "add"
    if re.match(r"^(cons_)?alt[_.]", name):
        return "alt"
    return ""


def _is_sdn_main(path: Path) -> bool:
    return re.match(r"^sdn([_-][\d-]+)?\.csv$", path.name.lower()) is not None


def _sdn_companions(main: Path, siblings: list[Path]) -> list[Path]:
    return [
        p
        for p in siblings
        if not p.name.lower().startswith("cons_")
        and companion_kind(p) in ("add", "alt", "comments")
        and p.suffix.lower() == ".csv"
    ]


def _parse(fileset: FileSet, ctx: ParseContext) -> list[Entity]:
    main, *companions = fileset.paths
    return parse_sdn_csv(main, list(companions), source=fileset.source, ctx=ctx)


_EXPORTS = "https://sanctionslistservice.ofac.treas.gov/api/PublicationPreview/exports"

OFAC_SDN_CSV = ListFormat(
    name="ofac-sdn-csv",
    source="ofac-sdn",
    title="OFAC Specially Designated Nationals (SDN) list",
    url=f"{_EXPORTS}/SDN.CSV",
    dates_are_official=False,
    detect=lambda path, head: _is_sdn_main(path),
    companions=_sdn_companions,
    parse=_parse,
    companion_urls={
        "add.csv": f"{_EXPORTS}/ADD.CSV",
        "alt.csv": f"{_EXPORTS}/ALT.CSV",
        "sdn_comments.csv": f"{_EXPORTS}/SDN_COMMENTS.CSV",
    },
    min_entities=1000,
    download_name="sdn.csv",
    refresh=True,
    preference=10,
)


def _is_cons_main(path: Path) -> bool:
    return re.match(r"^cons_prim([_-][\d-]+)?\.csv$", path.name.lower()) is not None


def _cons_companions(main: Path, siblings: list[Path]) -> list[Path]:
    return [
        p
        for p in siblings
        if p.name.lower().startswith("cons_")
        and companion_kind(p) in ("add", "alt", "comments")
        and p.suffix.lower() == ".csv"
    ]


OFAC_CONS_CSV = ListFormat(
    name="ofac-cons-csv",
    source="ofac-cons",
    title="OFAC Consolidated (non-SDN) list",
    url=f"{_EXPORTS}/CONS_PRIM.CSV",
    dates_are_official=False,
    detect=lambda path, head: _is_cons_main(path),
    companions=_cons_companions,
    parse=_parse,
    companion_urls={
        "cons_add.csv": f"{_EXPORTS}/CONS_ADD.CSV",
        "cons_alt.csv": f"{_EXPORTS}/CONS_ALT.CSV",
        "cons_comments.csv": f"{_EXPORTS}/CONS_COMMENTS.CSV",
    },
    min_entities=100,
    download_name="cons_prim.csv",
    refresh=True,
    preference=10,
)
