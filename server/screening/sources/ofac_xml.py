"""OFAC lists in the `sdn.xml` schema: SDN.XML (source ofac-sdn) and CONSOLIDATED.XML
(source ofac-cons, the non-SDN lists).

Root `sdnList` (namespace of the Sanctions List Service exports), one `sdnEntry` per entry
with structured aliases (category strong/weak), addresses, ids, dates and places of birth,
nationalities and vessel details. `publshInformation/Record_Count` states how many entries
the file holds: a file that holds fewer is truncated. The schema carries no designation
dates: entries get the first-seen date of their first publication.
"""

from __future__ import annotations

import re
from pathlib import Path

from lxml import etree

from screening.model.countries import to_alpha2
from screening.model.entities import Address, Entity, EntityType, Identifier, Name
from screening.sources.base import FileSet, ListFormat
from screening.sources.common import ParseError, clean, display_name, unique, us_date
from screening.sources.limits import ParseContext
from screening.sources.ofac_remarks import classify_label, dob_values, parse_remarks
from screening.sources.xml import child, child_text, iter_elements, local, release

_TYPES = {
    "individual": EntityType.PERSON,
    "vessel": EntityType.VESSEL,
    "aircraft": EntityType.AIRCRAFT,
    "entity": EntityType.ORGANIZATION,
}
_ALIAS_KINDS = {"a.k.a.": "aka", "f.k.a.": "fka", "n.k.a.": "nka"}
_EXPORTS = "https://sanctionslistservice.ofac.treas.gov/api/PublicationPreview/exports"


def _items(el: etree._Element, list_name: str) -> list[etree._Element]:
    found = child(el, list_name)
    return list(found) if found is not None else []


def full_name(first: str, last: str) -> str:
    """OFAC's own order, as in sdn.csv: 'LAST, First'."""
    return f"{last}, {first}" if first and last else (last or first)


def _entry(el: etree._Element) -> Entity:
    uid = child_text(el, "uid")
    name = full_name(child_text(el, "firstName"), child_text(el, "lastName"))
    if not uid.isdigit() or not name:
        raise ParseError(f"sdnEntry without uid or name (uid {uid!r})")
    entity_type = _TYPES.get(child_text(el, "sdnType").lower(), EntityType.ORGANIZATION)
    remarks = child_text(el, "remarks")
    facts = parse_remarks(remarks)
    aliases: list[Name] = []
    for aka in _items(el, "akaList"):
        alias = full_name(child_text(aka, "firstName"), child_text(aka, "lastName"))
        if alias:
            category = child_text(aka, "category").lower()
            aliases.append(
                Name(
                    alias,
                    _ALIAS_KINDS.get(child_text(aka, "type").lower(), "aka"),
                    "weak" if category == "weak" else "strong",
                )
            )
    known = {a.full for a in aliases}
    aliases += [a for a in facts.weak_aliases if a.full not in known]
    addresses = []
    for item in _items(el, "addressList"):
        street = ", ".join(v for v in (child_text(item, f"address{i}") for i in (1, 2, 3)) if v)
        city, region = child_text(item, "city"), child_text(item, "stateOrProvince")
        postal, country = child_text(item, "postalCode"), child_text(item, "country")
        full = ", ".join(v for v in (street, city, region, postal, country) if v)
        if full:
            addresses.append(Address(street, city, region, postal, to_alpha2(country), full))
    identifiers = list(facts.identifiers)
    properties = dict(facts.properties)
    for item in _items(el, "idList"):
        label, number = child_text(item, "idType"), child_text(item, "idNumber")
        found = classify_label(label, number)
        if isinstance(found, Identifier):
            country = to_alpha2(child_text(item, "idCountry"))
            if country and not found.country:
                found = Identifier(found.type, found.value, country, found.note)
            if found not in identifiers:
                identifiers.append(found)
        elif found is not None:
            properties[found[0]] = found[1]
        elif label and number:
            key = re.sub(r"[^a-z0-9]+", "_", label.lower()).strip("_")
            properties[key] = "; ".join(unique([*properties.get(key, "").split("; "), number]))
    nationalities = unique(
        [
            *(to_alpha2(child_text(i, "country")) for i in _items(el, "nationalityList")),
            *(to_alpha2(child_text(i, "country")) for i in _items(el, "citizenshipList")),
            *facts.nationalities,
        ]
    )
    birth_dates = unique(
        [d for i in _items(el, "dateOfBirthList") for d in dob_values(child_text(i, "dateOfBirth"))]
        + facts.birth_dates
    )
    birth_places = unique(
        [child_text(i, "placeOfBirth") for i in _items(el, "placeOfBirthList")] + facts.birth_places
    )
    vessel = child(el, "vesselInfo")
    flag = ""
    if vessel is not None:
        flag = to_alpha2(child_text(vessel, "vesselFlag"))
        call_sign = child_text(vessel, "callSign")
        if call_sign:
            identifiers.append(Identifier("call_sign", call_sign, flag))
        for key, tag in (
            ("vessel_type", "vesselType"),
            ("vessel_flag", "vesselFlag"),
            ("vessel_owner", "vesselOwner"),
            ("tonnage", "tonnage"),
            ("gross_registered_tonnage", "grossRegisteredTonnage"),
        ):
            value = child_text(vessel, tag)
            if value:
                properties[key] = value
    title = child_text(el, "title")
    if title:
        properties["title"] = title
    return Entity(
        id="",
        source="",
        source_ref=uid,
        entity_type=entity_type,
        name=name,
        aliases=aliases,
        programs=unique(clean(p.text) for p in _items(el, "programList")),
        countries=unique(
            [
                *nationalities,
                flag,
                *(a.country for a in addresses),
                *(i.country for i in identifiers if i.type in ("passport", "national_id")),
            ]
        ),
        nationalities=nationalities,
        birth_dates=birth_dates,
        birth_places=birth_places,
        addresses=addresses,
        identifiers=identifiers,
        remarks=remarks,
        properties=properties,
    )


