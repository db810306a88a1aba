"""OFAC lists in the ADVANCED XML schema (sdn_advanced.xsd): SDN_ADVANCED.XML (source
ofac-sdn) and CONS_ADVANCED.XML (source ofac-cons).

The schema is relational: reference value sets give the meaning of every numeric id, then
come Locations, IDRegDocuments (identity documents, keyed by IdentityID), DistinctParties
(names, aliases with LowQuality, features such as birth dates, places, citizenship,
addresses) and SanctionsEntries (per list: EntryEvent dates and the programs). The
EntryEvent dates are official designation dates: the earliest across the party's entries,
leaving out the "Consolidated List" umbrella entries OFAC stamped when it created that list
(used only when a party has no other entry).

The file is read once with iterparse; each top-level record is reduced to what we keep and
freed, so a full SDN_ADVANCED.XML (over 100 MB) stays within modest memory.
"""

from __future__ import annotations

import calendar
import re
from dataclasses import dataclass, field
from pathlib import Path

from lxml import etree

from screening.model.countries import to_alpha2
from screening.model.entities import Address, DateBasis, Entity, EntityType, Identifier, Name
from screening.sources.base import ListFormat
from screening.sources.common import ParseError, clean, display_name, unique
from screening.sources.limits import ParseContext
from screening.sources.ofac_remarks import classify_label
from screening.sources.xml import child, child_text, children, iter_elements, local, release

_EXPORTS = "https://sanctionslistservice.ofac.treas.gov/api/PublicationPreview/exports"
_UMBRELLA_LIST = "consolidated list"
# Literal constants: msgspec omits a default only when it is the same object, and entity
# fingerprints must not depend on how a string was built.
_ALIAS_KINDS = {"aka": "aka", "fka": "fka", "nka": "nka"}


@dataclass
class _Refs:
    """Reference value sets: id -> text, per set (AliasType, FeatureType, List...)."""

    values: dict[str, dict[str, str]] = field(default_factory=dict)
    country_iso: dict[str, str] = field(default_factory=dict)
    subtype_parent: dict[str, str] = field(default_factory=dict)  # PartySubType -> PartyType

    def get(self, kind: str, ident: str | None) -> str:
        return self.values.get(kind, {}).get(ident or "", "")


@dataclass
class _Party:
    ref: str
    party_type: str
    subtype: str
    identity_ids: list[str]
    names: list[tuple[Name, bool]]  # (name, primary)
    features: list[tuple[str, str, str, str]]  # (feature type, text, location id, date)


@dataclass
class _Entry:
    list_name: str
    dates: list[str]
    programs: list[str]


def _read_refs(el: etree._Element) -> _Refs:
    refs = _Refs()
    for value_set in el:
        for item in value_set:
            kind = local(item.tag)
            ident = item.get("ID")
            if ident is None:
                continue
            refs.values.setdefault(kind, {})[ident] = clean(item.text)
            if kind == "Country" and item.get("ISO2"):
                refs.country_iso[ident] = item.get("ISO2", "")
            if kind == "AreaCode" and clean(item.text):
                refs.country_iso.setdefault(ident, clean(item.text))
            if kind == "PartySubType":
                refs.subtype_parent[ident] = item.get("PartyTypeID", "")
    return refs


def _date(el: etree._Element | None) -> str:
    if el is None:
        return ""
    year, month, day = child_text(el, "Year"), child_text(el, "Month"), child_text(el, "Day")
    if not year.isdigit():
        return ""
    if month.isdigit() and day.isdigit():
        return f"{int(year):04d}-{int(month):02d}-{int(day):02d}"
    if month.isdigit():
        return f"{int(year):04d}-{int(month):02d}"
    return f"{int(year):04d}"


def _period(el: etree._Element) -> list[str]:
    """A DatePeriod as ISO values: an exact date, a month, a year, or a span of years."""
    start, end = child(el, "Start"), child(el, "End")
    first = _date(child(start, "From")) if start is not None else ""
    last = _date(child(end, "To")) if end is not None else first
    if not first:
        return []
    last = last or first
    if first == last:
        return [first]
    y1, y2 = int(first[:4]), int(last[:4])
    whole_year = first[5:] in ("", "01-01") and last[5:] in ("", "12-31")
    if whole_year and 0 <= y2 - y1 <= 20:
        return [str(y) for y in range(y1, y2 + 1)]
    if first[:7] == last[:7] and len(first) == len(last) == 10:
        month_days = calendar.monthrange(y1, int(first[5:7]))[1]
        if first[8:] == "01" and int(last[8:]) == month_days:
            return [first[:7]]
    return [first]


