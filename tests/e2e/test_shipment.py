"""ScreenShipment over real gRPC on every shared list (session `service` fixture)."""

from __future__ import annotations

import grpc
import pytest
from google.rpc import error_details_pb2
from grpc_status import rpc_status

from screening.risk.policy import load_policy
from screening.v1 import screening_pb2 as pb

AURUS = "ofac-sdn:47956"
# ARGO I on the OFAC SDN list: "Vessel Registration Identification IMO 9187667".
LISTED_IMO = "9187667"
LISTED_VESSEL = "ofac-sdn:15038"

CONTROLLERS_AND_CHIPS = [
    pb.GoodsItem(
        hs_code="853710",
        description="programmable logic controllers",
        value=48_000,
        currency="USD",
        origin_country="KR",
    ),
    pb.GoodsItem(
        hs_code="8542.31.0000",
        description="integrated circuits, processors and controllers",
        value=12_500,
        currency="USD",
        origin_country="KR",
    ),
]
KOREAN_SUPPLIER = pb.Party(
    name="Hanil Precision Controls Co., Ltd.",
    entity_type=pb.ENTITY_TYPE_ORGANIZATION,
    country="KR",
    role=pb.PARTY_ROLE_SUPPLIER,
    address=pb.Address(city="Incheon", country="KR"),
)


def bad_fields(exc: grpc.RpcError) -> list[str]:
    status = rpc_status.from_call(exc)
    assert status is not None, "INVALID_ARGUMENT must carry google.rpc.Status details"
    fields = []
    for detail in status.details:
        if detail.Is(error_details_pb2.BadRequest.DESCRIPTOR):
            bad = error_details_pb2.BadRequest()
            detail.Unpack(bad)
            fields += [v.field for v in bad.field_violations]
    return fields


def shipment(
    consignee: pb.Party,
    destination: str,
    *,
    parties: tuple[pb.Party, ...] = (),
    vessels: tuple[pb.Party, ...] = (),
    transit: tuple[str, ...] = (),
    ports: tuple[str, ...] = (),
    goods: list[pb.GoodsItem] | None = None,
) -> pb.ScreenShipmentRequest:
    return pb.ScreenShipmentRequest(
        shipment_ref="SHP-1",
        parties=[KOREAN_SUPPLIER, consignee, *parties],
        vessels=list(vessels),
        goods=CONTROLLERS_AND_CHIPS if goods is None else goods,
        route=pb.Route(
            origin_country="KR",
            destination_country=destination,
            transit_countries=list(transit),
            ports=list(ports),
        ),
    )


def consignee(name: str, country: str, city: str = "", **extra: str) -> pb.Party:
    return pb.Party(
        name=name,
        entity_type=pb.ENTITY_TYPE_ORGANIZATION,
        country=country,
        role=pb.PARTY_ROLE_CONSIGNEE,
        address=pb.Address(city=city, country=country, **extra),
    )


def codes(reply: pb.ScreenShipmentResponse) -> set[str]:
    return {f.code for f in reply.findings}


def only(reply: pb.ScreenShipmentResponse, code: str) -> list[pb.Finding]:
    return [f for f in reply.findings if f.code == code]


