"""Ingest into a real Redis: first-seen history, live publication, rejection of bad files."""

from __future__ import annotations

import gc
import shutil
from pathlib import Path

import pytest

from screening.model.entities import DateBasis
from screening.sources.ingest import ingest_directory
from screening.store.connection import connect
from screening.store.snapshots import ListStore


def lists_subset(tmp_path: Path, lists_dir: Path, *names: str, sub: str = "set") -> Path:
    target = tmp_path / sub
    target.mkdir(parents=True, exist_ok=True)
    for name in names:
        shutil.copy(lists_dir / name, target / Path(name).name)
    return target


@pytest.fixture
def store(redis_server, prefix) -> ListStore:
    return ListStore(connect(redis_server.url), prefix)


def entity(store: ListStore, entity_id: str):
    manifest = store.manifest()
    assert manifest is not None
    source = entity_id.split(":")[0]
    found = [e for e in store.entities(manifest, source) if e.id == entity_id]
    return found[0] if found else None


def test_first_seen_across_publications(store, lists_dir, tmp_path):
    first = lists_subset(tmp_path, lists_dir, "ofac/sdn_2024-02-20.csv", sub="a")
    ingest_directory(store, first)
    assert entity(store, "ofac-sdn:47956") is None
    second = lists_subset(tmp_path, lists_dir, "ofac/sdn_2024-02-23.csv", sub="b")
    result = ingest_directory(store, second)
    aurus = entity(store, "ofac-sdn:47956")
    assert aurus.designation_date == "2024-02-23"
    assert aurus.designation_date_basis == DateBasis.FIRST_SEEN
    assert aurus.first_seen == "2024-02-23"
    assert aurus.absent_from == "2024-02-20"
    assert aurus.designation() == "first listed 2024-02-23 (not on the list of 2024-02-20)"
    # An entry present in both keeps the older date, and as the earliest publication held
    # holds it, that date is only an upper bound.
    old = entity(store, "ofac-sdn:306")
    assert old.first_seen == "2024-02-20"
    assert (old.designation_date, old.designation_date_basis) == (
        "2024-02-20",
        DateBasis.NOT_LATER_THAN,
    )
    assert old.designation() == "listed on or before 2024-02-20"
    assert result.manifest.sources["ofac-sdn"].publication_date == "2024-02-23"
    report = store.change_reports("ofac-sdn", 1)[0]
    assert "ofac-sdn:47956" in {c.entity_id for c in report.added}


def test_one_directory_applies_oldest_first(store, lists_dir, tmp_path):
    both = lists_subset(tmp_path, lists_dir, "ofac/sdn_2024-02-23.csv", "ofac/sdn_2024-02-20.csv")
    result = ingest_directory(store, both)
    assert result.manifest.sources["ofac-sdn"].publication_date == "2024-02-23"
    assert result.manifest.sources["ofac-sdn"].entity_count == 14484
    assert entity(store, "ofac-sdn:47956").first_seen == "2024-02-23"


def test_older_publication_later_updates_history_only(store, lists_dir, tmp_path):
    newer = lists_subset(tmp_path, lists_dir, "ofac/sdn_2024-02-23.csv", sub="new")
    ingest_directory(store, newer)
    assert entity(store, "ofac-sdn:306").first_seen == "2024-02-23"
    # Only one publication held: nothing held lacked AURUS, so its date is a bound.
    aurus = entity(store, "ofac-sdn:47956")
    assert aurus.designation_date_basis == DateBasis.NOT_LATER_THAN
    assert aurus.designation() == "listed on or before 2024-02-23"
    older = lists_subset(tmp_path, lists_dir, "ofac/sdn_2024-02-20.csv", sub="old")
    result = ingest_directory(store, older)
    assert result.manifest.sources["ofac-sdn"].publication_date == "2024-02-23"
    assert entity(store, "ofac-sdn:306").first_seen == "2024-02-20"
    assert entity(store, "ofac-sdn:306").designation_date_basis == DateBasis.NOT_LATER_THAN
    # The older publication lacked AURUS: now it is known to have been added between them.
    aurus = entity(store, "ofac-sdn:47956")
    assert (aurus.designation_date_basis, aurus.absent_from) == (
        DateBasis.FIRST_SEEN,
        "2024-02-20",
    )