def parse_sdn_xml(path: Path, source: str, ctx: ParseContext | None = None) -> list[Entity]:
    entities: list[Entity] = []
    record_count: int | None = None
    name = display_name(path)
    for _, el in iter_elements(path):
        tag = local(el.tag)
        if tag == "sdnEntry":
            entity = _entry(el)
            entity.id = f"{source}:{entity.source_ref}"
            entity.source = source
            entities.append(entity)
            release(el)
        elif tag == "Record_Count":
            count = clean(el.text) or "0"
            if not count.isdigit():
                raise ParseError(f"{name}: Record_Count {count[:20]!r} is not a number")
            record_count = int(count)
        elif tag == "sdnList" and record_count is None:
            raise ParseError(f"{name}: no publshInformation/Record_Count")
    if not entities:
        raise ParseError(f"{name}: no sdnEntry (not an sdn.xml publication)")
    if record_count is not None and record_count != len(entities):
        raise ParseError(
            f"{name}: {len(entities)} entries, the file says {record_count} (truncated?)"
        )
    return entities


def _publication_date(path: Path, head: bytes) -> str:
    m = re.search(rb"<Publish_Date>([^<]+)</Publish_Date>", head)
    return us_date(m[1].decode()) if m else ""


def _is_sdn_xml(path: Path, head: bytes) -> bool:
    return path.suffix.lower() == ".xml" and b"<sdnList" in head


def _is_cons(path: Path) -> bool:
    return "cons" in path.name.lower()


OFAC_SDN_XML = ListFormat(
    name="ofac-sdn-xml",
    source="ofac-sdn",
    title="OFAC SDN list (sdn.xml)",
    url=f"{_EXPORTS}/SDN.XML",
    dates_are_official=False,
    detect=lambda path, head: _is_sdn_xml(path, head) and not _is_cons(path),
    parse=lambda fs, ctx: parse_sdn_xml(fs.main, "ofac-sdn", ctx),
    publication_date=_publication_date,
    min_entities=1000,
    download_name="sdn.xml",
    preference=20,
)

OFAC_CONS_XML = ListFormat(
    name="ofac-cons-xml",
    source="ofac-cons",
    title="OFAC Consolidated (non-SDN) list (consolidated.xml)",
    url=f"{_EXPORTS}/CONSOLIDATED.XML",
    dates_are_official=False,
    detect=lambda path, head: _is_sdn_xml(path, head) and _is_cons(path),
    parse=lambda fs, ctx: parse_sdn_xml(fs.main, "ofac-cons", ctx),
    publication_date=_publication_date,
    min_entities=100,
    download_name="consolidated.xml",
    preference=20,
)

__all__ = ["OFAC_CONS_XML", "OFAC_SDN_XML", "FileSet", "full_name", "parse_sdn_xml"]
