"""The shipment rules. Each takes the shipment and the policy and returns its findings."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import TypedDict

from screening.matching.types import MatchResult
from screening.model.countries import country_name
from screening.model.identifiers import normalize_identifier
from screening.risk import findings as codes
from screening.risk.findings import Finding
from screening.risk.places import fold, port_country
from screening.risk.policy import Policy
from screening.risk.shipment import (
    FINAL_ROLES,
    RECEIVING_ROLES,
    Role,
    ScreenedParty,
    Shipment,
)

Rule = Callable[[Shipment, Policy], list[Finding]]


def _name(code: str) -> str:
    return f"{country_name(code)} ({code})" if code else "unknown"


class _Where(TypedDict, total=False):
    party_index: int
    vessel_index: int


def _where(party: ScreenedParty) -> _Where:
    return {"vessel_index": party.index} if party.is_vessel else {"party_index": party.index}


def _who(party: ScreenedParty) -> str:
    """How messages name a party: position, name, role ("parties[1] 'ACME' (consignee)")."""
    name = f" '{party.name}'" if party.name else ""
    if party.is_vessel:
        imo = next((i.value for i in party.identifiers if i.type == "imo"), "")
        return f"{party.label}{name}" + (f" (IMO {imo})" if imo else "")
    return f"{party.label}{name} ({party.role.value})"


def match_evidence(result: MatchResult) -> str:
    entity = result.entity
    parts = [f"{entity.id} {entity.name}", f"score {result.score:.2f}"]
    if entity.designation_date:
        parts.append(entity.designation())
    if entity.programs:
        parts.append(f"programs {', '.join(entity.programs)}")
    if entity.countries:
        parts.append(f"countries {', '.join(entity.countries)}")
    return "; ".join(parts)


def list_matches(shipment: Shipment, policy: Policy) -> list[Finding]:
    """PARTY_ / VESSEL_SANCTIONS_MATCH: one finding per list entry matched at alert level."""
    out = []
    for party in (*shipment.parties, *shipment.vessels):
        code = codes.VESSEL_SANCTIONS_MATCH if party.is_vessel else codes.PARTY_SANCTIONS_MATCH
        for result in party.matches:
            severity = policy.match_severity(result.entity.source, result.score)
            if severity is None:
                continue
            entity = result.entity
            listed = f", {entity.designation()}" if entity.designation_date else ""
            out.append(
                Finding(
                    code=code,
                    severity=severity,
                    message=(
                        f"{_who(party)} matches {entity.id} "
                        f"'{entity.name}'{listed}, score {result.score:.2f}"
                    ),
                    evidence=[match_evidence(result)],
                    entity_ids=[entity.id],
                    **_where(party),
                )
            )
    return out


def _route_points(shipment: Shipment) -> list[tuple[str, str]]:
    """(country, what) for every country the route passes apart from the destination."""
    route = shipment.route
    points = []
    if route.origin:
        points.append((route.origin, "route.origin_country"))
    points += [(c, f"route.transit_countries[{i}]") for i, c in enumerate(route.transit) if c]
    for i, port in enumerate(route.ports):
        country = port_country(port)
        if country:
            points.append((country, f"route.ports[{i}] {port}"))
    return points


def embargoed_countries(shipment: Shipment, policy: Policy) -> list[Finding]:
    """EMBARGOED_DESTINATION / _TRANSIT / _ORIGIN / _PARTY_COUNTRY / _VESSEL_FLAG."""
    embargoed = policy.embargoed
    route = shipment.route
    out = []
    if route.destination in embargoed:
        out.append(
            Finding(
                codes.EMBARGOED_DESTINATION,
                policy.severity(codes.EMBARGOED_DESTINATION),
                f"destination {_name(route.destination)} is under comprehensive embargo",
                [f"route.destination_country {route.destination}"],
            )
        )
    for country, what in _route_points(shipment):
        if country not in embargoed or country == route.destination:
            continue
        code = (
            codes.EMBARGOED_ORIGIN if what.startswith("route.origin") else codes.EMBARGOED_TRANSIT
        )
        out.append(
            Finding(
                code,
                policy.severity(code),
                f"the route passes {_name(country)}, under comprehensive embargo",
                [f"{what}: {country}"],
            )
        )
    for line in shipment.goods:
        if line.origin_country in embargoed:
            out.append(
                Finding(
                    codes.EMBARGOED_ORIGIN,
                    policy.severity(codes.EMBARGOED_ORIGIN),
                    f"goods[{line.index}] originate in {_name(line.origin_country)}, "
                    "under comprehensive embargo",
                    [f"goods[{line.index}].origin_country {line.origin_country}"],
                    goods_index=line.index,
                )
            )
    for party in shipment.parties:
        if party.country in embargoed:
            out.append(
                Finding(
                    codes.EMBARGOED_PARTY_COUNTRY,
                    policy.severity(codes.EMBARGOED_PARTY_COUNTRY),
                    f"{_who(party)} is in {_name(party.country)}, under comprehensive embargo",
                    [f"{party.label} country {party.country}"],
                    party_index=party.index,
                )
            )
    for vessel in shipment.vessels:
        if vessel.country in embargoed:
            out.append(
                Finding(
                    codes.EMBARGOED_VESSEL_FLAG,
                    policy.severity(codes.EMBARGOED_VESSEL_FLAG),
                    f"{_who(vessel)} flies the flag of {_name(vessel.country)}, "
                    "under comprehensive embargo",
                    [f"{vessel.label} flag {vessel.country}"],
                    vessel_index=vessel.index,
                )
            )
    return out


def occupied_regions(shipment: Shipment, policy: Policy) -> list[Finding]:
    """OCCUPIED_REGION: a sanctioned region named in an address or a port."""
    out = []
    severity = policy.severity(codes.OCCUPIED_REGION)
    addresses = [
        (party, [fold(text) for text in party.address])
        for party in (*shipment.parties, *shipment.vessels)
        if party.address
    ]
    for region in policy.regions:
        for party, texts in addresses:
            found = next((f for f in map(region.find_folded, texts) if f), "")
            if found:
                out.append(
                    Finding(
                        codes.OCCUPIED_REGION,
                        severity,
                        f"{_who(party)} has an address in {region.name}",
                        [f"{party.label}.address names '{found}'"],
                        **_where(party),
                    )
                )
        for i, port in enumerate(shipment.route.ports):
            found = region.find_port(port)
            if found:
                out.append(
                    Finding(
                        codes.OCCUPIED_REGION,
                        severity,
                        f"route.ports[{i}] is in {region.name}",
                        [f"route.ports[{i}] {port} names '{found}'"],
                    )
                )
    return out


def _bound_for(shipment: Shipment, countries: Iterable[str]) -> tuple[list[str], list[str]]:
    """Which of `countries` the goods are bound for (by destination, transit, or a receiving
    party located there), and the evidence."""
    wanted = set(countries)
    route = shipment.route
    found: list[tuple[str, str]] = []
    if route.destination in wanted:
        found.append((route.destination, f"route.destination_country {route.destination}"))
    found += [
        (c, f"route.transit_countries[{i}] {c}") for i, c in enumerate(route.transit) if c in wanted
    ]
    found += [
        (p.country, f"{p.label} ({p.role.value}) in {p.country}")
        for p in shipment.parties
        if p.role in RECEIVING_ROLES and p.country in wanted
    ]
    return sorted({c for c, _ in found}), [reason for _, reason in found]


def chpl_subheadings(hs_code: str, chpl: dict[str, str]) -> list[tuple[str, str]]:
    """(CHPL subheading, tier) a declared code falls in: the one of its first six digits, or
    for a chapter or heading (2 or 4 digits) every CHPL subheading inside it."""
    if len(hs_code) >= 6:
        tier = chpl.get(hs_code[:6])
        return [(hs_code[:6], tier)] if tier else []
    return sorted((code, tier) for code, tier in chpl.items() if code.startswith(hs_code))


def chpl_goods(shipment: Shipment, policy: Policy) -> list[Finding]:
    """CHPL_GOODS_RUSSIA and CHPL_DIVERSION_RISK, one finding per CHPL goods line.

    A line declared by chapter or heading (8542) that contains CHPL subheadings is a CHPL
    line too: the declaration does not say which goods it carries, so it takes the most
    severe tier inside it (a coarser code never lowers the decision) and the finding names
    every subheading with its tier."""
    lines = [(line, chpl_subheadings(line.hs_code, policy.chpl)) for line in shipment.goods]
    listed = [(line, found) for line, found in lines if found]
    if not listed:
        return []
    restricted, restricted_why = _bound_for(shipment, policy.restricted)
    diversion, diversion_why = ([], []) if restricted else _bound_for(shipment, policy.diversion)
    out = []
    for line, found in listed:
        if len(line.hs_code) >= 6:
            subheading, tier = found[0]
            item = f"goods[{line.index}] HS {line.hs_code}"
            what = f"{item} is on the Common High Priority List ({tier})"
            evidence = [f"Common High Priority List {subheading} {tier}"]
        else:
            tier = max((t for _, t in found), key=lambda t: policy.tier_severity(t))
            kind = "chapter" if len(line.hs_code) == 2 else "heading"
            inside = ", ".join(f"{code} ({t})" for code, t in found)
            item = f"goods[{line.index}] HS {kind} {line.hs_code}"
            what = (
                f"{item} contains Common High Priority List subheadings {inside}; the "
                "declared code does not say which goods these are"
            )
            evidence = [f"Common High Priority List {code} {t}" for code, t in found]
        if restricted:
            out.append(
                Finding(
                    codes.CHPL_GOODS_RUSSIA,
                    policy.tier_severity(tier),
                    f"{what} and bound for {', '.join(_name(c) for c in restricted)}",
                    [*evidence, *restricted_why],
                    goods_index=line.index,
                )
            )
        elif diversion:
            out.append(
                Finding(
                    codes.CHPL_DIVERSION_RISK,
                    policy.severity(codes.CHPL_DIVERSION_RISK),
                    f"{what} and bound for {', '.join(_name(c) for c in diversion)}, named by "
                    "FinCEN and BIS as a diversion route to Russia",
                    [*evidence, *diversion_why],
                    goods_index=line.index,
                )
            )
    return out


def _same_party(a: ScreenedParty, b: ScreenedParty) -> str:
    if a.name and fold(a.name) == fold(b.name):
        return f"same name '{b.name}'"
    ids_a = {(i.type, normalize_identifier(i.value)) for i in a.identifiers}
    for ident in b.identifiers:
        if (ident.type, normalize_identifier(ident.value)) in ids_a:
            return f"same {ident.type} {ident.value}"
    return ""


def freight_forwarder_consignee(shipment: Shipment, policy: Policy) -> list[Finding]:
    """FREIGHT_FORWARDER_CONSIGNEE: a freight forwarder is the final consignee or end user."""
    forwarders = [p for p in shipment.parties if p.role == Role.FREIGHT_FORWARDER]
    out = []
    for party in shipment.parties:
        if party.role not in FINAL_ROLES:
            continue
        evidence = [
            f"{party.label} and {fw.label} (freight forwarder): {same}"
            for fw in forwarders
            if (same := _same_party(fw, party))
        ]
        word = policy.forwarder_words.search(fold(party.name)) if policy.forwarder_words else None
        if word:
            evidence.append(f"{party.label} name contains '{word.group(0)}'")
        if evidence:
            out.append(
                Finding(
                    codes.FREIGHT_FORWARDER_CONSIGNEE,
                    policy.severity(codes.FREIGHT_FORWARDER_CONSIGNEE),
                    f"{_who(party)} appears to be a freight forwarder",
                    evidence,
                    party_index=party.index,
                )
            )
    return out


def party_country_off_route(shipment: Shipment, policy: Policy) -> list[Finding]:
    """PARTY_COUNTRY_OFF_ROUTE: a receiving party in a country the goods never reach."""
    route = shipment.route
    if not route.destination:
        return []
    on_route = {route.destination} | {c for c, _ in _route_points(shipment)}
    roles = set(policy.spec.red_flags.off_route_roles)
    out = []
    for party in shipment.parties:
        if party.role in roles and party.country and party.country not in on_route:
            out.append(
                Finding(
                    codes.PARTY_COUNTRY_OFF_ROUTE,
                    policy.severity(codes.PARTY_COUNTRY_OFF_ROUTE),
                    f"{_who(party)} is in {_name(party.country)}, which the "
                    f"route to {_name(route.destination)} does not pass",
                    [
                        f"{party.label} country {party.country}",
                        f"route: {', '.join(sorted(on_route))}",
                    ],
                    party_index=party.index,
                )
            )
    return out


def listed_country_on_route(shipment: Shipment, policy: Policy) -> list[Finding]:
    """LISTED_COUNTRY_ON_ROUTE: the route passes a country of a list entry a party matches."""
    points = _route_points(shipment)
    if not points:
        return []
    out = []
    for party in (*shipment.parties, *shipment.vessels):
        for result in party.matches:
            if policy.match_severity(result.entity.source, result.score) is None:
                continue
            listed = set(result.entity.countries)
            passed = [
                f"{what}: {country}"
                for country, what in points
                if country in listed and country != shipment.route.destination
            ]
            if passed:
                out.append(
                    Finding(
                        codes.LISTED_COUNTRY_ON_ROUTE,
                        policy.severity(codes.LISTED_COUNTRY_ON_ROUTE),
                        f"the route passes a country of {result.entity.id}, which "
                        f"{_who(party)} matches",
                        [match_evidence(result), *passed],
                        entity_ids=[result.entity.id],
                        **_where(party),
                    )
                )
    return out


RULES: tuple[Rule, ...] = (
    list_matches,
    embargoed_countries,
    occupied_regions,
    chpl_goods,
    freight_forwarder_consignee,
    party_country_off_route,
    listed_country_on_route,
)