def test_history_from_before_held_publications_were_recorded(store, lists_dir, tmp_path):
    """A Redis whose history predates the record of held publications: the first-seen dates
    stand in for it, so the earliest publication still reads as an upper bound."""
    both = lists_subset(tmp_path, lists_dir, "ofac/sdn_2024-02-20.csv", "ofac/sdn_2024-02-23.csv")
    ingest_directory(store, both)
    store.redis.delete(store.keys.held("ofac-sdn"))
    newest = lists_subset(tmp_path, lists_dir, "ofac/sdn_2024-05-03.csv", sub="newest")
    ingest_directory(store, newest)
    assert store.held_publications("ofac-sdn") == ["2024-02-20", "2024-02-23", "2024-05-03"]
    assert entity(store, "ofac-sdn:306").designation_date_basis == DateBasis.NOT_LATER_THAN
    assert entity(store, "ofac-sdn:47956").absent_from == "2024-02-20"


def test_official_date_of_an_earlier_format_wins(store, lists_dir, tmp_path):
    """The advanced XML of 2020 states EntryEvent dates; the later sdn.xml-schema file
    states none. Entries the 2020 file held keep its official date; one added since is
    first listed in the later file, which the 2020 file lacked."""
    d = lists_subset(
        tmp_path,
        lists_dir,
        "ofac/cons_advanced_2020-03-17.xml",
        "ofac/CONSOLIDATED_nonSDN_2025-03-28.xml",
    )
    ingest_directory(store, d)
    stated = entity(store, "ofac-cons:9647")
    assert (stated.designation_date, stated.designation_date_basis) == (
        "2006-04-12",
        DateBasis.OFFICIAL,
    )
    assert stated.designation() == "designated 2006-04-12"
    added = [
        e
        for e in store.entities(store.manifest(), "ofac-cons")
        if e.designation_date_basis != DateBasis.OFFICIAL
    ]
    assert added
    assert {(e.designation_date, e.absent_from) for e in added} == {("2025-03-28", "2020-03-17")}
    assert all(e.designation_date_basis == DateBasis.FIRST_SEEN for e in added)


def test_reingest_is_idempotent(store, lists_dir, tmp_path):
    d = lists_subset(tmp_path, lists_dir, "un/UN_consolidated_2026-02-27.xml")
    first = ingest_directory(store, d)
    version = first.manifest.version
    second = ingest_directory(store, d)
    assert second.manifest.version == version
    assert len(store.change_reports("un", 10)) == 1


def test_official_dates_from_un(store, lists_dir, tmp_path):
    d = lists_subset(tmp_path, lists_dir, "un/UN_consolidated_2026-02-27.xml")
    ingest_directory(store, d)
    badege = entity(store, "un:CDi.001")
    assert badege.designation_date == "2012-12-31"
    assert badege.designation_date_basis == DateBasis.OFFICIAL
    assert badege.first_seen == "2026-02-27"


