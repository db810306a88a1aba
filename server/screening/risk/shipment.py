"""A shipment as the risk rules see it: parties and vessels with their list matches, goods
lines and the route. Built by the API layer from a validated request."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from screening.model.countries import to_alpha2
from screening.model.entities import Identifier

if TYPE_CHECKING:
    # (Annotations only: the policy check at start-up imports this module for Role, and
    # the matcher's types import its name tables.)
    from screening.matching.types import MatchResult


class Role(enum.StrEnum):
    UNSPECIFIED = "unspecified"
    SHIPPER = "shipper"
    SUPPLIER = "supplier"
    CONSIGNEE = "consignee"
    INTERMEDIATE_CONSIGNEE = "intermediate_consignee"
    END_USER = "end_user"
    NOTIFY_PARTY = "notify_party"
    FREIGHT_FORWARDER = "freight_forwarder"
    CARRIER = "carrier"
    BANK = "bank"


# The parties that receive the goods: where a shipment is "bound for".
RECEIVING_ROLES = frozenset({Role.CONSIGNEE, Role.INTERMEDIATE_CONSIGNEE, Role.END_USER})
# The final receivers: a freight forwarder should not be one of them.
FINAL_ROLES = frozenset({Role.CONSIGNEE, Role.END_USER})


@dataclass(slots=True)
class ScreenedParty:
    """A party or vessel of the shipment, with what the lists say about it."""

    index: int
    name: str
    role: Role = Role.UNSPECIFIED
    # ISO alpha-2 (nationality / incorporation / flag, else the address country); '' unknown.
    country: str = ""
    # Address parts as given (street, city, region, postal code, free text).
    address: list[str] = field(default_factory=list)
    identifiers: list[Identifier] = field(default_factory=list)
    matches: list[MatchResult] = field(default_factory=list)
    is_vessel: bool = False

    @property
    def label(self) -> str:
        kind = "vessels" if self.is_vessel else "parties"
        return f"{kind}[{self.index}]"


@dataclass(slots=True)
class GoodsLine:
    index: int
    hs_code: str  # digits only: 2 (chapter), 4 (heading), 6 to 10
    description: str = ""
    origin_country: str = ""


@dataclass(slots=True)
class Route:
    origin: str = ""
    destination: str = ""
    transit: list[str] = field(default_factory=list)
    ports: list[str] = field(default_factory=list)


@dataclass(slots=True)
class Shipment:
    parties: list[ScreenedParty]
    vessels: list[ScreenedParty]
    goods: list[GoodsLine]
    route: Route


def party_country(country: str, address_country: str, address_text: str) -> str:
    """A party's country: as given, else its address country, else a country name closing
    its free-text address ("..., Tehran, Iran")."""
    if country:
        return country
    if address_country:
        return address_country
    if "," in address_text:
        return to_alpha2(address_text.rsplit(",", 1)[1])
    return ""
