"""Canonical list entities: what every parser produces and every later stage reads.

msgspec Structs: compact in memory (one worker holds every list) and fast to encode into
the Redis snapshot.
"""

from __future__ import annotations

import enum

import msgspec


class EntityType(enum.StrEnum):
    UNKNOWN = "unknown"
    PERSON = "person"
    ORGANIZATION = "organization"
    VESSEL = "vessel"
    AIRCRAFT = "aircraft"


def type_group(entity_type: EntityType) -> EntityType:
    """The group a kind belongs to when two kinds are compared: vessels and aircraft are
    both assets (VESSEL stands for the group); every other kind is its own group."""
    return EntityType.VESSEL if entity_type == EntityType.AIRCRAFT else entity_type


class DateBasis(enum.StrEnum):
    """Where a designation date comes from."""

    NONE = ""
    OFFICIAL = "official"  # stated by the list itself
    # First ingested publication that contained the entry, where an earlier held publication
    # of the same list lacked it: the entry was added between the two.
    FIRST_SEEN = "first_seen"
    # The entry is in the earliest publication held: it was listed on that date or before,
    # and nothing held says when.
    NOT_LATER_THAN = "not_later_than"


def describe_designation(date: str, basis: DateBasis, absent_from: str = "") -> str:
    """A designation date in the words every output uses (JSON, CLI, reports, findings)."""
    if not date:
        return ""
    if basis == DateBasis.OFFICIAL:
        return f"designated {date}"
    if basis == DateBasis.FIRST_SEEN:
        absent = f" (not on the list of {absent_from})" if absent_from else ""
        return f"first listed {date}{absent}"
    if basis == DateBasis.NOT_LATER_THAN:
        return f"listed on or before {date}"
    return f"dated {date}"


class Name(msgspec.Struct, frozen=True, omit_defaults=True):
    """One name of an entry. `kind`: primary, aka, fka, nka. `quality`: strong, weak or ''."""

    full: str
    kind: str = "aka"
    quality: str = ""


class Identifier(msgspec.Struct, frozen=True, omit_defaults=True):
    """An identifying number. `type` is a lower-case scheme: imo, tax_id, passport..."""

    type: str
    value: str
    country: str = ""
    note: str = ""


class Address(msgspec.Struct, frozen=True, omit_defaults=True):
    street: str = ""
    city: str = ""
    region: str = ""
    postal_code: str = ""
    country: str = ""  # ISO 3166 alpha-2 when it could be resolved
    full: str = ""


class Entity(msgspec.Struct, omit_defaults=True):
    """A list entry. `id` is `<source>:<source_ref>` and is stable across publications."""

    id: str
    source: str
    source_ref: str
    entity_type: EntityType
    name: str
    aliases: list[Name] = msgspec.field(default_factory=list)
    programs: list[str] = msgspec.field(default_factory=list)
    countries: list[str] = msgspec.field(default_factory=list)  # alpha-2, any relation
    nationalities: list[str] = msgspec.field(default_factory=list)
    birth_dates: list[str] = msgspec.field(default_factory=list)  # ISO, partial allowed
    birth_places: list[str] = msgspec.field(default_factory=list)
    addresses: list[Address] = msgspec.field(default_factory=list)
    identifiers: list[Identifier] = msgspec.field(default_factory=list)
    remarks: str = ""
    properties: dict[str, str] = msgspec.field(default_factory=dict)
    designation_date: str = ""
    designation_date_basis: DateBasis = DateBasis.NONE
    first_seen: str = ""
    # FIRST_SEEN: the latest held publication of the list (before `first_seen`) that lacked it.
    absent_from: str = ""
    # Ids of entries on other lists this entry implements or mirrors, as the list cites them
    # (a UK entry's "UN Ref" -> "un:QDi.001").
    related: list[str] = msgspec.field(default_factory=list)

    def all_names(self) -> list[Name]:
        """The primary name followed by every alias, without repeats."""
        seen = {self.name}
        names = [Name(self.name, "primary")]
        for alias in self.aliases:
            if alias.full and alias.full not in seen:
                seen.add(alias.full)
                names.append(alias)
        return names

    def designation(self) -> str:
        """The designation date and its basis in words ("designated 2024-02-23", ...)."""
        return describe_designation(
            self.designation_date, self.designation_date_basis, self.absent_from
        )

    def fingerprint(self) -> bytes:
        """Content bytes used to tell whether an entry changed between publications.

        Dates the store derives from its history (first seen, listed no later than) are not
        content: both encode as the first-seen basis without a date, the bytes stored
        acceptances were fingerprinted with before the two were told apart.
        """
        return msgspec.msgpack.encode(self.content())

    def content(self) -> Entity:
        """This entry without the dates the store derives from its history (fingerprint)."""
        stable = msgspec.structs.replace(self, first_seen="", absent_from="")
        if self.designation_date_basis in (DateBasis.FIRST_SEEN, DateBasis.NOT_LATER_THAN):
            stable = msgspec.structs.replace(
                stable, designation_date="", designation_date_basis=DateBasis.FIRST_SEEN
            )
        return stable


class Publication(msgspec.Struct, omit_defaults=True):
    """One publication of one source, as parsed from its files."""

    source: str
    publication_date: str  # ISO date (may be partial, e.g. "2021-07")
    files: list[str]
    sha256: str
    entities: list[Entity]
    # Official dates carried by the list itself; else the first-seen date is the designation date.
    dates_are_official: bool = False
    version: str = ""
    url: str = ""
    format: str = ""  # ListFormat.name: two formats of one publication are told apart


ENTITY_ENCODER = msgspec.msgpack.Encoder()
ENTITY_LIST_DECODER = msgspec.msgpack.Decoder(list[Entity])