def test_aurus_shipment_blocks_naming_the_entry_and_its_date(stub):
    reply = stub.ScreenShipment(
        shipment(consignee("LIMITED LIABILITY COMPANY AURUS", "RU", "Moscow"), "RU"), timeout=10
    )
    assert reply.decision == pb.DECISION_BLOCK
    match = only(reply, "PARTY_SANCTIONS_MATCH")
    assert match, [f.code for f in reply.findings]
    aurus = next(f for f in match if AURUS in f.entity_ids)
    assert aurus.severity == pb.SEVERITY_CRITICAL
    assert aurus.party_index == 1 and aurus.goods_index == -1 and aurus.vessel_index == -1
    assert aurus.party == 1 and not aurus.HasField("goods_line") and not aurus.HasField("vessel")
    listed = "first listed 2024-02-23 (not on the list of 2024-02-20)"
    assert listed in aurus.message
    assert any(AURUS in e and listed in e for e in aurus.evidence)
    # The party result carries the match itself, with its designation date.
    result = reply.party_results[1]
    assert result.index == 1 and result.role == pb.PARTY_ROLE_CONSIGNEE
    assert result.decision == pb.DECISION_BLOCK
    top = result.matches[0]
    assert top.entity_id == AURUS and top.designation_date == "2024-02-23"
    assert top.designation_date_basis == pb.DESIGNATION_DATE_BASIS_FIRST_SEEN
    # The goods are CHPL items bound for Russia too; the supplier is clear.
    assert "CHPL_GOODS_RUSSIA" in codes(reply)
    assert reply.party_results[0].decision == pb.DECISION_CLEAR
    assert not reply.party_results[0].matches
    assert reply.risk_score >= 95
    assert reply.shipment_ref == "SHP-1" and reply.screening_id and reply.data_version
    assert reply.policy_version == load_policy().version


def test_unlisted_moscow_buyer_is_not_clear_and_names_the_tier(stub):
    reply = stub.ScreenShipment(
        shipment(consignee("Promtekhkomplekt Stolitsa OOO", "RU", "Moscow"), "RU"), timeout=10
    )
    assert reply.decision != pb.DECISION_CLEAR
    assert "PARTY_SANCTIONS_MATCH" not in codes(reply)
    chpl = only(reply, "CHPL_GOODS_RUSSIA")
    # 854231 (integrated circuits) is Tier 1; 853710 is not on the list.
    assert [f.goods_index for f in chpl] == [1]
    assert "TIER_1" in chpl[0].message
    assert any("854231 TIER_1" in e for e in chpl[0].evidence)
    assert any("destination_country RU" in e for e in chpl[0].evidence)


def test_unlisted_german_buyer_is_clear(stub):
    reply = stub.ScreenShipment(
        shipment(consignee("Brandt Steuerungstechnik GmbH", "DE", "Stuttgart"), "DE"), timeout=10
    )
    assert reply.decision == pb.DECISION_CLEAR, [f.message for f in reply.findings]
    assert list(reply.findings) == []
    assert reply.risk_score == 0
    assert [r.decision for r in reply.party_results] == [pb.DECISION_CLEAR] * 2


def test_unlisted_kyrgyz_buyer_is_review_for_diversion_risk(stub):
    reply = stub.ScreenShipment(
        shipment(consignee("Ala-Too Elektronik Service OsOO", "KG", "Bishkek"), "KG"), timeout=10
    )
    assert reply.decision == pb.DECISION_REVIEW
    diversion = only(reply, "CHPL_DIVERSION_RISK")
    assert [f.goods_index for f in diversion] == [1]
    assert "Kyrgyzstan" in diversion[0].message and "TIER_1" in diversion[0].message
    assert codes(reply) == {"CHPL_DIVERSION_RISK"}


def test_listed_vessel_entry_carries_the_imo(stub):
    entity = stub.GetEntity(pb.GetEntityRequest(entity_id=LISTED_VESSEL), timeout=10).entity
    assert entity.entity_type == pb.ENTITY_TYPE_VESSEL
    assert any(i.type == "imo" and i.value == LISTED_IMO for i in entity.identifiers)


@pytest.mark.parametrize("name", ["", "ARGO I", "Blue Horizon", "MV Some Other Name"])
@pytest.mark.parametrize("imo", [LISTED_IMO, f"IMO {LISTED_IMO}"])
def test_vessel_by_listed_imo_blocks_whatever_the_name(stub, name, imo):
    vessel = pb.Party(name=name, identifiers=[pb.Identifier(type="imo", value=imo)])
    reply = stub.ScreenShipment(
        shipment(
            consignee("Brandt Steuerungstechnik GmbH", "DE", "Stuttgart"), "DE", vessels=(vessel,)
        ),
        timeout=10,
    )
    assert reply.decision == pb.DECISION_BLOCK
    hits = only(reply, "VESSEL_SANCTIONS_MATCH")
    assert [f.entity_ids[0] for f in hits] == [LISTED_VESSEL]
    assert hits[0].vessel_index == 0 and hits[0].party_index == -1
    vessel_result = [r for r in reply.party_results if r.is_vessel]
    assert len(vessel_result) == 1 and vessel_result[0].decision == pb.DECISION_BLOCK
    assert vessel_result[0].matches[0].entity_id == LISTED_VESSEL


