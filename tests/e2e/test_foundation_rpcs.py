"""ScreenParty, CompareParties, GetEntity, GetDataStatus, ListChanges over real gRPC."""

from __future__ import annotations

import grpc
import pytest
from google.rpc import error_details_pb2
from grpc_status import rpc_status

from screening.v1 import screening_pb2 as pb


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


def test_aurus_is_first_with_first_seen_date(stub):
    reply = stub.ScreenParty(
        pb.ScreenPartyRequest(party=pb.Party(name="LIMITED LIABILITY COMPANY AURUS")), timeout=10
    )
    top = reply.matches[0]
    assert top.entity_id == "ofac-sdn:47956"
    assert top.source == "ofac-sdn" and top.source_ref == "47956"
    assert "RUSSIA-EO14024" in top.programs
    assert top.designation_date == "2024-02-23"
    assert top.designation_date_basis == pb.DESIGNATION_DATE_BASIS_FIRST_SEEN
    assert top.score >= 0.95
    assert reply.decision == pb.DECISION_BLOCK
    assert reply.data_version and reply.screening_id
    assert any(c.feature == "name" for c in top.explanation)


def test_eric_badege_has_official_un_date(stub):
    reply = stub.ScreenParty(
        pb.ScreenPartyRequest(
            party=pb.Party(name="ERIC BADEGE", entity_type=pb.ENTITY_TYPE_PERSON)
        ),
        timeout=10,
    )
    un = [m for m in reply.matches if m.entity_id == "un:CDi.001"]
    assert un, [m.entity_id for m in reply.matches]
    assert un[0].designation_date == "2012-12-31"
    assert un[0].designation_date_basis == pb.DESIGNATION_DATE_BASIS_OFFICIAL


def test_innocent_name_is_clear(stub):
    reply = stub.ScreenParty(
        pb.ScreenPartyRequest(
            party=pb.Party(
                name="Rebecca Grethe Schou",
                entity_type=pb.ENTITY_TYPE_PERSON,
                birth_date="1956-03-16",
            )
        ),
        timeout=10,
    )
    assert reply.decision == pb.DECISION_CLEAR
    assert list(reply.matches) == []
    assert reply.risk_score == 0


def test_min_score_and_source_filter(stub):
    reply = stub.ScreenParty(
        pb.ScreenPartyRequest(party=pb.Party(name="Aurus"), min_score=0.5, sources=["un"]),
        timeout=10,
    )
    assert all(m.source == "un" for m in reply.matches)
    assert all(m.score >= 0.5 for m in reply.matches)
    assert reply.min_score == pytest.approx(0.5)


@pytest.mark.parametrize(
    ("party", "extra", "field"),
    [
        (pb.Party(name=""), {}, "party.name"),
        (pb.Party(name="   "), {}, "party.name"),
        (pb.Party(name="Xavier Ortiz", country="XX"), {}, "party.country"),
        (pb.Party(name="Xavier Ortiz", country="Russia"), {}, "party.country"),
        (pb.Party(name="Xavier Ortiz", birth_date="1965-13-01"), {}, "party.birth_date"),
        (pb.Party(name="Xavier Ortiz", birth_date="17/04/1965"), {}, "party.birth_date"),
        (pb.Party(name="x" * 5000), {}, "party.name"),
        (pb.Party(name="Xavier Ortiz", aliases=["y" * 5000]), {}, "party.aliases[0]"),
        (pb.Party(name="Xavier Ortiz"), {"min_score": 1.5}, "min_score"),
        (pb.Party(name="Xavier Ortiz"), {"sources": ["no-such-list"]}, "sources[0]"),
        (
            pb.Party(name="Xavier Ortiz", identifiers=[pb.Identifier(type="IMO!", value="1")]),
            {},
            "party.identifiers[0].type",
        ),
    ],
)
def test_invalid_party_is_rejected_with_field(stub, party, extra, field):
    with pytest.raises(grpc.RpcError) as info:
        stub.ScreenParty(pb.ScreenPartyRequest(party=party, **extra), timeout=10)
    assert info.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert field in bad_fields(info.value)