def _documented_name(el: etree._Element, part_types: dict[str, str], person: bool) -> str:
    parts: dict[str, list[str]] = {}
    order: list[str] = []
    for part in children(el, "DocumentedNamePart"):
        value = child(part, "NamePartValue")
        if value is None or not clean(value.text):
            continue
        kind = part_types.get(value.get("NamePartGroupID", ""), "")
        parts.setdefault(kind, []).append(clean(value.text))
        order.append(clean(value.text))
    if person and "Last Name" in parts:
        last = " ".join(parts.pop("Last Name"))
        rest = " ".join(v for k in list(parts) for v in parts[k])
        return f"{last}, {rest}" if rest else last
    return " ".join(order)


def _read_party(el: etree._Element, refs: _Refs) -> _Party:
    profile = child(el, "Profile")
    if profile is None:
        raise ParseError(f"DistinctParty {el.get('FixedRef')} has no Profile")
    subtype_id = profile.get("PartySubTypeID", "")
    subtype = refs.get("PartySubType", subtype_id)
    party_type = refs.get("PartyType", refs.subtype_parent.get(subtype_id))
    person = party_type == "Individual"
    names: list[tuple[Name, bool]] = []
    identity_ids = []
    for identity in children(profile, "Identity"):
        identity_ids.append(identity.get("ID", ""))
        part_types: dict[str, str] = {}
        groups = child(identity, "NamePartGroups")
        for master in children(groups, "MasterNamePartGroup") if groups is not None else []:
            for group in children(master, "NamePartGroup"):
                part_types[group.get("ID", "")] = refs.get(
                    "NamePartType", group.get("NamePartTypeID")
                )
        for alias in children(identity, "Alias"):
            alias_type = refs.get("AliasType", alias.get("AliasTypeID")).lower().replace(".", "")
            kind = _ALIAS_KINDS.get(alias_type, "aka")
            quality = "weak" if alias.get("LowQuality") == "true" else "strong"
            primary = alias.get("Primary") == "true" and identity.get("Primary") == "true"
            for documented in children(alias, "DocumentedName"):
                text = _documented_name(documented, part_types, person)
                if text:
                    names.append((Name(text, "primary" if primary else kind, quality), primary))
    features = []
    for feature in children(profile, "Feature"):
        feature_type = refs.get("FeatureType", feature.get("FeatureTypeID"))
        for version in children(feature, "FeatureVersion"):
            text, location, date = "", "", ""
            detail = child(version, "VersionDetail")
            if detail is not None:
                text = clean(detail.text) or refs.get(
                    "DetailReference", detail.get("DetailReferenceID")
                )
            loc = child(version, "VersionLocation")
            if loc is not None:
                location = loc.get("LocationID", "")
            period = child(version, "DatePeriod")
            dates = _period(period) if period is not None else []
            for date in dates or [""]:
                features.append((feature_type, text, location, date))
    return _Party(
        ref=el.get("FixedRef", ""),
        party_type=party_type,
        subtype=subtype,
        identity_ids=identity_ids,
        names=names,
        features=features,
    )


def _read_location(el: etree._Element, refs: _Refs) -> Address:
    country_id = ""
    for tag, attr in (("LocationCountry", "CountryID"), ("LocationAreaCode", "AreaCodeID")):
        node = child(el, tag)
        if node is not None and not country_id:
            country_id = node.get(attr, "")
    country_name = refs.get("Country", country_id)
    country = refs.country_iso.get(country_id, "") or to_alpha2(country_name)
    parts: dict[str, list[str]] = {}
    for part in children(el, "LocationPart"):
        kind = refs.get("LocPartType", part.get("LocPartTypeID"))
        for value in children(part, "LocationPartValue"):
            text = child_text(value, "Value")
            if text:
                parts.setdefault(kind, []).append(text)
    street = ", ".join(v for k in ("ADDRESS1", "ADDRESS2", "ADDRESS3") for v in parts.get(k, []))
    city = ", ".join(parts.get("CITY", []))
    region = ", ".join(parts.get("STATE/PROVINCE", []) + parts.get("REGION", []))
    postal = ", ".join(parts.get("POSTAL CODE", []))
    if country_name.lower() == "undetermined":
        country_name = ""
    full = ", ".join(v for v in (street, city, region, postal, country_name) if v)
    return Address(street, city, region, postal, country, full)


