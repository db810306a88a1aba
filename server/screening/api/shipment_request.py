"""A ScreenShipment request parsed and checked as a whole: every bad field named, and the
valid request as casework screens it (casework/screen.py)."""

from __future__ import annotations

import math
import re

import pycountry

from screening.api import convert
from screening.api.validation import (
    Limits,
    Violations,
    check_country,
    check_min_score,
    check_text,
    party_to_query,
)
from screening.casework.screen import ShipmentRequest
from screening.matching.types import Query
from screening.model.entities import EntityType, Identifier
from screening.model.errors import Invalid
from screening.model.identifiers import imo_number
from screening.risk.policy import Policy
from screening.risk.shipment import GoodsLine, Role, Route, ScreenedParty, Shipment, party_country
from screening.v1 import screening_pb2 as pb

_HS_SEPARATORS = re.compile(r"[.\s]")
# A chapter (2 digits), heading (4), subheading (6) or national code (8 to 10).
_HS_CODE = re.compile(r"^(?:\d{2}|\d{4}|\d{6,10})$")
_CURRENCY = re.compile(r"^[A-Z]{3}$")
MAX_PORT_LENGTH = 128
MAX_UNIT_LENGTH = 32


def _check_imo_numbers(party: pb.Party, path: str, query: Query, errors: Violations) -> None:
    """IMO numbers must be real ones; the query carries them as the lists do (7 digits)."""
    for i, ident in enumerate(query.identifiers):
        if ident.type != "imo":
            continue
        number = imo_number(ident.value)
        if not number:
            errors.add(
                f"{path}.identifiers[{i}].value",
                "not an IMO number: 7 digits with a valid check digit, e.g. IMO 9187667",
            )
        else:
            query.identifiers[i] = Identifier("imo", number, ident.country)


def _address_parts(party: pb.Party) -> list[str]:
    if not party.HasField("address"):
        return []
    a = party.address
    return [t for t in (a.street, a.city, a.region, a.postal_code, a.full) if t.strip()]


def parse_shipment(
    request: pb.ScreenShipmentRequest, policy: Policy, limits: Limits, alert_threshold: float
) -> ShipmentRequest:
    """The request as casework screens it; raises Invalid naming every bad field."""
    errors = Violations()
    shipment, queries = _validate(request, policy, limits, errors)
    min_score = check_min_score(request, alert_threshold, errors)
    if errors:
        raise Invalid(errors.items)
    counterparties = [convert.counterparty(p) for p in request.parties] + [
        convert.counterparty(v, vessel=True) for v in request.vessels
    ]
    return ShipmentRequest(shipment, queries, counterparties, policy, min_score)


def _validate(
    request: pb.ScreenShipmentRequest, policy: Policy, limits: Limits, errors: Violations
) -> tuple[Shipment, list[Query]]:
    caps = policy.spec.limits
    check_text(request.shipment_ref, "shipment_ref", errors, limit=limits.max_ref_length)
    check_text(request.client_ref, "client_ref", errors, limit=limits.max_ref_length)
    if not request.parties and not request.vessels:
        errors.add("parties", "a shipment needs at least one party or vessel")
    if len(request.parties) > caps.max_parties:
        errors.add("parties", f"more than {caps.max_parties} parties")
    if len(request.vessels) > caps.max_vessels:
        errors.add("vessels", f"more than {caps.max_vessels} vessels")
    if len(request.goods) > caps.max_goods:
        errors.add("goods", f"more than {caps.max_goods} goods lines")
    queries: list[Query] = []
    parties = []
    for i, party in enumerate(request.parties[: caps.max_parties]):
        path = f"parties[{i}]"
        query = party_to_query(party, path, errors, limits)
        _check_imo_numbers(party, path, query, errors)
        role = convert.ROLE_FROM_PB.get(party.role)
        if role is None:
            errors.add(f"{path}.role", f"unknown role {party.role}")
        queries.append(query)
        parties.append(_screened(i, party, query, role or Role.UNSPECIFIED))
    vessels = []
    for i, vessel in enumerate(request.vessels[: caps.max_vessels]):
        path = f"vessels[{i}]"
        query = party_to_query(vessel, path, errors, limits)
        _check_imo_numbers(vessel, path, query, errors)
        if vessel.entity_type not in (pb.ENTITY_TYPE_UNSPECIFIED, pb.ENTITY_TYPE_VESSEL):
            errors.add(f"{path}.entity_type", "a vessel is ENTITY_TYPE_VESSEL")
        query.entity_type = EntityType.VESSEL
        queries.append(query)
        screened = _screened(i, vessel, query, Role.CARRIER)
        screened.is_vessel = True
        vessels.append(screened)
    total = sum(len(n) for q in queries for n in q.names)
    if total > limits.max_shipment_characters:
        errors.add(
            "parties",
            f"the names and aliases of the parties and vessels hold {total} characters in all, "
            f"more than the {limits.max_shipment_characters} allowed: split the shipment",
        )
    goods = [
        _goods_line(i, item, limits, errors)
        for i, item in enumerate(request.goods[: caps.max_goods])
    ]
    route = _route(request, policy, errors)
    return Shipment(parties, vessels, goods, route), queries


