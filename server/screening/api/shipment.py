"""ScreenShipment: validate the whole request, screen every party and vessel against the
worker's index, run the policy's rules, and answer with one decision and every finding."""

from __future__ import annotations

import datetime as dt
import math
import re
from typing import TYPE_CHECKING

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
from screening.config import Settings
from screening.index.holder import LoadedIndex
from screening.matching.types import MatchResult, Query
from screening.model.entities import EntityType, Identifier
from screening.risk.assess import Assessment, Outcome, assess
from screening.risk.findings import Finding, Severity
from screening.risk.policy import Policy, PolicyHolder
from screening.risk.shipment import (
    GoodsLine,
    Role,
    Route,
    ScreenedParty,
    Shipment,
    party_country,
)
from screening.v1 import screening_pb2 as pb

if TYPE_CHECKING:
    from screening.api.trust import Trust

ROLES = {
    pb.PARTY_ROLE_UNSPECIFIED: Role.UNSPECIFIED,
    pb.PARTY_ROLE_SHIPPER: Role.SHIPPER,
    pb.PARTY_ROLE_SUPPLIER: Role.SUPPLIER,
    pb.PARTY_ROLE_CONSIGNEE: Role.CONSIGNEE,
    pb.PARTY_ROLE_INTERMEDIATE_CONSIGNEE: Role.INTERMEDIATE_CONSIGNEE,
    pb.PARTY_ROLE_END_USER: Role.END_USER,
    pb.PARTY_ROLE_NOTIFY_PARTY: Role.NOTIFY_PARTY,
    pb.PARTY_ROLE_FREIGHT_FORWARDER: Role.FREIGHT_FORWARDER,
    pb.PARTY_ROLE_CARRIER: Role.CARRIER,
    pb.PARTY_ROLE_BANK: Role.BANK,
}
SEVERITY_PB = {
    Severity.INFO: pb.SEVERITY_INFO,
    Severity.LOW: pb.SEVERITY_LOW,
    Severity.MEDIUM: pb.SEVERITY_MEDIUM,
    Severity.HIGH: pb.SEVERITY_HIGH,
    Severity.CRITICAL: pb.SEVERITY_CRITICAL,
}
_HS_SEPARATORS = re.compile(r"[.\s]")
_HS_CODE = re.compile(r"^\d{6,10}$")
_IMO = re.compile(r"^(?:IMO)?(\d{7})$")
_CURRENCY = re.compile(r"^[A-Z]{3}$")
MAX_PORT_LENGTH = 128
MAX_UNIT_LENGTH = 32


def imo_number(value: str) -> str:
    """The seven digits of an IMO number ("IMO 9187667", "9187667") if its check digit
    holds, else ''."""
    m = _IMO.match(re.sub(r"[\s.-]", "", value.upper()))
    if not m:
        return ""
    digits = m.group(1)
    check = sum(int(d) * w for d, w in zip(digits[:6], range(7, 1, -1), strict=True)) % 10
    return digits if check == int(digits[6]) else ""


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


def _query_key(query: Query) -> tuple[object, ...]:
    return (
        tuple(query.names),
        query.entity_type,
        query.birth_date,
        query.country,
        tuple(query.identifiers),
    )


def _address_parts(party: pb.Party) -> list[str]:
    if not party.HasField("address"):
        return []
    a = party.address
    return [t for t in (a.street, a.city, a.region, a.postal_code, a.full) if t.strip()]


