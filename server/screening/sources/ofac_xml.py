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
from screening.sources.common import ParseError, clean, unique, us_date
from screening.sources.ofac_remarks import classify_label, dob_values, parse_remarks

_TYPES = {
    "individual": EntityType.PERSON,
    "vessel": EntityType.VESSEL,
    "aircraft": EntityType.AIRCRAFT,
    "entity": EntityType.ORGANIZATION,
}
_ALIAS_KINDS = {"a.k.a.": "aka", "f.k.a.": "fka", "n.k.a.": "nka"}
_EXPORTS = "https://sanctionslistservice.ofac.treas.gov/api/PublicationPreview/exports"


def _local(tag: object) -> str:
    return tag.rsplit("}", 1)[-1] if isinstance(tag, str) else ""


def _children(el: etree._Element) -> dict[str, etree._Element]:
    return {_local(c.tag): c for c in el}


def _text(el: etree._Element | None, name: str) -> str:
    if el is None:
        return ""
    for child in el:
        if _local(child.tag) == name:
            return clean(child.text)
    return ""


def _items(el: etree._Element, list_name: str) -> list[etree._Element]:
    for child in el:
        if _local(child.tag) == list_name:
            return list(child)
    return []


def full_name(first: str, last: str) -> str:
    """OFAC's own order, as in sdn.csv: 'LAST, First'."""
    return f"{last}, {first}" if first and last else (last or first)


def _entry(el: etree._Element) -> Entity:
    uid = _text(el, "uid")
    name = full_name(_text(el, "firstName"), _text(el, "lastName"))
    if not uid.isdigit() or not name:
        raise ParseError(f"sdnEntry without uid or name (uid {uid!r})")
    entity_type = _TYPES.get(_text(el, "sdnType").lower(), EntityType.ORGANIZATION)
    remarks = _text(el, "remarks")
    facts = parse_remarks(remarks)
    aliases: list[Name] = []
    for aka in _items(el, "akaList"):
        alias = full_name(_text(aka, "firstName"), _text(aka, "lastName"))
        if alias:
            category = _text(aka, "category").lower()
            aliases.append(
                Name(
                    alias,
                    _ALIAS_KINDS.get(_text(aka, "type").lower(), "aka"),
                    "weak" if category == "weak" else "strong",
                )
            )
    known = {a.full for a in aliases}
    aliases += [a for a in facts.weak_aliases if a.full not in known]
    addresses = []
    for item in _items(el, "addressList"):
        street = ", ".join(v for v in (_text(item, f"address{i}") for i in (1, 2, 3)) if v)
        city, region = _text(item, "city"), _text(item, "stateOrProvince")
        postal, country = _text(item, "postalCode"), _text(item, "country")
        full = ", ".join(v for v in (street, city, region, postal, country) if v)
        if full:
            addresses.append(Address(street, city, region, postal, to_alpha2(country), full))
    identifiers = list(facts.identifiers)
    properties = dict(facts.properties)
    for item in _items(el, "idList"):
        label, number = _text(item, "idType"), _text(item, "idNumber")
        found = classify_label(label, number)
        if isinstance(found, Identifier):
            country = to_alpha2(_text(item, "idCountry"))
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
            *(to_alpha2(_text(i, "country")) for i in _items(el, "nationalityList")),
            *(to_alpha2(_text(i, "country")) for i in _items(el, "citizenshipList")),
            *facts.nationalities,
        ]
    )
    birth_dates = unique(
        [d for i in _items(el, "dateOfBirthList") for d in dob_values(_text(i, "dateOfBirth"))]
        + facts.birth_dates
    )
    birth_places = unique(
        [_text(i, "placeOfBirth") for i in _items(el, "placeOfBirthList")] + facts.birth_places
    )
    vessel = _children(el).get("vesselInfo")
    flag = ""
    if vessel is not None:
        flag = to_alpha2(_text(vessel, "vesselFlag"))
        call_sign = _text(vessel, "callSign")
        if call_sign:
            identifiers.append(Identifier("call_sign", call_sign, flag))
        for key, tag in (
            ("vessel_type", "vesselType"),
            ("vessel_flag", "vesselFlag"),
            ("vessel_owner", "vesselOwner"),
            ("tonnage", "tonnage"),
            ("gross_registered_tonnage", "grossRegisteredTonnage"),
        ):
            value = _text(vessel, tag)
            if value:
                properties[key] = value
    title = _text(el, "title")
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


def parse_sdn_xml(path: Path, source: str) -> list[Entity]:
    entities: list[Entity] = []
    record_count: int | None = None
    try:
        for _, el in etree.iterparse(
            str(path), events=("end",), resolve_entities=False, no_network=True, huge_tree=True
        ):
            tag = _local(el.tag)
            if tag == "sdnEntry":
                entity = _entry(el)
                entity.id = f"{source}:{entity.source_ref}"
                entity.source = source
                entities.append(entity)
                el.clear()
                while el.getprevious() is not None:
                    del el.getparent()[0]
            elif tag == "Record_Count":
                record_count = int(clean(el.text) or "0")
            elif tag == "sdnList" and record_count is None:
                raise ParseError(f"{path.name}: no publshInformation/Record_Count")
    except etree.XMLSyntaxError as exc:
        raise ParseError(f"{path.name}: malformed or truncated XML: {exc}") from exc
    if not entities:
        raise ParseError(f"{path.name}: no sdnEntry (not an sdn.xml publication)")
    if record_count is not None and record_count != len(entities):
        raise ParseError(
            f"{path.name}: {len(entities)} entries, the file says {record_count} (truncated?)"
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
    parse=lambda fs: parse_sdn_xml(fs.main, "ofac-sdn"),
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
    parse=lambda fs: parse_sdn_xml(fs.main, "ofac-cons"),
    publication_date=_publication_date,
    min_entities=100,
    download_name="consolidated.xml",
    preference=20,
)

__all__ = ["OFAC_CONS_XML", "OFAC_SDN_XML", "FileSet", "full_name", "parse_sdn_xml"]