def test_truncated_file_rejected_last_good_stays(store, lists_dir, tmp_path):
    good = lists_subset(tmp_path, lists_dir, "ofac/sdn_2024-02-20.csv", sub="good")
    before = ingest_directory(store, good).manifest
    bad_dir = tmp_path / "bad"
    bad_dir.mkdir()
    raw = (lists_dir / "ofac/sdn_2024-02-23.csv").read_bytes()
    (bad_dir / "sdn_2024-02-23.csv").write_bytes(raw[: len(raw) // 2])
    result = ingest_directory(store, bad_dir)
    assert result.rejected and "sdn_2024-02-23.csv" in result.rejected[0]
    assert store.current_version() == before.version
    assert store.manifest().sources["ofac-sdn"].publication_date == "2024-02-20"


def test_malformed_xml_rejected(store, lists_dir, tmp_path):
    bad_dir = tmp_path / "badxml"
    bad_dir.mkdir()
    raw = (lists_dir / "un/UN_consolidated_2026-02-27.xml").read_bytes()
    (bad_dir / "UN_consolidated_2026-03-01.xml").write_bytes(raw[: len(raw) - 5000])
    result = ingest_directory(store, bad_dir)
    assert result.rejected
    assert store.manifest() is None


def test_publication_dropping_half_is_rejected(store, lists_dir, tmp_path):
    good = lists_subset(tmp_path, lists_dir, "ofac/sdn_2024-02-20.csv", sub="good")
    before = ingest_directory(store, good).manifest
    half_dir = tmp_path / "half"
    half_dir.mkdir()
    lines = (lists_dir / "ofac/sdn_2024-02-23.csv").read_bytes().splitlines(keepends=True)
    (half_dir / "sdn_2024-02-23.csv").write_bytes(b"".join(lines[: len(lines) // 2]))
    result = ingest_directory(store, half_dir)
    assert any("drops" in r for r in result.rejected)
    assert store.current_version() == before.version


def test_unchanged_files_are_not_parsed_again(store, lists_dir, tmp_path):
    """A second ingest of the same files parses nothing: every file's content is held (the
    live publication or history), so the snapshot stays as it was."""
    d = lists_subset(
        tmp_path,
        lists_dir,
        "un/UN_consolidated_2025-04-19.xml",
        "un/UN_consolidated_2026-02-27.xml",
    )
    first = ingest_directory(store, d)
    assert sorted(f.outcome for f in first.files) == ["live", "superseded"]
    second = ingest_directory(store, d)
    assert second.manifest.version == first.manifest.version
    outcomes = {f.file: (f.outcome, f.entities, f.seconds) for f in second.files}
    assert outcomes == {
        "UN_consolidated_2025-04-19.xml": ("unchanged", 0, 0.0),
        "UN_consolidated_2026-02-27.xml": ("unchanged", 1003, 0.0),
    }
    # A new file beside them is parsed and applied; the others still are not.
    shutil.copy(lists_dir / "ofac/cons_prim_2025-12.csv", d)
    for name in ("cons_add_2025-12.csv", "cons_alt_2025-12.csv", "cons_comments_2025-12.csv"):
        shutil.copy(lists_dir / "ofac" / name, d)
    third = ingest_directory(store, d)
    assert {f.file: f.outcome for f in third.files} == {
        "UN_consolidated_2025-04-19.xml": "unchanged",
        "UN_consolidated_2026-02-27.xml": "unchanged",
        "cons_prim_2025-12.csv": "live",
    }


def test_publications_parsed_side_by_side_give_the_same_snapshot(redis_server, lists_dir, tmp_path):
    """Parsing in several processes changes nothing in what is stored (snapshot versions
    are content hashes)."""
    from screening.sources.ingest import apply_filesets
    from screening.sources.registry import discover

    d = lists_subset(
        tmp_path,
        lists_dir,
        "un/UN_consolidated_2025-04-19.xml",
        "un/UN_consolidated_2026-02-27.xml",
        "bis/dpl_2022-09.txt",
        "canada/sema_autonomous_2025.xml",
    )
    versions = []
    for processes in (1, 2):
        store = ListStore(connect(redis_server.url), f"parallel-{processes}-{tmp_path.name}")
        result = apply_filesets(store, discover(d), processes=processes)
        assert not result.rejected
        versions.append(result.manifest.version)
    assert versions[0] == versions[1]


def test_collector_paused_only_while_an_ingest_runs(store, lists_dir, tmp_path):
    """The ingest's objects hold no cycles, so collections would only walk them: the
    collector is off while it runs, back on after (a rejected file included), and left as
    the caller had it."""
    good = lists_subset(tmp_path, lists_dir, "un/UN_consolidated_2025-04-19.xml", sub="good")
    bad = tmp_path / "bad"
    bad.mkdir()
    raw = (lists_dir / "un/UN_consolidated_2026-02-27.xml").read_bytes()
    (bad / "UN_consolidated_2026-02-27.xml").write_bytes(raw[: len(raw) // 2])
    during: list[bool] = []

    def seen(*_: object) -> None:
        during.append(gc.isenabled())

    assert gc.isenabled()
    ingest_directory(store, good, progress=seen)
    assert during == [False]
    assert gc.isenabled()
    assert ingest_directory(store, bad, progress=seen).rejected
    assert during == [False, False]
    assert gc.isenabled()
    gc.disable()
    try:
        ingest_directory(store, good)
        assert not gc.isenabled()
    finally:
        gc.enable()
