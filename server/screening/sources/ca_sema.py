"""Canada: Consolidated Canadian Autonomous Sanctions List (Special Economic Measures Act and
Justice for Victims of Corrupt Foreign Officials Act), XML.

Root `data-set`, one `record` per listing: Country (the regulation, "Russia / Russie"),
LastName + GivenName for people or EntityOrShip for entities and ships, Aliases (free text,
';'-separated), DateOfBirthOrShipBuildDate, TitleOrShip (a person's title or a ship's type),
ShipIMONumber, Schedule, Item, and DateOfListing (official). Records carry no id: the key is
regulation + schedule + item, which the list itself uses to cite an entry.
"""

from __future__ import annotations

import re
from pathlib import Path

from screening.model.countries import to_alpha2
from screening.model.entities import DateBasis, Entity, EntityType, Identifier, Name
from screening.sources.base import ListFormat
from screening.sources.common import ParseError, clean, display_name, iso_date, unique
from screening.sources.limits import ParseContext
from screening.sources.xml import parse_tree

# 'Russian: Руслан ...': the label names the script, it is not part of the name.
_LANGUAGE_LABEL = re.compile(r"^\s*[A-Z][a-z]+(?: [A-Za-z]+)?:\s*")
_SHIP_WORDS = ("tanker", "cargo", "carrier", "vessel", "ro-ro", "container", "fso", "bulk")


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")


def _english(text: str) -> str:
    """'Russia / Russie' -> 'Russia' (the list writes English / French)."""
    return clean(text.split(" / ")[0])


def _aliases(text: str, person: bool) -> list[str]:
    # A language label ('Russian: ...') also starts a new name after a comma.
    parts = re.split(r";|\s+or\s+|/\s+|,\s*(?=[A-Z][a-z]+:)", text)
    out: list[str] = []
    for part in (clean(p) for p in parts):
        pieces = [clean(p) for p in part.split(",")]
        # 'A B, C D' lists two names; 'SHERBAKOV, Sergei' or 'ROSNEFT, PJSC' is one.
        if person and len(pieces) > 1 and all(len(p.split()) >= 2 for p in pieces):
            out.extend(pieces)
        else:
            out.append(part)
    return unique(clean(_LANGUAGE_LABEL.sub("", name)) for name in out)


def _birth_dates(text: str) -> list[str]:
    dates: list[str] = []
    for part in re.split(r"\s+or\s+|;|,", text, flags=re.IGNORECASE):
        part = clean(part)
        span = re.match(r"^(\d{4})-(\d{4})$", part)
        if span and 0 <= int(span[2]) - int(span[1]) <= 20:
            dates.extend(str(y) for y in range(int(span[1]), int(span[2]) + 1))
        elif iso_date(part):
            dates.append(iso_date(part))
        else:
            year = re.search(r"\b(1[89]\d\d|20\d\d)\b", part)
            if year:
                dates.append(year[1])
    return unique(dates)


def parse_sema(path: Path, ctx: ParseContext | None = None) -> list[Entity]:
    root = parse_tree(path)
    if root.tag != "data-set":
        raise ParseError(f"{display_name(path)}: root is {root.tag}, expected data-set")
    entities: list[Entity] = []
    for record in root.iter("record"):

        def text(tag: str, record: object = record) -> str:
            return clean(record.findtext(tag))  # type: ignore[attr-defined]

        regime, schedule, item = text("Country"), text("Schedule"), text("Item")
        last, given, entity_name = text("LastName"), text("GivenName"), text("EntityOrShip")
        if not regime or not item:
            raise ParseError(f"{display_name(path)}: record without Country or Item")
        person = bool(last or given) and not entity_name
        name = " ".join(v for v in (given, last) if v) if person else entity_name
        if not name:
            raise ParseError(f"{display_name(path)}: record {regime} {schedule} {item} has no name")
        title = text("TitleOrShip")
        imo = re.sub(r"\D", "", text("ShipIMONumber"))
        is_ship = bool(imo) or (not person and any(w in title.lower() for w in _SHIP_WORDS))
        if person:
            entity_type = EntityType.PERSON
        else:
            entity_type = EntityType.VESSEL if is_ship else EntityType.ORGANIZATION
        dates = _birth_dates(text("DateOfBirthOrShipBuildDate"))
        properties: dict[str, str] = {"schedule": schedule} if schedule else {}
        if title:
            properties["vessel_type" if is_ship else "title"] = title
        if is_ship and dates:
            properties["vessel_year_of_build"] = "; ".join(dates)
        country = to_alpha2(_english(regime))
        listed = iso_date(text("DateOfListing"))
        ref = f"{_slug(_english(regime))}/{_slug(schedule) or '-'}/{item}"
        entities.append(
            Entity(
                id=f"ca-sema:{ref}",
                source="ca-sema",
                source_ref=ref,
                entity_type=entity_type,
                name=name,
                aliases=[Name(a) for a in _aliases(text("Aliases"), person) if a != name],
                programs=[_english(regime)],
                countries=[country] if country else [],
                birth_dates=dates if person else [],
                identifiers=[Identifier("imo", imo)] if imo else [],
                properties=properties,
                designation_date=listed,
                designation_date_basis=DateBasis.OFFICIAL if listed else DateBasis.NONE,
            )
        )
    return entities


def _is_sema(path: Path, head: bytes) -> bool:
    return path.suffix.lower() == ".xml" and b"<data-set" in head and b"<DateOfListing" in head


CA_SEMA_XML = ListFormat(
    name="ca-sema-xml",
    source="ca-sema",
    title="Canada, Consolidated Canadian Autonomous Sanctions List (SEMA / JVCFOA)",
    url=(
        "https://www.international.gc.ca/world-monde/assets/office_docs/"
        "international_relations-relations_internationales/sanctions/sema-lmes.xml"
    ),
    dates_are_official=True,
    detect=_is_sema,
    parse=lambda fs, ctx: parse_sema(fs.main, ctx),
    min_entities=1000,
    download_name="sema-lmes.xml",
    refresh=True,
)
