"""Every shared list, as the session service (all of ../shared/data/lists) serves it."""

from __future__ import annotations

import pytest

from screening.v1 import screening_pb2 as pb

OFFICIAL = pb.DESIGNATION_DATE_BASIS_OFFICIAL
FIRST_SEEN = pb.DESIGNATION_DATE_BASIS_FIRST_SEEN
NOT_LATER_THAN = pb.DESIGNATION_DATE_BASIS_NOT_LATER_THAN


def test_every_source_is_loaded_with_the_file_counts(stub):
    reply = stub.GetDataStatus(pb.GetDataStatusRequest(), timeout=10)
    loaded = {s.source: (s.entity_count, s.publication_date) for s in reply.sources}
    assert loaded == {
        "ofac-sdn": (14965, "2024-05-03"),
        "ofac-cons": (442, "2026-01-08"),
        "un": (1003, "2026-02-27"),
        "uk": (4688, "2025-04-14"),  # Group IDs of ConList (csv and xlsx: one publication)
        "uk-sl": (5300, "2025-08-11"),  # 5,302 rows, 2 without a name
        "ca-sema": (4759, "2025"),
        "us-bis-dpl": (581, "2022-09"),
        "us-csl": (13, "2025-06"),
    }
    assert reply.entity_count == sum(count for count, _ in loaded.values())


@pytest.mark.parametrize(
    ("entity_id", "date", "basis"),
    [
        ("un:CDi.001", "2012-12-31", OFFICIAL),  # LISTED_ON
        ("uk:12703", "2012-06-29", OFFICIAL),  # UK Sanctions List Date Designated
        ("uk-sl:AFG0001", "2012-06-29", OFFICIAL),  # Date Designated
        ("ca-sema:belarus/1-part-1/1", "2020-09-28", OFFICIAL),  # DateOfListing
        # Stated by the advanced XML of 2020; the live consolidated.xml carries no dates.
        ("ofac-cons:9647", "2006-04-12", OFFICIAL),
        ("ofac-sdn:47956", "2024-02-23", FIRST_SEEN),  # sdn.csv: first publication holding it
        # In the earliest SDN publication held (2021-07): listed then or before, no more.
        ("ofac-sdn:8279", "2021-07", NOT_LATER_THAN),
    ],
)
def test_designation_dates_and_basis(stub, entity_id, date, basis):
    entity = stub.GetEntity(pb.GetEntityRequest(entity_id=entity_id), timeout=10).entity
    assert (entity.designation_date, entity.designation_date_basis) == (date, basis)


def test_csl_rows_keep_their_list_and_start_date(stub):
    reply = stub.ScreenParty(
        pb.ScreenPartyRequest(
            party=pb.Party(name="Academy of Aerospace Solid Propulsion Technology"),
            sources=["us-csl"],
        ),
        timeout=10,
    )
    top = reply.matches[0]
    assert top.source == "us-csl" and "MEU" in top.programs
    assert (top.designation_date, top.designation_date_basis) == ("2020-12-23", OFFICIAL)


def test_denied_person_is_found_with_official_date(stub):
    reply = stub.ScreenParty(
        pb.ScreenPartyRequest(
            party=pb.Party(name="Aaron Abraham Villa", entity_type=pb.ENTITY_TYPE_PERSON),
            sources=["us-bis-dpl"],
        ),
        timeout=10,
    )
    top = reply.matches[0]
    assert top.name == "AARON ABRAHAM VILLA"
    assert (top.designation_date, top.designation_date_basis) == ("2022-08-24", OFFICIAL)


def test_uk_alias_quality_is_kept(stub):
    entity = stub.GetEntity(pb.GetEntityRequest(entity_id="uk:13130"), timeout=10).entity
    qualities = {a.name: a.quality for a in entity.aliases}
    assert qualities["Abou IYADH"] == "weak"
    assert qualities["Saifallah BEN HASSINE"] == "strong"


def test_change_history_per_source(stub):
    reply = stub.ListChanges(pb.ListChangesRequest(source="un", limit=10), timeout=10)
    dates = [p.publication_date for p in reply.publications]
    assert {"2025-04-19", "2026-02-27"} <= set(dates)
    newest = next(p for p in reply.publications if p.publication_date == "2026-02-27")
    assert newest.previous_version.startswith("2025-04-19/")
    assert newest.added  # entries listed after April 2025
