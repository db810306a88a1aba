"""The client's request helpers: plain dicts (JSON, CSV rows) to proto messages."""

from __future__ import annotations

import pytest

from screening_client import party, pb, screen_party_request, shipment_request
from screening_client.batch.results import from_csv_row, to_csv_row
from screening_client.retry import RetryPolicy


def test_party_friendly_spellings():
    p = party(
        {
            "name": "LIMITED LIABILITY COMPANY AURUS",
            "entity_type": "Organisation",
            "aliases": "Aurus LLC; OOO Aurus",
            "identifiers": "tax_id:7743237789 | imo:9123456",
            "country": "RU",
            "address": "Moscow",
            "role": "end-user",
            "birth_date": "",  # empty CSV cells are left out
        }
    )
    assert p.entity_type == pb.ENTITY_TYPE_ORGANIZATION
    assert list(p.aliases) == ["Aurus LLC", "OOO Aurus"]
    assert [(i.type, i.value) for i in p.identifiers] == [
        ("tax_id", "7743237789"),
        ("imo", "9123456"),
    ]
    assert p.address.full == "Moscow"
    assert p.role == pb.PARTY_ROLE_END_USER
    assert party({"name": "x", "entity_type": "ENTITY_TYPE_VESSEL"}).entity_type == (
        pb.ENTITY_TYPE_VESSEL
    )
    assert (
        party({"name": "x", "identifiers": {"lei": "5493001KJTIIGC8Y1R12"}}).identifiers[0].type
        == "lei"
    )
    assert party({"name": "x", "role": "NOTIFY_PARTY"}).role == pb.PARTY_ROLE_NOTIFY_PARTY


@pytest.mark.parametrize(
    ("data", "where"),
    [
        ({"name": "x", "entity_type": "spaceship"}, "party.entity_type"),
        ({"name": "x", "role": "pilot"}, "party.role"),
        ({"name": "x", "identifiers": "imo9123456"}, "party.identifiers"),
        ({"name": "x", "nickname": "y"}, "party"),
    ],
)
def test_party_rejects_unknown_values_naming_the_field(data, where):
    with pytest.raises(ValueError, match=where.replace(".", r"\.")):
        party(data)


def test_screen_party_request_forms():
    plain = screen_party_request({"name": "A"}, min_score=0.7, sources=["un"], client_ref="c1")
    assert (plain.party.name, plain.min_score, list(plain.sources), plain.client_ref) == (
        "A",
        pytest.approx(0.7),
        ["un"],
        "c1",
    )
    wrapped = screen_party_request(
        {"party": {"name": "B"}, "min_score": 0.9, "sources": "un;ofac-sdn"}, min_score=0.5
    )
    assert wrapped.min_score == pytest.approx(0.9)  # the row's own value wins
    assert list(wrapped.sources) == ["un", "ofac-sdn"]
    unset = screen_party_request({"name": "C"})
    assert not unset.HasField("min_score")  # the server's alert threshold applies


def test_shipment_request_from_dict():
    request = shipment_request(
        {
            "shipment_ref": "S-1",
            "parties": [
                {"name": "Korea Sensor Co", "role": "supplier", "country": "KR"},
                {"name": "LIMITED LIABILITY COMPANY AURUS", "role": "consignee"},
            ],
            "vessels": [{"name": "SEA STAR", "identifiers": "imo:9123456"}],
            "goods": [{"hs_code": 853710, "description": "programmable controllers"}],
            "route": {"origin_country": "KR", "destination_country": "RU", "ports": "KRPUS;RULED"},
        }
    )
    assert [p.role for p in request.parties] == [pb.PARTY_ROLE_SUPPLIER, pb.PARTY_ROLE_CONSIGNEE]
    assert request.vessels[0].entity_type == pb.ENTITY_TYPE_VESSEL
    assert request.goods[0].hs_code == "853710"
    assert list(request.route.ports) == ["KRPUS", "RULED"]
    with pytest.raises(ValueError, match=r"parties\[0\]\.role"):
        shipment_request({"parties": [{"name": "x", "role": "captain"}]})


def test_csv_record_round_trip_keeps_hits_and_explanations():
    record = {
        "row": 7,
        "kind": "party",
        "ref": "P7",
        "name": "AURUS",
        "status": "ok",
        "decision": "BLOCK",
        "risk_score": 99,
        "screening_id": "abc",
        "data_version": "v1",
        "stale_sources": ["ofac-sdn", "un"],
        "hits": [
            {
                "entity_id": "ofac-sdn:47956",
                "source": "ofac-sdn",
                "name": "LIMITED LIABILITY COMPANY AURUS",
                "score": 0.99,
                "programs": ["RUSSIA-EO14024"],
                "designation_date": "2024-02-23",
                "designation": "first listed 2024-02-23 (not on the list of 2024-02-20)",
                "explanation": [{"feature": "name", "contribution": 0.99, "detail": "same"}],
            }
        ],
    }
    row = {k: str(v) for k, v in to_csv_row(record).items()}
    assert row["top_programs"] == "RUSSIA-EO14024" and row["hit_count"] == "1"
    assert row["stale_sources"] == "ofac-sdn;un"
    assert row["top_designation"] == "first listed 2024-02-23 (not on the list of 2024-02-20)"
    assert from_csv_row(row) == record


def test_retry_policy_backoff_is_capped_and_unavailable_only():
    import grpc

    policy = RetryPolicy(max_attempts=4, initial_backoff=0.1, max_backoff=0.3)
    assert all(0 <= policy.backoff(n) <= 0.3 for n in range(1, 20))
    assert policy.should_retry(grpc.StatusCode.UNAVAILABLE, 1, 1.0)
    assert not policy.should_retry(grpc.StatusCode.UNAVAILABLE, 4, 1.0)  # attempts spent
    assert not policy.should_retry(grpc.StatusCode.UNAVAILABLE, 1, 0.0)  # deadline spent
    for code in (grpc.StatusCode.INVALID_ARGUMENT, grpc.StatusCode.DEADLINE_EXCEEDED):
        assert not policy.should_retry(code, 1, 1.0)