def test_unlisted_imo_is_clear(stub):
    # 9074729 has a valid check digit and is on no list.
    vessel = pb.Party(name="Blue Horizon", identifiers=[pb.Identifier(type="imo", value="9074729")])
    reply = stub.ScreenShipment(
        shipment(consignee("Brandt Steuerungstechnik GmbH", "DE"), "DE", vessels=(vessel,)),
        timeout=10,
    )
    assert reply.decision == pb.DECISION_CLEAR


@pytest.mark.parametrize(
    "address",
    [
        {"city": "Sevastopol"},
        {"city": "Sebastopol"},
        {"full": "ул. Ленина 12, Севастополь"},
        {"region": "Republic of Crimea", "city": "Simferopol"},
        {"region": "Lugansk People's Republic"},
        {"full": "Donetsk, Donetska oblast"},
    ],
)
def test_occupied_region_in_address_blocks(stub, address):
    party = pb.Party(
        name="Yuzhnaya Torgovaya Kompaniya",
        role=pb.PARTY_ROLE_CONSIGNEE,
        address=pb.Address(**address),
    )
    reply = stub.ScreenShipment(shipment(party, "UA", goods=[]), timeout=10)
    assert reply.decision == pb.DECISION_BLOCK
    region = only(reply, "OCCUPIED_REGION")
    assert region and region[0].party_index == 1


def test_occupied_region_port_blocks(stub):
    reply = stub.ScreenShipment(
        shipment(consignee("Brandt Steuerungstechnik GmbH", "DE"), "DE", ports=("UASVP",)),
        timeout=10,
    )
    assert reply.decision == pb.DECISION_BLOCK
    assert only(reply, "OCCUPIED_REGION")[0].evidence


def test_embargoed_destination_party_and_transit(stub):
    to_iran = stub.ScreenShipment(
        shipment(consignee("Pars Sanat Tejarat", "IR", "Tehran"), "IR"), timeout=10
    )
    assert to_iran.decision == pb.DECISION_BLOCK
    assert {"EMBARGOED_DESTINATION", "EMBARGOED_PARTY_COUNTRY"} <= codes(to_iran)

    via_syria = stub.ScreenShipment(
        shipment(consignee("Brandt Steuerungstechnik GmbH", "DE"), "DE", transit=("SY",)),
        timeout=10,
    )
    assert codes(via_syria) == {"EMBARGOED_TRANSIT"}
    assert via_syria.decision == pb.DECISION_REVIEW

    north_korean_goods = [
        pb.GoodsItem(hs_code="620342", description="trousers", origin_country="KP")
    ]
    from_kp = stub.ScreenShipment(
        shipment(consignee("Brandt Steuerungstechnik GmbH", "DE"), "DE", goods=north_korean_goods),
        timeout=10,
    )
    origin = only(from_kp, "EMBARGOED_ORIGIN")
    assert origin and origin[0].goods_index == 0


def test_red_flags(stub):
    forwarder = pb.Party(
        name="Silk Way Freight Forwarding LLC",
        country="KZ",
        role=pb.PARTY_ROLE_FREIGHT_FORWARDER,
    )
    # The forwarder is the consignee; the end user sits in Russia, which the route never
    # passes: the classic transshipment pattern.
    end_user = pb.Party(name="Avtokomponent Tekhnologii", country="RU", role=pb.PARTY_ROLE_END_USER)
    reply = stub.ScreenShipment(
        shipment(
            pb.Party(
                name="Silk Way Freight Forwarding LLC", country="KZ", role=pb.PARTY_ROLE_CONSIGNEE
            ),
            "KZ",
            parties=(forwarder, end_user),
        ),
        timeout=10,
    )
    found = codes(reply)
    assert {"FREIGHT_FORWARDER_CONSIGNEE", "PARTY_COUNTRY_OFF_ROUTE", "CHPL_GOODS_RUSSIA"} <= found
    ff = only(reply, "FREIGHT_FORWARDER_CONSIGNEE")[0]
    assert ff.party_index == 1
    assert any("same name" in e for e in ff.evidence)
    assert only(reply, "PARTY_COUNTRY_OFF_ROUTE")[0].party_index == 3
    assert reply.decision == pb.DECISION_BLOCK  # tier 1 goods bound for a Russian end user