def _read_document(el: etree._Element, refs: _Refs) -> tuple[str, Identifier | None]:
    label = refs.get("IDRegDocType", el.get("IDRegDocTypeID"))
    number = child_text(el, "IDRegistrationNo")
    country = refs.country_iso.get(el.get("IssuedBy-CountryID", ""), "")
    found = classify_label(label, number) if number else None
    if isinstance(found, Identifier):
        ident = Identifier(found.type, found.value, found.country or country, found.note)
    elif number:
        scheme = re.sub(r"[^a-z0-9]+", "_", label.lower()).strip("_") or "document"
        ident = Identifier(scheme, number, country)
    else:
        ident = None
    return el.get("IdentityID", ""), ident


def _read_entry(el: etree._Element, refs: _Refs) -> tuple[str, _Entry]:
    dates = [_date(child(event, "Date")) for event in children(el, "EntryEvent")]
    programs = []
    for measure in children(el, "SanctionsMeasure"):
        if refs.get("SanctionsType", measure.get("SanctionsTypeID")) == "Program":
            programs.append(child_text(measure, "Comment"))
    return el.get("ProfileID", ""), _Entry(
        list_name=refs.get("List", el.get("ListID")),
        dates=[d for d in dates if d],
        programs=[p for p in programs if p],
    )


_ENTITY_TYPES = {
    "Individual": EntityType.PERSON,
    "Entity": EntityType.ORGANIZATION,
    "Other Entity": EntityType.ORGANIZATION,
}


def _entity(
    party: _Party,
    source: str,
    locations: dict[str, Address],
    documents: dict[str, list[Identifier]],
    entries: list[_Entry],
) -> Entity:
    if party.subtype == "Vessel":
        entity_type = EntityType.VESSEL
    elif party.subtype == "Aircraft":
        entity_type = EntityType.AIRCRAFT
    else:
        entity_type = _ENTITY_TYPES.get(party.party_type, EntityType.UNKNOWN)
    primary = next((n for n, is_primary in party.names if is_primary), None)
    if primary is None and party.names:
        primary = party.names[0][0]
    if primary is None:
        raise ParseError(f"party {party.ref} has no name")
    aliases = [n for n, _ in party.names if n.full != primary.full]
    identifiers = [i for ident in party.identity_ids for i in documents.get(ident, [])]
    addresses: list[Address] = []
    birth_dates: list[str] = []
    birth_places: list[str] = []
    nationalities: list[str] = []
    properties: dict[str, str] = {}
    flag = ""
    for feature_type, text, location_id, date in party.features:
        address = locations.get(location_id) if location_id else None
        lowered = feature_type.lower()
        if lowered == "birthdate" and date:
            birth_dates.append(date)
        elif lowered == "place of birth":
            place = text or (address.full if address else "")
            if place:
                birth_places.append(place)
        elif lowered in ("citizenship country", "nationality country") and address:
            nationalities.append(address.country)
        elif lowered == "location" and address and address.full:
            addresses.append(address)
        elif lowered == "vessel flag":
            flag = address.country if address else to_alpha2(text)
            properties["vessel_flag"] = text or (address.full if address else "")
        elif lowered == "vessel call sign" and text:
            identifiers.append(Identifier("call_sign", text))
        else:
            value = text or date or (address.full if address else "")
            if not value:
                continue
            found = classify_label(feature_type, value)
            if isinstance(found, Identifier):
                identifiers.append(found)
            elif found is not None:
                properties[found[0]] = found[1]
            else:
                key = re.sub(r"[^a-z0-9]+", "_", lowered).strip("_")
                properties[key] = "; ".join(unique([*properties.get(key, "").split("; "), value]))
    if flag:
        identifiers = [
            Identifier(i.type, i.value, i.country or flag, i.note) if i.type == "call_sign" else i
            for i in identifiers
        ]
    listed = [d for e in entries if e.list_name.lower() != _UMBRELLA_LIST for d in e.dates]
    designation = min(listed or [d for e in entries for d in e.dates] or [""])
    lists = unique(e.list_name for e in entries if e.list_name)
    if lists:
        properties["lists"] = "; ".join(lists)
    nationalities = unique(nationalities)
    return Entity(
        id=f"{source}:{party.ref}",
        source=source,
        source_ref=party.ref,
        entity_type=entity_type,
        name=primary.full,
        aliases=aliases,
        programs=sorted(unique(p for e in entries for p in e.programs)),
        countries=unique(
            [
                *nationalities,
                flag,
                *(a.country for a in addresses),
                *(i.country for i in identifiers if i.type in ("passport", "national_id")),
            ]
        ),
        nationalities=nationalities,
        birth_dates=unique(birth_dates),
        birth_places=unique(birth_places),
        addresses=addresses,
        identifiers=unique_identifiers(identifiers),
        properties=properties,
        designation_date=designation,
        designation_date_basis=DateBasis.OFFICIAL if designation else DateBasis.NONE,
    )