class ShipmentScreener:
    def __init__(self, settings: Settings, limits: Limits, policies: PolicyHolder) -> None:
        self.settings = settings
        self.limits = limits
        self.policies = policies
        # Accepted false positives are left out of the rules (set by the servicer).
        self.trust: Trust | None = None

    def screen(
        self, request: pb.ScreenShipmentRequest, index: LoadedIndex, errors: Violations
    ) -> pb.ScreenShipmentResponse:
        """Screen one shipment; on bad input fills `errors` and returns an empty response."""
        policy = self.policies.current()
        shipment, queries = self._validate(request, policy, errors)
        min_score = check_min_score(request, self.settings.alert_threshold, errors)
        if errors:
            return pb.ScreenShipmentResponse()
        # One party often plays several roles (shipper and supplier, consignee and notify
        # party): each distinct query is screened once.
        screened: dict[tuple[object, ...], list[MatchResult]] = {}
        accepted: dict[tuple[bool, int], list[tuple[MatchResult, str]]] = {}
        for party, query in zip((*shipment.parties, *shipment.vessels), queries, strict=True):
            key = _query_key(query)
            if key not in screened:
                screened[key] = index.matcher.screen(
                    query, min_score=min_score, limit=self.settings.max_results
                )
            party.matches = screened[key]
            if self.trust is not None and party.matches:
                given = (request.vessels if party.is_vessel else request.parties)[party.index]
                party.matches, cleared = self.trust.split_results(
                    given, party.matches, index, vessel=party.is_vessel
                )
                if cleared:
                    accepted[(party.is_vessel, party.index)] = [
                        (r, cleared[r.entity.id]) for r in screened[key] if r.entity.id in cleared
                    ]
        return self._response(request, index, shipment, assess(shipment, policy), accepted)

    # -- validation ----------------------------------------------------------------------

    def _validate(
        self, request: pb.ScreenShipmentRequest, policy: Policy, errors: Violations
    ) -> tuple[Shipment, list[Query]]:
        limits = policy.spec.limits
        check_text(request.shipment_ref, "shipment_ref", errors, limit=self.limits.max_ref_length)
        check_text(request.client_ref, "client_ref", errors, limit=self.limits.max_ref_length)
        if not request.parties and not request.vessels:
            errors.add("parties", "a shipment needs at least one party or vessel")
        if len(request.parties) > limits.max_parties:
            errors.add("parties", f"more than {limits.max_parties} parties")
        if len(request.vessels) > limits.max_vessels:
            errors.add("vessels", f"more than {limits.max_vessels} vessels")
        if len(request.goods) > limits.max_goods:
            errors.add("goods", f"more than {limits.max_goods} goods lines")
        queries: list[Query] = []
        parties = []
        for i, party in enumerate(request.parties[: limits.max_parties]):
            path = f"parties[{i}]"
            query = party_to_query(party, path, errors, self.limits)
            _check_imo_numbers(party, path, query, errors)
            role = ROLES.get(party.role)
            if role is None:
                errors.add(f"{path}.role", f"unknown role {party.role}")
            queries.append(query)
            parties.append(self._screened(i, party, query, role or Role.UNSPECIFIED))
        vessels = []
        for i, vessel in enumerate(request.vessels[: limits.max_vessels]):
            path = f"vessels[{i}]"
            query = party_to_query(vessel, path, errors, self.limits, require_name=False)
            _check_imo_numbers(vessel, path, query, errors)
            if vessel.entity_type not in (pb.ENTITY_TYPE_UNSPECIFIED, pb.ENTITY_TYPE_VESSEL):
                errors.add(f"{path}.entity_type", "a vessel is ENTITY_TYPE_VESSEL")
            if not query.names and not query.identifiers:
                errors.add(f"{path}.name", "a vessel needs a name or an identifier (IMO)")
            query.entity_type = EntityType.VESSEL
            queries.append(query)
            screened = self._screened(i, vessel, query, Role.CARRIER)
            screened.is_vessel = True
            vessels.append(screened)
        goods = [
            self._goods_line(i, item, errors)
            for i, item in enumerate(request.goods[: limits.max_goods])
        ]
        route = self._route(request, policy, errors)
        return Shipment(parties, vessels, goods, route), queries

    @staticmethod
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

    def _goods_line(self, index: int, item: pb.GoodsItem, errors: Violations) -> GoodsLine:
        path = f"goods[{index}]"
        hs_code = _HS_SEPARATORS.sub("", item.hs_code)
        if not _HS_CODE.match(hs_code):
            errors.add(
                f"{path}.hs_code", "must be an HS code of 6 to 10 digits, e.g. 854231 or 8542.31.00"
            )
        description = check_text(
            item.description, f"{path}.description", errors, limit=self.limits.max_text_length
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

    def _route(
        self, request: pb.ScreenShipmentRequest, policy: Policy, errors: Violations
    ) -> Route:
        limits = policy.spec.limits
        route = request.route
        origin = check_country(route.origin_country, "route.origin_country", errors)
        destination = check_country(route.destination_country, "route.destination_country", errors)
        if not route.destination_country.strip():
            errors.add("route.destination_country", "is required")
        if len(route.transit_countries) > limits.max_transit_countries:
            errors.add(
                "route.transit_countries", f"more than {limits.max_transit_countries} countries"
            )
        transit = []
        for i, code in enumerate(route.transit_countries[: limits.max_transit_countries]):
            path = f"route.transit_countries[{i}]"
            if not code.strip():
                errors.add(path, "must not be empty")
            transit.append(check_country(code, path, errors))
        if len(route.ports) > limits.max_ports:
            errors.add("route.ports", f"more than {limits.max_ports} ports")
        ports = [
            check_text(port, f"route.ports[{i}]", errors, limit=MAX_PORT_LENGTH, required=True)
            for i, port in enumerate(route.ports[: limits.max_ports])
        ]
        return Route(origin, destination, transit, ports)

    # -- answer --------------------------------------------------------------------------

    def _response(
        self,
        request: pb.ScreenShipmentRequest,
        index: LoadedIndex,
        shipment: Shipment,
        assessment: Assessment,
        accepted: dict[tuple[bool, int], list[tuple[MatchResult, str]]],
    ) -> pb.ScreenShipmentResponse:
        # Imported here: the servicer imports this module.
        from screening.api.servicer import new_screening_id

        results = [
            self._party_result(
                party, request.parties[party.index], outcome, accepted.get((False, party.index))
            )
            for party, outcome in zip(shipment.parties, assessment.parties, strict=True)
        ] + [
            self._party_result(
                vessel, request.vessels[vessel.index], outcome, accepted.get((True, vessel.index))
            )
            for vessel, outcome in zip(shipment.vessels, assessment.vessels, strict=True)
        ]
        return pb.ScreenShipmentResponse(
            screening_id=new_screening_id(),
            decision=convert.DECISION_PB[assessment.outcome.decision],
            risk_score=assessment.outcome.risk_score,
            party_results=results,
            findings=[finding_pb(f) for f in assessment.findings],
            data_version=index.version,
            screened_at=convert.timestamp(dt.datetime.now(dt.UTC)),
            shipment_ref=request.shipment_ref,
            policy_version=assessment.policy_version,
            client_ref=request.client_ref,
        )

    @staticmethod
    def _party_result(
        party: ScreenedParty,
        given: pb.Party,
        outcome: Outcome,
        accepted: list[tuple[MatchResult, str]] | None = None,
    ) -> pb.PartyResult:
        matches = [convert.match_pb(r) for r in party.matches]
        if accepted:
            # Cleared matches are reported too, marked, in score order with the others.
            for result, acceptance_id in accepted:
                match = convert.match_pb(result)
                match.accepted, match.acceptance_id = True, acceptance_id
                matches.append(match)
            matches.sort(key=lambda m: -m.score)
        return pb.PartyResult(
            index=party.index,
            is_vessel=party.is_vessel,
            role=given.role,
            name=given.name,
            party_ref=given.party_ref,
            decision=convert.DECISION_PB[outcome.decision],
            risk_score=outcome.risk_score,
            matches=matches,
        )


def finding_pb(finding: Finding) -> pb.Finding:
    return pb.Finding(
        code=finding.code,
        severity=SEVERITY_PB[finding.severity],
        message=finding.message,
        evidence=finding.evidence,
        party_index=finding.party_index,
        vessel_index=finding.vessel_index,
        goods_index=finding.goods_index,
        score=finding.points,
        entity_ids=finding.entity_ids,
    )
