"""UN Security Council Consolidated List, XML (root CONSOLIDATED_LIST, schema sc-sanctions.xsd).

LISTED_ON is the official designation date.
"""

from __future__ import annotations

import re
from pathlib import Path

from lxml import etree

from screening.model.countries import to_alpha2
from screening.model.entities import Address, DateBasis, Entity, EntityType, Identifier, Name
from screening.sources.base import FileSet, ListFormat
from screening.sources.common import ParseError, clean, display_name, iso_date, unique
from screening.sources.limits import ParseContext
from screening.sources.xml import parse_tree

_DOC_TYPES = {
    "passport": "passport",
    "national identification number": "national_id",
    "national identification card": "national_id",
    "identification card": "national_id",
    "id card": "national_id",
    "national id": "national_id",
    "tax": "tax_id",
}


def _text(el: etree._Element | None, tag: str) -> str:
    if el is None:
        return ""
    found = el.find(tag)
    return clean(found.text) if found is not None else ""


def _values(el: etree._Element, tag: str) -> list[str]:
    return [clean(v.text) for node in el.findall(tag) for v in node.findall("VALUE") if v.text]


def _aliases(el: etree._Element, tag: str) -> list[Name]:
    names = []
    for alias in el.findall(tag):
        name = _text(alias, "ALIAS_NAME")
        if not name:
            continue
        quality = _text(alias, "QUALITY").lower()
        kind = "fka" if quality.startswith("f.k.a") else "aka"
        names.append(Name(name, kind, "weak" if quality == "low" else "strong"))
    return names


def _addresses(el: etree._Element, tag: str) -> list[Address]:
    out = []
    for node in el.findall(tag):
        street, city = _text(node, "STREET"), _text(node, "CITY")
        region, postal = _text(node, "STATE_PROVINCE"), _text(node, "ZIP_CODE")
        country_name = _text(node, "COUNTRY")
        full = ", ".join(v for v in (street, city, region, postal, country_name) if v)
        if full:
            out.append(Address(street, city, region, postal, to_alpha2(country_name), full))
    return out


def _birth_dates(el: etree._Element) -> list[str]:
    dates = []
    for node in el.findall("INDIVIDUAL_DATE_OF_BIRTH"):
        date, year = _text(node, "DATE"), _text(node, "YEAR")
        start, end = _text(node, "FROM_YEAR"), _text(node, "TO_YEAR")
        if date:
            dates.append(iso_date(date))
        elif year:
            dates.append(iso_date(year))
        elif start.isdigit() and end.isdigit() and 0 <= int(end) - int(start) <= 20:
            dates.extend(str(y) for y in range(int(start), int(end) + 1))
    return unique(dates)


def _documents(el: etree._Element) -> list[Identifier]:
    out = []
    for node in el.findall("INDIVIDUAL_DOCUMENT"):
        number = _text(node, "NUMBER")
        if not number:
            continue
        label = (_text(node, "TYPE_OF_DOCUMENT") or _text(node, "TYPE_OF_DOCUMENT2")).lower()
        scheme = next((v for k, v in _DOC_TYPES.items() if k in label), "") or re.sub(
            r"[^a-z0-9]+", "_", label
        ).strip("_")
        country = to_alpha2(_text(node, "ISSUING_COUNTRY") or _text(node, "COUNTRY_OF_ISSUE"))
        out.append(Identifier(scheme or "document", number, country, _text(node, "NOTE")))
    return out


def _entry(el: etree._Element, person: bool) -> Entity:
    ref = _text(el, "REFERENCE_NUMBER")
    parts = [_text(el, t) for t in ("FIRST_NAME", "SECOND_NAME", "THIRD_NAME", "FOURTH_NAME")]
    name = " ".join(p for p in parts if p)
    if not ref or not name:
        raise ParseError(f"UN entry without reference or name (DATAID {_text(el, 'DATAID')})")
    aliases = _aliases(el, "INDIVIDUAL_ALIAS" if person else "ENTITY_ALIAS")
    original = _text(el, "NAME_ORIGINAL_SCRIPT")
    if original:
        aliases.insert(0, Name(original, "aka", "strong"))
    addresses = _addresses(el, "INDIVIDUAL_ADDRESS" if person else "ENTITY_ADDRESS")
    nationalities = unique(to_alpha2(v) for v in _values(el, "NATIONALITY"))
    identifiers = _documents(el) if person else []
    birth_places = []
    for node in el.findall("INDIVIDUAL_PLACE_OF_BIRTH"):
        place = ", ".join(
            v for v in (_text(node, t) for t in ("CITY", "STATE_PROVINCE", "COUNTRY")) if v
        )
        if place:
            birth_places.append(place)
    properties = {}
    for key, tag in (("title", "TITLE"), ("position", "DESIGNATION")):
        values = _values(el, tag)
        if values:
            properties[key] = "; ".join(values)
    gender = _text(el, "GENDER")
    if gender:
        properties["gender"] = gender
    listed_on = iso_date(_text(el, "LISTED_ON"))
    return Entity(
        id=f"un:{ref}",
        source="un",
        source_ref=ref,
        entity_type=EntityType.PERSON if person else EntityType.ORGANIZATION,
        name=name,
        aliases=aliases,
        programs=unique([_text(el, "UN_LIST_TYPE")]),
        countries=unique([*nationalities, *(a.country for a in addresses)]),
        nationalities=nationalities,
        birth_dates=_birth_dates(el) if person else [],
        birth_places=birth_places,
        addresses=addresses,
        identifiers=identifiers,
        remarks=_text(el, "COMMENTS1"),
        properties=properties,
        designation_date=listed_on,
        designation_date_basis=DateBasis.OFFICIAL if listed_on else DateBasis.NONE,
    )


def parse_un(fileset: FileSet, ctx: ParseContext | None = None) -> list[Entity]:
    root = parse_tree(fileset.main)
    if root.tag != "CONSOLIDATED_LIST":
        raise ParseError(
            f"{display_name(fileset.main)}: root is {root.tag}, expected CONSOLIDATED_LIST"
        )
    individuals, entities = root.find("INDIVIDUALS"), root.find("ENTITIES")
    if individuals is None or entities is None:
        raise ParseError(f"{display_name(fileset.main)}: INDIVIDUALS or ENTITIES section missing")
    out = [_entry(el, True) for el in individuals.findall("INDIVIDUAL")]
    out += [_entry(el, False) for el in entities.findall("ENTITY")]
    return out


def _publication_date(path: Path, head: bytes) -> str:
    m = re.search(rb'dateGenerated="(\d{4}-\d{2}-\d{2})', head)
    return m[1].decode() if m else ""


UN_XML = ListFormat(
    name="un-xml",
    source="un",
    title="UN Security Council Consolidated List",
    url="https://scsanctions.un.org/resources/xml/en/consolidated.xml",
    dates_are_official=True,
    detect=lambda path, head: path.suffix.lower() == ".xml" and b"<CONSOLIDATED_LIST" in head,
    parse=parse_un,
    publication_date=_publication_date,
    min_entities=100,
    download_name="un_consolidated.xml",
    refresh=True,
)
