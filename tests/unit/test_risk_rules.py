"""Shipment rules and their combination, on domain objects (pure logic)."""

from __future__ import annotations

import pytest

from screening.matching.types import MatchResult
from screening.model.entities import DateBasis, Entity, EntityType, Identifier
from screening.risk import findings as codes
from screening.risk.assess import assess, combine
from screening.risk.findings import Finding, Severity
from screening.risk.party import Decision
from screening.risk.places import fold, locode, port_country
from screening.risk.policy import load_policy
from screening.risk.shipment import (
    GoodsLine,
    Role,
    Route,
    ScreenedParty,
    Shipment,
    party_country,
)

POLICY = load_policy()


def region(text: str) -> str:
    for matcher in POLICY.regions:
        if matcher.find(text):
            return matcher.name.split()[0]
    return ""


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Sevastopol", "Crimea"),
        ("SEBASTOPOL, UKRAINE", "Crimea"),
        ("ул. Большая Морская 5, Севастополь", "Crimea"),
        ("Republic of Crimea", "Crimea"),
        ("Krym", "Crimea"),
        ("Simferopol 295000", "Crimea"),
        ("Donetsk People's Republic", "so-called"),
        ("Донецьк", "so-called"),
        ("Lugansk", "so-called"),
        ("Луганская Народная Республика, г. Луганск", "so-called"),
        ("Kyiv", ""),
        ("Odesa, Ukraine", ""),
        ("Kerchenskaya ulitsa 4, Moscow", ""),  # whole words only
        ("", ""),
    ],
)
def test_occupied_region_spellings(text, expected):
    assert region(text) == expected


def test_fold():
    assert fold("  Donetsk  People’s-Republic ") == "donetsk peoples republic"
    assert fold("Sevastópol") == "sevastopol"


@pytest.mark.parametrize(
    ("port", "code", "country"),
    [
        ("RULED", "RULED", "RU"),
        ("RU LED", "RULED", "RU"),
        ("IRBND", "IRBND", "IR"),
        ("Bandar Abbas, Iran", "", "IR"),
        ("Hamburg", "", ""),
        ("ruled", "", ""),
    ],
)
def test_ports(port, code, country):
    assert locode(port) == code
    assert port_country(port) == country


def test_party_country_falls_back_to_address():
    assert party_country("DE", "RU", "") == "DE"
    assert party_country("", "RU", "") == "RU"
    assert party_country("", "", "Vali Asr Ave 12, Tehran, Iran") == "IR"
    assert party_country("", "", "somewhere") == ""


def finding(code: str, severity: Severity, party: int = -1) -> Finding:
    return Finding(code, severity, "m", party_index=party)


def test_combination_is_bounded_and_counts_a_code_once():
    medium = POLICY.points(Severity.MEDIUM)
    one = combine([finding("A", Severity.MEDIUM)], POLICY)
    assert one == combine([finding("A", Severity.MEDIUM)] * 20, POLICY)
    assert one.risk_score == medium and one.decision == Decision.REVIEW
    two = combine([finding("A", Severity.MEDIUM), finding("B", Severity.MEDIUM)], POLICY)
    assert two.risk_score == round(100 * (1 - (1 - medium / 100) ** 2))
    many = combine([finding(c, Severity.CRITICAL) for c in "ABCDEFGH"], POLICY)
    assert many.risk_score == 100 and many.decision == Decision.BLOCK
    assert combine([], POLICY).risk_score == 0
    assert combine([finding("A", Severity.LOW)], POLICY).decision == Decision.CLEAR
    assert combine([finding("A", Severity.HIGH)], POLICY).decision == Decision.REVIEW


def party(index: int, name: str, role: Role, country: str, **extra) -> ScreenedParty:
    return ScreenedParty(index=index, name=name, role=role, country=country, **extra)


def listed(entity_id: str, name: str, countries: list[str], score: float = 0.99) -> MatchResult:
    entity = Entity(
        id=entity_id,
        source=entity_id.split(":")[0],
        source_ref=entity_id.split(":")[1],
        entity_type=EntityType.ORGANIZATION,
        name=name,
        countries=countries,
        programs=["RUSSIA-EO14024"],
        designation_date="2024-02-23",
        designation_date_basis=DateBasis.FIRST_SEEN,
        absent_from="2024-02-20",
    )
    return MatchResult(entity, score, name, name, [])


def found(shipment: Shipment) -> dict[str, list[Finding]]:
    out: dict[str, list[Finding]] = {}
    for f in assess(shipment, POLICY).findings:
        out.setdefault(f.code, []).append(f)
    return out


