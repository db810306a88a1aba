"""Answers an analyst can act on (issue 24), against the session service (every shared list)
and, where a setting must differ, a service of their own: honest designation dates, data age
in every answer, one set of evidence behind decision and score, screening by identifier
alone, names with nothing to screen refused, HS chapters and headings, and JSON that prints
what it means. (The client's own errors: test_client_errors.py.)"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys

import grpc
import pytest
from google.protobuf.json_format import MessageToDict
from grpc_health.v1 import health_pb2, health_pb2_grpc

from screening.harness.console import Exit
from screening.v1 import screening_pb2 as pb
from tests.conftest import start_service
from tests.e2e.test_shipment import bad_fields, consignee, shipment

AURUS = "ofac-sdn:47956"
BOUT = "ofac-sdn:8279"
AURUS_LISTED = "first listed 2024-02-23 (not on the list of 2024-02-20)"
SOURCES = {"ofac-sdn", "ofac-cons", "un", "uk", "uk-sl", "ca-sema", "us-bis-dpl", "us-csl"}


def screen(stub, party: pb.Party, **request) -> pb.ScreenPartyResponse:  # type: ignore[no-untyped-def]
    return stub.ScreenParty(pb.ScreenPartyRequest(party=party, **request), timeout=10)


def refused(stub, party: pb.Party) -> grpc.RpcError:  # type: ignore[no-untyped-def]
    with pytest.raises(grpc.RpcError) as caught:
        screen(stub, party)
    assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    return caught.value


def cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "screening.cli", *args],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


# -- 1. designation dates and their basis, worded the same everywhere ----------------------


def test_entry_in_the_earliest_publication_is_listed_no_later_than(stub):
    """Viktor Bout, designated in 2004, is in the oldest SDN file held (2021-07): the date is
    an upper bound and says so."""
    reply = screen(stub, pb.Party(name="Viktor Bout", entity_type=pb.ENTITY_TYPE_PERSON))
    bout = next(m for m in reply.matches if m.entity_id == BOUT)
    assert bout.designation_date == "2021-07"
    assert bout.designation_date_basis == pb.DESIGNATION_DATE_BASIS_NOT_LATER_THAN
    assert bout.designation_summary == "listed on or before 2021-07"
    assert not bout.absent_from_publication
    entity = stub.GetEntity(pb.GetEntityRequest(entity_id=BOUT), timeout=10).entity
    assert entity.designation_summary == "listed on or before 2021-07"


def test_entry_added_between_held_publications_is_first_listed(stub):
    reply = screen(stub, pb.Party(name="ООО «Аурус»"))
    top = reply.matches[0]
    assert (top.entity_id, top.designation_date) == (AURUS, "2024-02-23")
    assert top.designation_date_basis == pb.DESIGNATION_DATE_BASIS_FIRST_SEEN
    assert top.absent_from_publication == "2024-02-20"
    assert top.designation_summary == AURUS_LISTED


def test_official_dates_are_designated(stub):
    entity = stub.GetEntity(pb.GetEntityRequest(entity_id="un:CDi.001"), timeout=10).entity
    assert entity.designation_date_basis == pb.DESIGNATION_DATE_BASIS_OFFICIAL
    assert entity.designation_summary == "designated 2012-12-31"


def test_shipment_finding_and_cli_word_the_basis_alike(stub, service, tmp_path):
    reply = stub.ScreenShipment(
        shipment(consignee("LIMITED LIABILITY COMPANY AURUS", "RU", "Moscow"), "RU"), timeout=10
    )
    finding = next(f for f in reply.findings if AURUS in f.entity_ids)
    assert AURUS_LISTED in finding.message and AURUS_LISTED in finding.evidence[0]
    party = cli("screen", "ООО «Аурус»", "--target", service.target)
    assert party.returncode == Exit.BLOCK, party.stderr
    assert AURUS_LISTED in party.stdout and "BLOCK, risk 100" in party.stdout
    bout = cli("screen", "Viktor Bout", "--type", "person", "--target", service.target)
    assert "listed on or before 2021-07" in bout.stdout
    path = tmp_path / "shipment.json"
    path.write_text(
        json.dumps(
            MessageToDict(
                shipment(consignee("LIMITED LIABILITY COMPANY AURUS", "RU", "Moscow"), "RU")
            )
        )
    )
    shipped = cli("screen-shipment", str(path), "--target", service.target)
    assert shipped.returncode == Exit.BLOCK, shipped.stderr
    assert AURUS_LISTED in shipped.stdout and "CHPL_GOODS_RUSSIA" in shipped.stdout


# -- 2. data age -------------------------------------------------------------------------


def test_data_status_says_how_old_each_source_is(stub):
    reply = stub.GetDataStatus(pb.GetDataStatusRequest(), timeout=10)
    by_source = {s.source: s for s in reply.sources}
    assert set(by_source) == SOURCES
    sdn = by_source["ofac-sdn"]
    assert sdn.publication_date == "2024-05-03" and sdn.age_days > 900
    assert sdn.max_age_days == 7 and sdn.stale  # the shared files are years old
    assert by_source["ca-sema"].max_age_days == 30
    assert sdn.current_as_of.ToDatetime().date().isoformat() == "2024-05-03"
    assert set(reply.data_age.stale_sources) == SOURCES
    assert reply.data_age.oldest_source == "us-bis-dpl"  # published 2022-09
    assert reply.data_age.oldest_age_days == by_source["us-bis-dpl"].age_days


def test_every_screening_answer_says_how_old_its_data_is(stub):
    party = screen(stub, pb.Party(name="LIMITED LIABILITY COMPANY AURUS"))
    assert "ofac-sdn" in party.data_age.stale_sources
    assert {s.source for s in party.data_age.sources} == SOURCES
    only_un = screen(stub, pb.Party(name="Usama bin Laden"), sources=["un"])
    assert [s.source for s in only_un.data_age.sources] == ["un"]
    assert only_un.data_age.oldest_source == "un" and list(only_un.data_age.stale_sources) == ["un"]
    shipped = stub.ScreenShipment(shipment(consignee("Acme GmbH", "DE"), "DE"), timeout=10)
    assert set(shipped.data_age.stale_sources) == SOURCES
    batch = list(
        stub.ScreenParties(
            iter(
                [pb.ScreenPartiesRequest(request=pb.ScreenPartyRequest(party=pb.Party(name="Ali")))]
            ),
            timeout=10,
        )
    )
    assert batch[0].response.data_age.oldest_age_days > 0


def test_stale_data_is_warned_at_start_and_health_stays_serving(service, channel):
    warned = {
        json.loads(line)["source"]
        for line in service.logs().splitlines()
        if '"list data stale"' in line
    }
    assert warned == SOURCES
    health = health_pb2_grpc.HealthStub(channel).Check(health_pb2.HealthCheckRequest(), timeout=5)
    assert health.status == health_pb2.HealthCheckResponse.SERVING


def test_status_command_reads_at_a_glance(service):
    run = cli("status", "--target", service.target)
    assert run.returncode == 0, run.stderr
    rows = {line.split()[0]: line for line in run.stdout.splitlines() if line.split()}
    assert set(rows) >= SOURCES
    sdn = rows["ofac-sdn"].split()
    # Published 2024-05-03: its age in years, its maximum age (7 days) in days.
    assert sdn[1] == "2024-05-03" and float(sdn[2]) > 2.4 and sdn[3] == "years"
    assert sdn[4:6] == ["7", "days"] and sdn[-1] == "STALE"
    assert "14965" in sdn and "never" in rows["ofac-sdn"]
    assert "STALE: " in run.stdout


def test_maximum_age_is_configurable(redis_server, prefix, lists_dir, tmp_path):
    lists = tmp_path / "lists"
    lists.mkdir()
    shutil.copy(lists_dir / "un" / "UN_consolidated_2026-02-27.xml", lists)
    svc = start_service(
        redis_server.url,
        prefix,
        lists_dir=lists,
        env={"SCREENING_MAX_DATA_AGE_DAYS": json.dumps({"un": 100000})},
    )
    try:
        with grpc.insecure_channel(svc.target) as channel:
            from screening.v1 import screening_pb2_grpc as pb_grpc

            stub = pb_grpc.ScreeningServiceStub(channel)
            status = stub.GetDataStatus(pb.GetDataStatusRequest(), timeout=10)
            assert [(s.source, s.stale, s.max_age_days) for s in status.sources] == [
                ("un", False, 100000)
            ]
            reply = screen(stub, pb.Party(name="Usama bin Laden"))
            assert not reply.data_age.stale_sources and reply.data_age.oldest_source == "un"
        assert '"list data stale"' not in svc.logs()
    finally:
        svc.stop()


# -- 3. one answer, one set of evidence --------------------------------------------------


@pytest.mark.parametrize("name", ["Maria Schneider", "Viktor Bout", "ООО «Аурус»"])
def test_min_score_never_changes_decision_or_risk(stub, name):
    default = screen(stub, pb.Party(name=name))
    for min_score in (0.3, 0.5, 0.9, 0.99, 1.0):
        reply = screen(stub, pb.Party(name=name), min_score=min_score)
        assert (reply.decision, reply.risk_score) == (default.decision, default.risk_score)
        assert all(m.score >= min_score for m in reply.matches)
        # Decision and score agree: CLEAR is 0, otherwise the score is an alert's.
        if reply.decision == pb.DECISION_CLEAR:
            assert reply.risk_score == 0
        else:
            assert reply.risk_score >= 80
    # Below-alert matches shown on request change nothing either. (Two common names score
    # little: the evidence ceiling of issue 22; "Olga Petrova" meets "Olga Petrovna" at 0.45.)
    low = screen(stub, pb.Party(name="Olga Petrova"), min_score=0.3)
    assert low.matches and low.decision == pb.DECISION_CLEAR and low.risk_score == 0


def test_min_score_in_a_batch_and_a_shipment(stub):
    batch = list(
        stub.ScreenParties(
            iter(
                [
                    pb.ScreenPartiesRequest(
                        request=pb.ScreenPartyRequest(
                            party=pb.Party(name="Viktor Bout"), min_score=m
                        )
                    )
                    for m in (0.5, 0.99)
                ]
            ),
            timeout=10,
        )
    )
    assert {(b.response.decision, b.response.risk_score) for b in batch} == {
        (pb.DECISION_REVIEW, 86)
    }
    request = shipment(consignee("LIMITED LIABILITY COMPANY AURUS", "RU", "Moscow"), "RU")
    default = stub.ScreenShipment(request, timeout=10)
    request.min_score = 1.0
    strict = stub.ScreenShipment(request, timeout=10)
    assert (strict.decision, strict.risk_score) == (default.decision, default.risk_score)
    assert [f.code for f in strict.findings] == [f.code for f in default.findings]


# -- 4. screening by identifier alone ----------------------------------------------------


@pytest.mark.parametrize(
    ("identifier", "entity_id"),
    [
        (pb.Identifier(type="tax_id", value="7743237789"), AURUS),
        (pb.Identifier(type="tax_id", value="RU 774-323-7789"), AURUS),  # prefix, dashes
        (pb.Identifier(type="tax_id", value="774 323 7789", country="RU"), AURUS),
        (pb.Identifier(type="registration", value="2696754"), "ofac-sdn:11620"),  # 02696754
        (pb.Identifier(type="imo", value="IMO 9187667"), "ofac-sdn:15038"),
    ],
)
def test_identifier_only_party_is_screened_on_it(stub, identifier, entity_id):
    reply = screen(stub, pb.Party(identifiers=[identifier]))
    assert reply.matches[0].entity_id == entity_id
    assert reply.decision == pb.DECISION_BLOCK and reply.matches[0].score >= 0.99


def test_name_or_identifier_must_be_present(stub):
    error = refused(stub, pb.Party(country="RU"))
    assert bad_fields(error) == ["party.name"]
    assert "name or identifier must be present" in error.details()
    reply = stub.ScreenShipment(
        shipment(
            pb.Party(
                role=pb.PARTY_ROLE_CONSIGNEE,
                identifiers=[pb.Identifier(type="tax_id", value="7743237789")],
            ),
            "RU",
        ),
        timeout=10,
    )
    assert reply.decision == pb.DECISION_BLOCK
    assert reply.party_results[1].matches[0].entity_id == AURUS


# -- 5. names with nothing to screen -----------------------------------------------------


@pytest.mark.parametrize("name", ["X", "N/A", "n.a.", "UNKNOWN", "TBD", "-", "???", "XXX"])
def test_name_with_nothing_to_screen_is_refused(stub, name):
    error = refused(stub, pb.Party(name=name))
    assert bad_fields(error) == ["party.name"]
    assert "nothing to screen" in error.details()


def test_placeholder_name_beside_identifiers_screens_the_identifiers(stub):
    reply = screen(
        stub,
        pb.Party(name="N/A", identifiers=[pb.Identifier(type="tax_id", value="7743237789")]),
    )
    assert [m.entity_id for m in reply.matches] == [AURUS]
    error = refused(stub, pb.Party(name="Viktor Bout", aliases=["-"]))
    assert bad_fields(error) == ["party.aliases[0]"]
    batch = list(
        stub.ScreenParties(
            iter(
                [pb.ScreenPartiesRequest(request=pb.ScreenPartyRequest(party=pb.Party(name="X")))]
            ),
            timeout=10,
        )
    )
    assert [v.field for v in batch[0].error.field_violations] == ["request.party.name"]


# -- 6. goods: chapters and headings; whole messages -------------------------------------


def test_heading_names_the_controlled_subheadings_inside_it(stub):
    request = shipment(
        consignee("Promtekhkomplekt Stolitsa OOO", "RU", "Moscow"),
        "RU",
        goods=[
            pb.GoodsItem(hs_code="8542"),
            pb.GoodsItem(hs_code="94"),
            pb.GoodsItem(hs_code="85"),
        ],
    )
    reply = stub.ScreenShipment(request, timeout=10)
    chpl = {f.goods_line: f for f in reply.findings if f.code == "CHPL_GOODS_RUSSIA"}
    heading = chpl[0]
    assert "heading 8542 contains Common High Priority List subheadings" in heading.message
    for subheading in ("854231 (TIER_1)", "854232 (TIER_1)", "854233 (TIER_1)", "854239 (TIER_1)"):
        assert subheading in heading.message
    assert heading.severity == pb.SEVERITY_CRITICAL and reply.decision == pb.DECISION_BLOCK
    assert 1 not in chpl  # chapter 94 holds no CHPL subheading
    assert "chapter 85" in chpl[2].message


def test_bad_hs_code_message_reaches_the_caller_whole(stub):
    request = shipment(consignee("Acme GmbH", "DE"), "DE", goods=[pb.GoodsItem(hs_code="854")])
    with pytest.raises(grpc.RpcError) as caught:
        stub.ScreenShipment(request, timeout=10)
    description = (
        "must be an HS code of 2, 4 or 6 to 10 digits: a chapter (85), heading (8542), "
        "subheading (854231) or national code (8542.31.00)"
    )
    assert caught.value.details() == f"invalid request: goods[0].hs_code: {description}"


# -- 7. JSON prints what it means --------------------------------------------------------


def test_json_shows_zero_indexes_and_says_none_by_presence(stub):
    request = shipment(
        consignee("LIMITED LIABILITY COMPANY AURUS", "RU", "Moscow"),
        "RU",
        parties=(pb.Party(name="Maria Schneider", role=pb.PARTY_ROLE_NOTIFY_PARTY, country="DE"),),
        goods=[pb.GoodsItem(hs_code="854231"), pb.GoodsItem(hs_code="940510")],
    )
    request.parties[0].country = "KP"  # a finding on party 0
    reply = stub.ScreenShipment(request, timeout=10)
    printed = MessageToDict(reply, preserving_proto_field_name=True)  # defaults left out
    findings = printed["findings"]
    on_party_0 = next(f for f in findings if f["code"] == "EMBARGOED_PARTY_COUNTRY")
    assert on_party_0["party"] == 0 and "goods_line" not in on_party_0
    chpl = [f for f in findings if f["code"] == "CHPL_GOODS_RUSSIA"]
    assert [f["goods_line"] for f in chpl] == [0]  # lamps (940510) are not on the list
    on_goods_0 = next(f for f in chpl if f["goods_line"] == 0)
    assert "party" not in on_goods_0 and "vessel" not in on_goods_0
    aurus = next(f for f in findings if f["code"] == "PARTY_SANCTIONS_MATCH")
    assert aurus["party"] == 1
    assert printed["party_results"][0]["index"] == 0
    # The deprecated sentinels are still sent for clients that read them.
    assert on_goods_0["party_index"] == -1


def test_cli_json_prints_default_values(service):
    run = cli(
        "screen", "Maria Schneider", "--min-score", "0.5", "--json", "--target", service.target
    )
    assert run.returncode == 0, run.stderr
    printed = json.loads(run.stdout)
    assert printed["risk_score"] == 0 and printed["decision"] == "DECISION_CLEAR"
    assert all("contribution" in c for m in printed["matches"] for c in m["explanation"])
    clear = cli("screen", "Hiroshi Tanaka", "--json", "--target", service.target)
    assert json.loads(clear.stdout)["matches"] == []
    status = json.loads(cli("status", "--json", "--target", service.target).stdout)
    assert all("stale" in s and "age_days" in s for s in status["sources"])
