"""Fault 4: the guard against a publication that drops more than 20% of the live entries, on
the embedded default, whose Redis is empty at every start. Three starts of a real `screening
serve` (embedded redis-server, so a new empty Redis each time) share one list state
directory, as a deployment's disk does:

1. the OFAC SDN list of 2024-02-23 and 2024-05-03: live (AURUS, 47956, first seen
   2024-02-23);
2. only a "2024-05-04" file holding the first half of those entries. Before: on the empty
   Redis it went live with 7,483 entries, 7,482 of 14,965 gone. Now: rejected against the last good
   publication kept on disk, which stays live (14,965 entries; AURUS and an entry added on
   2024-05-03 keep their dates and bases);
3. only a "2024-05-10" copy of the full list: it passes the guard and goes live, and the
   first-seen history carries over from disk (AURUS first seen 2024-02-23, not 2024-05-10).
"""

from __future__ import annotations

from pathlib import Path

from tests.conftest import Service, copy_lists, start_service
from tests.faults.lists import data_status, get_entity, log_entries

PREFIX = "fault-shrink"
FULL = "ofac/sdn_2024-05-03.csv"
EARLIER = "ofac/sdn_2024-02-23.csv"
AURUS = "ofac-sdn:47956"


def _serve(lists: Path, state_dir: Path) -> Service:
    return start_service(
        None, PREFIX, lists_dir=lists, workers=1, env={"SCREENING_LIST_STATE_DIR": str(state_dir)}
    )


def _refs(sdn_csv: bytes) -> set[int]:
    return {int(line.split(b",", 1)[0]) for line in sdn_csv.splitlines() if line[:1].isdigit()}


def test_shrink_guard_on_an_empty_redis(lists_dir, tmp_path, fault_report):
    state_dir = tmp_path / "state"
    full = (lists_dir / FULL).read_bytes()
    lines = full.splitlines(keepends=True)
    added = f"ofac-sdn:{min(_refs(full) - _refs((lists_dir / EARLIER).read_bytes()))}"
    # Start 1: two real publications.
    service = _serve(copy_lists(lists_dir, tmp_path / "start1", EARLIER, FULL), state_dir)
    try:
        status = data_status(service)["ofac-sdn"]
        assert (status.publication_date, status.entity_count) == ("2024-05-03", 14965)
        before = get_entity(service, AURUS)
        assert before.first_seen == before.designation_date == "2024-02-23"
        added_before = get_entity(service, added)  # added between the two publications
        assert added_before.first_seen == "2024-05-03"
        assert added_before.absent_from_publication == "2024-02-23"
    finally:
        service.stop()
    # Start 2: a new, empty embedded Redis, and a publication with half the entries.
    half = tmp_path / "start2"
    half.mkdir()
    (half / "sdn_2024-05-04.csv").write_bytes(b"".join(lines[: len(lines) // 2]))
    service = _serve(half, state_dir)
    try:
        status = data_status(service)["ofac-sdn"]
        assert (status.publication_date, status.entity_count) == ("2024-05-03", 14965)
        # The entries say what they said before the start, dates and bases alike.
        assert get_entity(service, AURUS) == before
        assert get_entity(service, added) == added_before
        [rejected] = log_entries(service, "publication rejected")
        assert "drops 7482 of 14965 live entries" in str(rejected["reason"])
        [restored] = log_entries(service, "last good publication restored from disk")
        assert restored["publication"] == "2024-05-03"
        rejected_reason = str(rejected["reason"])
    finally:
        service.stop()
    # Start 3: a full, newer publication passes, and history carries over from disk.
    newer = tmp_path / "start3"
    newer.mkdir()
    (newer / "sdn_2024-05-10.csv").write_bytes(full)
    service = _serve(newer, state_dir)
    try:
        status = data_status(service)["ofac-sdn"]
        assert (status.publication_date, status.entity_count) == ("2024-05-10", 14965)
        after = get_entity(service, AURUS)
        assert after.first_seen == after.designation_date == "2024-02-23"
        assert after.designation_date_basis == before.designation_date_basis
        assert not log_entries(service, "publication rejected")
    finally:
        service.stop()
    fault_report(
        start_2=f"half list rejected ({rejected_reason}); live 2024-05-03 (14965) from disk",
        start_3="2024-05-10 live (14965), AURUS first seen 2024-02-23",
    )
