"""Request validation: every bad field is named; nothing is done until all are good."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field

from screening.api.convert import ENTITY_TYPE_FROM_PB
from screening.matching.screenable import nothing_to_screen
from screening.matching.types import Query
from screening.model.countries import is_alpha2
from screening.model.entities import EntityType, Identifier
from screening.v1 import screening_pb2 as pb

_IDENTIFIER_TYPE = re.compile(r"^[a-z][a-z0-9_]{0,31}$")
# Unicode category Cc (C0 and C1 controls, DEL) except tab, newline and carriage return; a
# regular expression scans a name ~20 times faster than unicodedata per character.
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")
# ISO dates; one-digit months and days ("1981-3-05") are accepted and padded.
_DATE = re.compile(r"^(\d{4})(?:-(\d{1,2})(?:-(\d{1,2}))?)?$")


@dataclass(frozen=True)
class Limits:
    max_name_length: int = 512
    max_aliases: int = 50
    max_identifiers: int = 50
    # The matcher's work grows with the characters of the names it is given (and, comparing
    # two parties, with their product): bounded per party, per shipment, per comparison.
    max_party_characters: int = 1024
    max_shipment_characters: int = 2048
    max_compare_pairs: int = 400
    max_text_length: int = 1024
    max_ref_length: int = 128
    max_sources: int = 50


@dataclass
class Violations:
    items: list[tuple[str, str]] = field(default_factory=list)

    def add(self, field_path: str, description: str) -> None:
        self.items.append((field_path, description))

    def __bool__(self) -> bool:
        return bool(self.items)


class Oversized:
    """Stands in for a request message larger than the limit (never decoded)."""

    __slots__ = ("limit", "size")

    def __init__(self, size: int, limit: int) -> None:
        self.size, self.limit = size, limit

    def violations(self, field: str = "request") -> Violations:
        return Violations(
            [(field, f"message of {self.size} bytes is larger than the {self.limit} allowed")]
        )


def check_text(
    value: str, path: str, errors: Violations, *, limit: int, required: bool = False
) -> str:
    text = value.strip()
    if required and not text:
        errors.add(path, "must not be empty")
    elif len(value) > limit:
        errors.add(path, f"longer than {limit} characters")
    elif _CONTROL.search(value):
        errors.add(path, "contains control characters")
    return text


def check_date(value: str, path: str, errors: Violations) -> str:
    text = value.strip()
    if not text:
        return ""
    m = _DATE.match(text)
    if not m:
        errors.add(path, "must be an ISO date: YYYY, YYYY-MM or YYYY-MM-DD")
        return ""
    year = int(m[1])
    if not 1800 <= year <= dt.date.today().year:
        errors.add(path, f"year {year} is out of range")
        return ""
    try:
        dt.date(year, int(m[2] or 1), int(m[3] or 1))
    except ValueError:
        errors.add(path, f"{text} is not a calendar date")
        return ""
    return "-".join([m[1], *(f"{int(part):02d}" for part in (m[2], m[3]) if part)])


def check_country(value: str, path: str, errors: Violations) -> str:
    code = value.strip().upper()
    if code and not is_alpha2(code):
        errors.add(path, f"{value!r} is not an ISO 3166 alpha-2 country code")
        return ""
    return code


def party_to_query(party: pb.Party, path: str, errors: Violations, limits: Limits) -> Query:
    """A party as the matcher takes it. A name or an identifier must be present: a party
    known by its identifiers alone (a vessel by its IMO, a company by its tax id) is screened
    on them. A name with nothing to screen ("X", "N/A", "-") is refused, unless identifiers
    are given: then it is left out and the identifiers are screened."""
    name = check_text(party.name, f"{path}.name", errors, limit=limits.max_name_length)
    if party.entity_type not in ENTITY_TYPE_FROM_PB:
        errors.add(f"{path}.entity_type", f"unknown entity type {party.entity_type}")
    if len(party.aliases) > limits.max_aliases:
        errors.add(f"{path}.aliases", f"more than {limits.max_aliases} aliases")
    aliases = [
        check_text(a, f"{path}.aliases[{i}]", errors, limit=limits.max_name_length, required=True)
        for i, a in enumerate(party.aliases[: limits.max_aliases])
    ]
    for i, alias in enumerate(aliases):
        reason = nothing_to_screen(alias) if alias else ""
        if reason:
            errors.add(f"{path}.aliases[{i}]", f"{alias!r} {reason}: nothing to screen")
    total = len(name) + sum(len(a) for a in aliases)
    if total > limits.max_party_characters:
        errors.add(
            f"{path}.aliases" if aliases else f"{path}.name",
            f"name and aliases hold {total} characters in all, more than the "
            f"{limits.max_party_characters} allowed",
        )
    birth_date = check_date(party.birth_date, f"{path}.birth_date", errors)
    country = check_country(party.country, f"{path}.country", errors)
    if party.HasField("address"):
        address = party.address
        for part in ("street", "city", "region", "postal_code", "full"):
            check_text(
                getattr(address, part),
                f"{path}.address.{part}",
                errors,
                limit=limits.max_text_length,
            )
        check_country(address.country, f"{path}.address.country", errors)
    if len(party.identifiers) > limits.max_identifiers:
        errors.add(f"{path}.identifiers", f"more than {limits.max_identifiers} identifiers")
    identifiers = []
    for i, ident in enumerate(party.identifiers[: limits.max_identifiers]):
        scheme = ident.type.strip().lower()
        if not _IDENTIFIER_TYPE.match(scheme):
            errors.add(
                f"{path}.identifiers[{i}].type",
                "must be a lower-case scheme such as imo, tax_id, passport",
            )
        value = check_text(
            ident.value,
            f"{path}.identifiers[{i}].value",
            errors,
            limit=limits.max_ref_length,
            required=True,
        )
        issuer = check_country(ident.country, f"{path}.identifiers[{i}].country", errors)
        identifiers.append(Identifier(scheme, value, issuer))
    check_text(party.party_ref, f"{path}.party_ref", errors, limit=limits.max_ref_length)
    reason = nothing_to_screen(name) if name else ""
    if not name and not party.identifiers:
        errors.add(
            f"{path}.name",
            "name or identifier must be present (a name, or identifiers such as imo, "
            "tax_id, registration, passport, lei)",
        )
    elif reason and not party.identifiers:
        errors.add(
            f"{path}.name",
            f"{name!r} {reason}: nothing to screen; give the party's name, or its identifiers",
        )
    elif reason:
        name = ""  # screened on its identifiers alone
    return Query(
        names=[n for n in (name, *aliases) if n],
        entity_type=ENTITY_TYPE_FROM_PB.get(party.entity_type, EntityType.UNKNOWN),
        birth_date=birth_date,
        country=country,
        identifiers=identifiers,
    )


def check_min_score(
    request: pb.ScreenPartyRequest | pb.ScreenShipmentRequest, default: float, errors: Violations
) -> float:
    if not request.HasField("min_score"):
        return default
    value = request.min_score
    if not 0.0 <= value <= 1.0 or value != value:
        errors.add("min_score", "must be between 0 and 1")
        return default
    return value


def check_sources(
    sources: list[str], known: set[str], errors: Violations, limits: Limits
) -> list[str]:
    if len(sources) > limits.max_sources:
        errors.add("sources", f"more than {limits.max_sources} sources")
        return []
    out = []
    for i, source in enumerate(sources):
        name = source.strip().lower()
        if name not in known:
            errors.add(
                f"sources[{i}]", f"unknown source {source!r}; loaded: {', '.join(sorted(known))}"
            )
        out.append(name)
    return out