def test_missing_party_is_rejected(stub):
    with pytest.raises(grpc.RpcError) as info:
        stub.ScreenParty(pb.ScreenPartyRequest(), timeout=10)
    assert info.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "party" in bad_fields(info.value)


def test_several_bad_fields_are_all_named(stub):
    with pytest.raises(grpc.RpcError) as info:
        stub.ScreenParty(
            pb.ScreenPartyRequest(party=pb.Party(name="", country="ZZ", birth_date="nope")),
            timeout=10,
        )
    assert {"party.name", "party.country", "party.birth_date"} <= set(bad_fields(info.value))


def test_compare_parties(stub):
    same = stub.CompareParties(
        pb.ComparePartiesRequest(
            left=pb.Party(name="VLADIMIR PUTIN"), right=pb.Party(name="PUTIN, Vladimir")
        ),
        timeout=10,
    )
    assert same.is_match and same.score >= 0.95
    assert same.explanation
    other = stub.CompareParties(
        pb.ComparePartiesRequest(
            left=pb.Party(name="Octavian Scholz", entity_type=pb.ENTITY_TYPE_PERSON),
            right=pb.Party(name="Olaf Scholz", entity_type=pb.ENTITY_TYPE_PERSON),
        ),
        timeout=10,
    )
    assert not other.is_match and other.score < same.score


def test_compare_requires_both_sides(stub):
    with pytest.raises(grpc.RpcError) as info:
        stub.CompareParties(pb.ComparePartiesRequest(left=pb.Party(name="a")), timeout=10)
    assert info.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "right" in bad_fields(info.value)


def test_get_entity(stub):
    reply = stub.GetEntity(pb.GetEntityRequest(entity_id="ofac-sdn:47956"), timeout=10)
    entity = reply.entity
    assert entity.name == "LIMITED LIABILITY COMPANY AURUS"
    assert entity.first_seen == "2024-02-23"
    assert {(i.type, i.value) for i in entity.identifiers} >= {("tax_id", "7743237789")}
    assert entity.entity_type == pb.ENTITY_TYPE_ORGANIZATION


def test_get_entity_errors(stub):
    with pytest.raises(grpc.RpcError) as info:
        stub.GetEntity(pb.GetEntityRequest(entity_id="ofac-sdn:999999999"), timeout=10)
    assert info.value.code() == grpc.StatusCode.NOT_FOUND
    with pytest.raises(grpc.RpcError) as info:
        stub.GetEntity(pb.GetEntityRequest(entity_id=""), timeout=10)
    assert info.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "entity_id" in bad_fields(info.value)


def test_data_status_counts(stub):
    reply = stub.GetDataStatus(pb.GetDataStatusRequest(), timeout=10)
    by_source = {s.source: s for s in reply.sources}
    assert by_source["ofac-sdn"].entity_count == 14965
    assert by_source["ofac-sdn"].publication_date == "2024-05-03"
    assert by_source["un"].entity_count == 1003
    assert by_source["un"].publication_date == "2026-02-27"
    assert all(s.staleness_seconds > 0 for s in reply.sources)
    assert reply.data_version


def test_list_changes_report_aurus_addition(stub):
    reply = stub.ListChanges(pb.ListChangesRequest(source="ofac-sdn", limit=10), timeout=10)
    by_date = {p.publication_date: p for p in reply.publications}
    assert "ofac-sdn:47956" in {c.entity_id for c in by_date["2024-02-23"].added}
    assert by_date["2024-02-23"].previous_version.startswith("2024-02-20/")


def test_unimplemented_until_their_issue_or_implemented(stub):
    """ScreenShipment answers (UNIMPLEMENTED before its issue lands, a decision after)."""
    try:
        reply = stub.ScreenShipment(
            pb.ScreenShipmentRequest(parties=[pb.Party(name="Aurus LLC")]), timeout=10
        )
        assert reply.decision != pb.DECISION_UNSPECIFIED
    except grpc.RpcError as exc:
        assert exc.code() in (grpc.StatusCode.UNIMPLEMENTED, grpc.StatusCode.INVALID_ARGUMENT)