def unique_identifiers(identifiers: list[Identifier]) -> list[Identifier]:
    seen: set[tuple[str, str]] = set()
    out = []
    for ident in identifiers:
        key = (ident.type, ident.value)
        if key not in seen:
            seen.add(key)
            out.append(ident)
    return out


def parse_advanced(path: Path, source: str, ctx: ParseContext | None = None) -> list[Entity]:
    refs = _Refs()
    locations: dict[str, Address] = {}
    documents: dict[str, list[Identifier]] = {}
    parties: list[_Party] = []
    entries: dict[str, list[_Entry]] = {}
    root_seen = False
    name = display_name(path)
    for _, el in iter_elements(path):
        tag = local(el.tag)
        parent = el.getparent()
        parent_tag = local(parent.tag) if parent is not None else ""
        if tag == "ReferenceValueSets":
            refs = _read_refs(el)
        elif tag == "Location" and parent_tag == "Locations":
            locations[el.get("ID", "")] = _read_location(el, refs)
        elif tag == "IDRegDocument" and parent_tag == "IDRegDocuments":
            identity, ident = _read_document(el, refs)
            if ident is not None:
                documents.setdefault(identity, []).append(ident)
        elif tag == "DistinctParty":
            parties.append(_read_party(el, refs))
        elif tag == "SanctionsEntry":
            profile, entry = _read_entry(el, refs)
            entries.setdefault(profile, []).append(entry)
        elif tag == "Sanctions":
            root_seen = True
            continue
        else:
            continue
        release(el)
    if not root_seen or not parties:
        raise ParseError(f"{name}: no DistinctParty (not an advanced XML publication)")
    known = {p.ref for p in parties}
    orphans = [ref for ref in entries if ref not in known]
    if orphans:
        raise ParseError(f"{name}: sanctions entries for unknown profiles {orphans[:5]}")
    return [
        _entity(party, source, locations, documents, entries.get(party.ref, []))
        for party in parties
    ]


def _publication_date(path: Path, head: bytes) -> str:
    m = re.search(
        rb"<DateOfIssue[^>]*>\s*<Year>(\d{4})</Year>\s*<Month>(\d+)</Month>\s*<Day>(\d+)</Day>",
        head,
    )
    return f"{int(m[1]):04d}-{int(m[2]):02d}-{int(m[3]):02d}" if m else ""


def _is_advanced(path: Path, head: bytes) -> bool:
    return (
        path.suffix.lower() == ".xml"
        and b"<Sanctions" in head
        and b"http://www.un.org/sanctions/1.0" in head
    )


def _is_cons(path: Path) -> bool:
    return "cons" in path.name.lower()


OFAC_SDN_ADVANCED = ListFormat(
    name="ofac-sdn-advanced-xml",
    source="ofac-sdn",
    title="OFAC SDN list (SDN_ADVANCED.XML)",
    url=f"{_EXPORTS}/SDN_ADVANCED.XML",
    dates_are_official=True,
    detect=lambda path, head: _is_advanced(path, head) and not _is_cons(path),
    parse=lambda fs, ctx: parse_advanced(fs.main, "ofac-sdn", ctx),
    publication_date=_publication_date,
    min_entities=1000,
    download_name="sdn_advanced.xml",
    preference=30,
)

OFAC_CONS_ADVANCED = ListFormat(
    name="ofac-cons-advanced-xml",
    source="ofac-cons",
    title="OFAC Consolidated (non-SDN) list (CONS_ADVANCED.XML)",
    url=f"{_EXPORTS}/CONS_ADVANCED.XML",
    dates_are_official=True,
    detect=lambda path, head: _is_advanced(path, head) and _is_cons(path),
    parse=lambda fs, ctx: parse_advanced(fs.main, "ofac-cons", ctx),
    publication_date=_publication_date,
    min_entities=100,
    download_name="cons_advanced.xml",
    preference=30,
)