def test_listed_party_country_on_route(stub):
    notify = pb.Party(name="LIMITED LIABILITY COMPANY AURUS", role=pb.PARTY_ROLE_NOTIFY_PARTY)
    reply = stub.ScreenShipment(
        shipment(
            consignee("Steppe Trade Partners LLP", "KZ", "Almaty"),
            "KZ",
            parties=(notify,),
            transit=("RU",),
            goods=[pb.GoodsItem(hs_code="940510", description="lamps")],
        ),
        timeout=10,
    )
    on_route = only(reply, "LISTED_COUNTRY_ON_ROUTE")
    assert on_route and on_route[0].party_index == 2 and AURUS in on_route[0].entity_ids
    assert any("transit_countries[0]: RU" in e for e in on_route[0].evidence)


def test_same_code_findings_count_once(stub):
    twenty_chip_lines = [
        pb.GoodsItem(hs_code="85423100", description=f"chips lot {i}") for i in range(20)
    ]
    reply = stub.ScreenShipment(
        shipment(consignee("Ala-Too Elektronik Service OsOO", "KG"), "KG", goods=twenty_chip_lines),
        timeout=10,
    )
    assert len(only(reply, "CHPL_DIVERSION_RISK")) == 20
    assert reply.decision == pb.DECISION_REVIEW  # twenty lines are one reason, not a block
    assert reply.risk_score == only(reply, "CHPL_DIVERSION_RISK")[0].score


def test_bad_shipment_names_every_field(stub):
    request = shipment(
        consignee("", "ZZ"),
        "XX",
        transit=("Russia",),
        goods=[
            pb.GoodsItem(hs_code="854231"),
            pb.GoodsItem(hs_code="854"),
            pb.GoodsItem(hs_code="85423100001"),
            pb.GoodsItem(hs_code="85A231"),
            pb.GoodsItem(hs_code="854231", currency="XYZ", value=-1),
        ],
        vessels=(
            pb.Party(name="No IMO", identifiers=[pb.Identifier(type="imo", value="9187668")]),
            pb.Party(name="A person", entity_type=pb.ENTITY_TYPE_PERSON),
            pb.Party(),
        ),
        parties=(pb.Party(name="Odd role", role=42),),
    )
    with pytest.raises(grpc.RpcError) as err:
        stub.ScreenShipment(request, timeout=10)
    assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    fields = set(bad_fields(err.value))
    assert {
        "parties[1].name",
        "parties[1].country",
        "parties[1].address.country",
        "route.destination_country",
        "route.transit_countries[0]",
        "goods[1].hs_code",
        "goods[2].hs_code",
        "goods[3].hs_code",
        "goods[4].currency",
        "goods[4].value",
        "vessels[0].identifiers[0].value",
        "vessels[1].entity_type",
        "vessels[2].name",
        "parties[2].role",
    } == fields


def test_limits_and_required_parts(stub):
    too_many = pb.ScreenShipmentRequest(
        parties=[pb.Party(name=f"Party {i}") for i in range(51)],
        goods=[pb.GoodsItem(hs_code="940510")] * 501,
        route=pb.Route(destination_country="DE"),
    )
    with pytest.raises(grpc.RpcError) as err:
        stub.ScreenShipment(too_many, timeout=10)
    assert {"parties", "goods"} <= set(bad_fields(err.value))

    with pytest.raises(grpc.RpcError) as err:
        stub.ScreenShipment(pb.ScreenShipmentRequest(), timeout=10)
    assert {"parties", "route.destination_country"} <= set(bad_fields(err.value))
