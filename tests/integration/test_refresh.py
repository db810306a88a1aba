"""Refresh from a local HTTP server playing the authorities' sites, into a real Redis.

Every failure (truncated file, cut-off transfer, HTTP 500, a server that never answers, a
publication with half its entries) must leave the live snapshot as it was, and be counted,
logged and recorded in the source's refresh status.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path

import pytest
from prometheus_client import REGISTRY

from screening.sources.refresh import RefreshOptions, RefreshScheduler, refresh, targets
from screening.store.connection import connect
from screening.store.snapshots import ListStore
from tests.list_server import ListServer

UN_FILE = "un/UN_consolidated_2026-02-27.xml"
DPL_FILE = "bis/dpl_2022-09.txt"


@pytest.fixture(scope="module")
def list_server(lists_dir: Path) -> Iterator[ListServer]:
    server = ListServer(lists_dir).start()
    yield server
    server.stop()


@pytest.fixture
def store(redis_server, prefix) -> ListStore:
    return ListStore(connect(redis_server.url), prefix)


def refreshes(source: str, outcome: str) -> float:
    value = REGISTRY.get_sample_value(
        "screening_refresh_total", {"source": source, "outcome": outcome}
    )
    return value or 0.0


def run(store: ListStore, fmt: str, urls: dict[str, str], **options: float):
    return refresh(store, targets([fmt], urls), RefreshOptions(**options))  # type: ignore[arg-type]


def test_first_refresh_publishes_then_not_modified(store, list_server, prefix):
    url = list_server.route(f"{prefix}/un.xml", UN_FILE)
    before = refreshes("un", "published")
    first = run(store, "un-xml", {"un-xml": url})
    item = first.sources[0]
    assert (item.source, item.outcome, item.entities) == ("un", "published", 1003)
    assert item.publication_date == "2026-02-27"  # from the file's dateGenerated
    assert refreshes("un", "published") == before + 1
    manifest = store.manifest()
    assert manifest.sources["un"].entity_count == 1003
    assert first.data_version == manifest.version

    second = run(store, "un-xml", {"un-xml": url})
    assert second.sources[0].outcome == "unchanged"
    assert "304" in second.sources[0].detail
    last = list_server.hits(f"{prefix}/un.xml")[-1]
    assert last.status == 304 and last.headers.get("If-None-Match")
    assert store.current_version() == manifest.version
    status = store.refresh_status("un")
    assert status["last_outcome"].startswith("unchanged")
    assert status["last_success_at"] == status["last_attempt_at"]


def test_same_content_without_validators_is_not_parsed_again(store, list_server, prefix):
    url = list_server.route(f"{prefix}/un.xml", UN_FILE, mode="nocond")
    assert run(store, "un-xml", {"un-xml": url}).sources[0].outcome == "published"
    version = store.current_version()
    second = run(store, "un-xml", {"un-xml": url}).sources[0]
    assert second.outcome == "unchanged"
    assert second.detail == "same content as the last accepted download"
    assert second.entities == 0  # not parsed
    assert store.current_version() == version


def test_companion_files_are_fetched_with_the_main_file(store, list_server, prefix):
    urls = {
        "ofac-cons-csv": list_server.route(f"{prefix}/cons_prim", "ofac/cons_prim_2025-12.csv"),
    }
    for name in ("add", "alt", "comments"):
        urls[f"ofac-cons-csv:cons_{name}.csv"] = list_server.route(
            f"{prefix}/cons_{name}", f"ofac/cons_{name}_2025-12.csv"
        )
    item = run(store, "ofac-cons-csv", urls).sources[0]
    assert (item.outcome, item.entities) == ("published", 442)
    entities = {e.id: e for e in store.entities(store.manifest(), "ofac-cons")}
    assert "HANIYA, Ismail" in {a.full for a in entities["ofac-cons:9639"].aliases}  # alt.csv
    assert entities["ofac-cons:9641"].addresses[0].city == "Gaza"  # add.csv


@pytest.mark.parametrize(
    ("mode", "outcome", "reason"),
    [
        ("truncated", "rejected", "truncated or malformed"),
        ("cut", "failed", "RemoteProtocolError"),
        ("error", "failed", "HTTP 500"),
        ("hang", "failed", "timed out"),
        ("half", "rejected", "drops 291 of 581"),
    ],
)
def test_bad_download_leaves_live_data(store, list_server, prefix, caplog, mode, outcome, reason):
    good = list_server.route(f"{prefix}/dpl-good", DPL_FILE)
    assert run(store, "us-bis-dpl-txt", {"us-bis-dpl-txt": good}).sources[0].outcome == "published"
    version = store.current_version()
    live = store.entities(store.manifest(), "us-bis-dpl")
    counted = refreshes("us-bis-dpl", outcome)

    bad = list_server.route(f"{prefix}/dpl-{mode}", DPL_FILE, mode=mode)
    with caplog.at_level(logging.WARNING, logger="screening.sources.refresh"):
        result = run(store, "us-bis-dpl-txt", {"us-bis-dpl-txt": bad}, timeout=1.0)

    item = result.sources[0]
    assert item.outcome == outcome, item.detail
    assert reason in item.detail
    assert not result.ok
    assert store.current_version() == version
    assert store.entities(store.manifest(), "us-bis-dpl") == live
    assert refreshes("us-bis-dpl", outcome) == counted + 1
    logged = [r for r in caplog.records if r.getMessage().startswith("list refresh failed")]
    assert logged and getattr(logged[-1], "source", "") == "us-bis-dpl"
    status = store.refresh_status("us-bis-dpl")
    assert status["last_outcome"].startswith(outcome) and reason in status["last_error"]


def test_rejected_download_is_tried_again_not_taken_as_unchanged(store, list_server, prefix):
    """Validators of a rejected file are not kept: the next round fetches and judges again."""
    name = f"{prefix}/dpl"
    list_server.route(name, DPL_FILE)
    url = list_server.url(name)
    run(store, "us-bis-dpl-txt", {"us-bis-dpl-txt": url})
    list_server.route(name, DPL_FILE, mode="half")
    assert run(store, "us-bis-dpl-txt", {"us-bis-dpl-txt": url}).sources[0].outcome == "rejected"
    assert run(store, "us-bis-dpl-txt", {"us-bis-dpl-txt": url}).sources[0].outcome == "rejected"


def test_another_replica_holding_the_lock_skips_the_round(store, list_server, prefix):
    url = list_server.route(f"{prefix}/un.xml", UN_FILE)
    lock = store.redis.lock(store.keys.ingest_lock, timeout=30)
    assert lock.acquire(blocking=False)
    try:
        result = run(store, "un-xml", {"un-xml": url})
    finally:
        lock.release()
    assert [s.outcome for s in result.sources] == ["skipped"]
    assert list_server.hits(f"{prefix}/un.xml") == []
    assert store.manifest() is None


def test_replicas_share_one_schedule(store):
    one = RefreshScheduler(store, [], RefreshOptions(), interval=30)
    two = RefreshScheduler(store, [], RefreshOptions(), interval=30)
    assert one._claim() is True
    assert two._claim() is False
    assert store.redis.ttl(store.keys.refresh_last_run) > 0


def test_change_report_from_refresh_lists_aurus(store, list_server, prefix):
    def urls(main: str) -> dict[str, str]:
        out = {"ofac-sdn-csv": list_server.route(f"{prefix}/{main}", f"ofac/{main}")}
        for name in ("add", "alt", "sdn_comments"):
            out[f"ofac-sdn-csv:{name}.csv"] = list_server.route(
                f"{prefix}/{name}", f"ofac/{name}_2025-12.csv"
            )
        return out

    assert run(store, "ofac-sdn-csv", urls("sdn_2024-02-20.csv")).sources[0].outcome == (
        "published"
    )
    second = run(store, "ofac-sdn-csv", urls("sdn_2024-02-23.csv")).sources[0]
    assert second.outcome == "published" and second.entities == 14484
    report = store.change_reports("ofac-sdn", 1)[0]
    added = {c.entity_id: c.name for c in report.added}
    assert added["ofac-sdn:47956"] == "LIMITED LIABILITY COMPANY AURUS"
