"""EU Financial Sanctions File (FSF), XML version 1.1, written from the published schema
(no real file is available here; the tests use a small file we wrote to that schema).

Root `export` (namespace http://eu.europa.ec/fpi/fsd/export, attribute generationDate), one
`sanctionEntity` per listing (attributes logicalId, euReferenceNumber, unitedNationId,
designationDate, designationDetails) with children: remark, regulation (publicationDate,
entryIntoForceDate, numberTitle, programme), subjectType (code person / enterprise / ...),
nameAlias (wholeName, firstName, middleName, lastName, function, gender, title, strong="true"
or "false"), citizenship, birthdate (birthdate, year, city, countryIso2Code), identification
(identificationTypeCode, number, countryIso2Code), address (street, city, zipCode, region,
poBox, place, countryIso2Code). The designation date is the entity's designationDate, else
the publication date of the earliest regulation that lists it: both official.
"""

from __future__ import annotations

import re
from pathlib import Path

from lxml import etree

from screening.model.countries import to_alpha2
from screening.model.entities import Address, DateBasis, Entity, EntityType, Identifier, Name
from screening.sources.base import ListFormat
from screening.sources.common import ParseError, clean, display_name, iso_date, unique
from screening.sources.limits import ParseContext
from screening.sources.xml import children, iter_elements, local, release

_TYPES = {
    "person": EntityType.PERSON,
    "enterprise": EntityType.ORGANIZATION,
    "vessel": EntityType.VESSEL,
    "aircraft": EntityType.AIRCRAFT,
}
_ID_TYPES = {
    "passport": "passport",
    "id": "national_id",
    "nationalid": "national_id",
    "fiscalcode": "tax_id",
    "tin": "tax_id",
    "regnumber": "registration",
    "swiftbic": "swift_bic",
    "imo": "imo",
    "other": "other",
}
_STRONG = {"true": "strong", "false": "weak"}


def _attr(el: etree._Element, name: str) -> str:
    return clean(el.get(name))