def test_chpl_to_belarus_by_end_user_and_transit():
    shipment = Shipment(
        parties=[
            party(0, "Supplier", Role.SUPPLIER, "KR"),
            party(1, "Buyer", Role.CONSIGNEE, "LT"),
            party(2, "Minsk Works", Role.END_USER, "BY"),
        ],
        vessels=[],
        goods=[GoodsLine(0, "8486100000"), GoodsLine(1, "940510")],
        route=Route("KR", "LT", ["BY"]),
    )
    result = found(shipment)
    chpl = result[codes.CHPL_GOODS_RUSSIA]
    assert [f.goods_index for f in chpl] == [0]
    assert chpl[0].severity == Severity.HIGH  # 848610 is TIER_4_A
    assert "Belarus" in chpl[0].message
    assert any("end_user" in e for e in chpl[0].evidence)
    # The Belarusian end user is on the route (transit), so no off-route flag.
    assert codes.PARTY_COUNTRY_OFF_ROUTE not in result


def test_no_chpl_goods_no_chpl_finding():
    shipment = Shipment(
        parties=[party(0, "Buyer", Role.CONSIGNEE, "RU")],
        vessels=[],
        goods=[GoodsLine(0, "940510")],
        route=Route("DE", "RU"),
    )
    assert found(shipment) == {}


def test_forwarder_words_and_shared_identifier():
    shipment = Shipment(
        parties=[
            party(0, "Global Cargo Logistics FZE", Role.CONSIGNEE, "AE"),
            party(
                1,
                "Orion Trading",
                Role.END_USER,
                "AE",
                identifiers=[Identifier("registration", "TRN-100-200")],
            ),
            party(
                2,
                "Fast Lane Forwarders",
                Role.FREIGHT_FORWARDER,
                "AE",
                identifiers=[Identifier("registration", "TRN100200")],
            ),
            party(3, "Cargo Bank", Role.BANK, "AE"),
        ],
        vessels=[],
        goods=[],
        route=Route("DE", "AE"),
    )
    flags = found(shipment)[codes.FREIGHT_FORWARDER_CONSIGNEE]
    assert [f.party_index for f in flags] == [0, 1]
    assert flags[0].evidence == ["parties[0] name contains 'cargo'"]
    assert "same registration" in flags[1].evidence[0]


def test_off_route_and_listed_country_on_route():
    shipment = Shipment(
        parties=[
            party(0, "Buyer", Role.CONSIGNEE, "KZ"),
            party(1, "Hidden User", Role.END_USER, "RU"),
            party(2, "Notify", Role.NOTIFY_PARTY, "CN"),  # not a receiving role
            party(
                3,
                "LIMITED LIABILITY COMPANY AURUS",
                Role.SHIPPER,
                "",
                matches=[listed("ofac-sdn:47956", "LIMITED LIABILITY COMPANY AURUS", ["RU"])],
            ),
        ],
        vessels=[],
        goods=[],
        route=Route("KR", "KZ", ports=["CNSHA"]),
    )
    result = found(shipment)
    assert [f.party_index for f in result[codes.PARTY_COUNTRY_OFF_ROUTE]] == [1]
    assert codes.LISTED_COUNTRY_ON_ROUTE not in result  # RU is not on this route
    shipment.route.transit = ["RU"]
    result = found(shipment)
    assert codes.PARTY_COUNTRY_OFF_ROUTE not in result
    assert result[codes.LISTED_COUNTRY_ON_ROUTE][0].entity_ids == ["ofac-sdn:47956"]
    match = result[codes.PARTY_SANCTIONS_MATCH][0]
    assert match.party_index == 3 and match.severity == Severity.CRITICAL
    assert "first listed 2024-02-23 (not on the list of 2024-02-20)" in match.evidence[0]
    assert "first listed 2024-02-23 (not on the list of 2024-02-20)" in match.message


def test_alert_level_match_reviews_and_weak_match_is_ignored():
    def one(score: float) -> Shipment:
        return Shipment(
            parties=[party(0, "X", Role.CONSIGNEE, "", matches=[listed("un:X.1", "X", [], score)])],
            vessels=[],
            goods=[],
            route=Route("", "DE"),
        )

    alert = assess(one(0.85), POLICY)
    assert alert.outcome.decision == Decision.REVIEW
    assert alert.findings[0].severity == Severity.HIGH
    weak = assess(one(0.6), POLICY)
    assert weak.findings == [] and weak.outcome.decision == Decision.CLEAR


def test_embargo_everywhere():
    shipment = Shipment(
        parties=[party(0, "A", Role.CONSIGNEE, "CU")],
        vessels=[party(0, "Vessel", Role.CARRIER, "KP", is_vessel=True)],
        goods=[GoodsLine(0, "240210", origin_country="CU")],
        route=Route("CU", "SY", ["IR"], ports=["KPNAM", "SYLTK"]),
    )
    result = found(shipment)
    assert set(result) == {
        codes.EMBARGOED_DESTINATION,
        codes.EMBARGOED_PARTY_COUNTRY,
        codes.EMBARGOED_TRANSIT,
        codes.EMBARGOED_ORIGIN,
        codes.EMBARGOED_VESSEL_FLAG,
    }
    # IR transit and KP port; the Syrian port is the destination itself.
    assert len(result[codes.EMBARGOED_TRANSIT]) == 2
    assert result[codes.EMBARGOED_VESSEL_FLAG][0].vessel_index == 0
    assert {f.goods_index for f in result[codes.EMBARGOED_ORIGIN]} == {-1, 0}