def _screened(index: int, party: pb.Party, query: Query, role: Role) -> ScreenedParty:
    address = _address_parts(party)
    address_country = party.address.country.strip().upper() if party.HasField("address") else ""
    return ScreenedParty(
        index=index,
        name=query.names[0] if query.names else "",
        role=role,
        country=party_country(
            query.country, address_country, party.address.full if address else ""
        ),
        address=address,
        identifiers=list(query.identifiers),
    )


def _goods_line(index: int, item: pb.GoodsItem, limits: Limits, errors: Violations) -> GoodsLine:
    path = f"goods[{index}]"
    hs_code = _HS_SEPARATORS.sub("", item.hs_code)
    if not _HS_CODE.match(hs_code):
        errors.add(
            f"{path}.hs_code",
            "must be an HS code of 2, 4 or 6 to 10 digits: a chapter (85), heading (8542), "
            "subheading (854231) or national code (8542.31.00)",
        )
    description = check_text(
        item.description, f"{path}.description", errors, limit=limits.max_text_length
    )
    for name in ("value", "quantity"):
        number = getattr(item, name)
        if not math.isfinite(number) or number < 0:
            errors.add(f"{path}.{name}", "must be a finite number, zero or more")
    currency = item.currency.strip().upper()
    if currency and (
        not _CURRENCY.match(currency) or pycountry.currencies.get(alpha_3=currency) is None
    ):
        errors.add(f"{path}.currency", f"{item.currency!r} is not an ISO 4217 currency code")
    check_text(item.unit, f"{path}.unit", errors, limit=MAX_UNIT_LENGTH)
    origin = check_country(item.origin_country, f"{path}.origin_country", errors)
    return GoodsLine(index, hs_code, description, origin)


def _route(request: pb.ScreenShipmentRequest, policy: Policy, errors: Violations) -> Route:
    caps = policy.spec.limits
    route = request.route
    origin = check_country(route.origin_country, "route.origin_country", errors)
    destination = check_country(route.destination_country, "route.destination_country", errors)
    if not route.destination_country.strip():
        errors.add("route.destination_country", "is required")
    if len(route.transit_countries) > caps.max_transit_countries:
        errors.add("route.transit_countries", f"more than {caps.max_transit_countries} countries")
    transit = []
    for i, code in enumerate(route.transit_countries[: caps.max_transit_countries]):
        path = f"route.transit_countries[{i}]"
        if not code.strip():
            errors.add(path, "must not be empty")
        transit.append(check_country(code, path, errors))
    if len(route.ports) > caps.max_ports:
        errors.add("route.ports", f"more than {caps.max_ports} ports")
    ports = [
        check_text(port, f"route.ports[{i}]", errors, limit=MAX_PORT_LENGTH, required=True)
        for i, port in enumerate(route.ports[: caps.max_ports])
    ]
    return Route(origin, destination, transit, ports)