def _entity(el: etree._Element) -> Entity:
    ref = _attr(el, "logicalId")
    subject = next(iter(children(el, "subjectType")), None)
    code = _attr(subject, "code").lower() if subject is not None else ""
    entity_type = _TYPES.get(code, EntityType.UNKNOWN)
    names: list[Name] = []
    properties: dict[str, str] = {}
    for alias in children(el, "nameAlias"):
        whole = _attr(alias, "wholeName") or " ".join(
            v
            for v in (
                _attr(alias, "firstName"),
                _attr(alias, "middleName"),
                _attr(alias, "lastName"),
            )
            if v
        )
        if whole:
            names.append(Name(whole, "aka", _STRONG.get(_attr(alias, "strong").lower(), "")))
        for key in ("function", "title", "gender"):
            value = _attr(alias, key)
            if value:
                properties[key] = "; ".join(unique([*properties.get(key, "").split("; "), value]))
    if not ref or not names:
        raise ParseError(f"sanctionEntity without logicalId or name (logicalId {ref!r})")
    nationalities = unique(
        _attr(c, "countryIso2Code").upper() or to_alpha2(_attr(c, "countryDescription"))
        for c in children(el, "citizenship")
    )
    birth_dates, birth_places = [], []
    for birth in children(el, "birthdate"):
        date = iso_date(_attr(birth, "birthdate")) or iso_date(_attr(birth, "year"))
        if date:
            birth_dates.append(date)
        place = ", ".join(
            v
            for v in (
                _attr(birth, "city"),
                _attr(birth, "place"),
                _attr(birth, "countryDescription"),
            )
            if v
        )
        if place:
            birth_places.append(place)
    identifiers = []
    for ident in children(el, "identification"):
        number = _attr(ident, "number") or _attr(ident, "latinNumber")
        if not number:
            continue
        type_code = re.sub(r"[^a-z]", "", _attr(ident, "identificationTypeCode").lower())
        scheme = _ID_TYPES.get(type_code) or type_code or "document"
        country = _attr(ident, "countryIso2Code").upper() or to_alpha2(
            _attr(ident, "countryDescription")
        )
        note = _attr(ident, "identificationTypeDescription")
        identifiers.append(Identifier(scheme, number, country if len(country) == 2 else "", note))
    addresses = []
    for addr in children(el, "address"):
        street = ", ".join(v for v in (_attr(addr, "street"), _attr(addr, "poBox")) if v)
        city, region = _attr(addr, "city"), _attr(addr, "region")
        postal, place = _attr(addr, "zipCode"), _attr(addr, "place")
        country = _attr(addr, "countryIso2Code").upper()
        country_name = _attr(addr, "countryDescription")
        full = ", ".join(v for v in (street, city, place, region, postal, country_name) if v)
        if full:
            addresses.append(
                Address(street, city, region, postal, country if len(country) == 2 else "", full)
            )
    regulations = children(el, "regulation")
    programs = unique(_attr(r, "programme") for r in regulations)
    published = sorted(iso_date(_attr(r, "publicationDate")) for r in regulations)
    designated = iso_date(_attr(el, "designationDate")) or next((d for d in published if d), "")
    remarks = "\n".join(clean(r.text) for r in children(el, "remark") if clean(r.text))
    for key, attr in (
        ("eu_reference_number", "euReferenceNumber"),
        ("un_reference", "unitedNationId"),
        ("designation_details", "designationDetails"),
    ):
        if _attr(el, attr):
            properties[key] = _attr(el, attr)
    regulation_titles = unique(_attr(r, "numberTitle") for r in regulations)
    if regulation_titles:
        properties["regulations"] = "; ".join(regulation_titles)
    primary = next((n for n in names if n.quality != "weak"), names[0])
    return Entity(
        id=f"eu:{ref}",
        source="eu",
        source_ref=ref,
        entity_type=entity_type,
        name=primary.full,
        aliases=[n for n in names if n.full != primary.full],
        programs=programs,
        countries=unique(
            [
                *nationalities,
                *(a.country for a in addresses),
                *(i.country for i in identifiers if i.type in ("passport", "national_id")),
            ]
        ),
        nationalities=nationalities,
        birth_dates=unique(birth_dates),
        birth_places=unique(birth_places),
        addresses=addresses,
        identifiers=identifiers,
        remarks=remarks,
        properties=properties,
        designation_date=designated,
        designation_date_basis=DateBasis.OFFICIAL if designated else DateBasis.NONE,
        related=[f"un:{properties['un_reference']}"] if properties.get("un_reference") else [],
    )


def parse_fsf(path: Path, ctx: ParseContext | None = None) -> list[Entity]:
    entities: list[Entity] = []
    root_seen = False
    for _, el in iter_elements(path):
        tag = local(el.tag)
        if tag == "sanctionEntity":
            entities.append(_entity(el))
            release(el)
        elif tag == "export":
            root_seen = True
    if not root_seen or not entities:
        raise ParseError(f"{display_name(path)}: no sanctionEntity (not an FSF export)")
    return entities


def _publication_date(path: Path, head: bytes) -> str:
    m = re.search(rb'generationDate="(\d{4}-\d{2}-\d{2})', head)
    return m[1].decode() if m else ""


def _is_fsf(path: Path, head: bytes) -> bool:
    return path.suffix.lower() == ".xml" and b"<export" in head and b"fsd/export" in head


EU_FSF_XML = ListFormat(
    name="eu-fsf-xml",
    source="eu",
    title="EU Financial Sanctions File (FSF) XML 1.1",
    url=(
        "https://webgate.ec.europa.eu/fsd/fsf/public/files/xmlFullSanctionsList_1_1/"
        "content?token=dG9rZW4tMjAxNw"
    ),
    dates_are_official=True,
    detect=_is_fsf,
    parse=lambda fs, ctx: parse_fsf(fs.main, ctx),
    publication_date=_publication_date,
    min_entities=1000,
    download_name="eu_fsf.xml",
    refresh=True,
)
