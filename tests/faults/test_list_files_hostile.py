"""Fault 1: hostile list files. Each case starts a real `screening serve` on a real Redis,
with one hostile file among good lists, over a key prefix that already holds good data for
the hostile file's source (the last good publication).

Before: the xlsx with a DOCTYPE entity or an entity bomb in sharedStrings aborted the whole
ingest (an uncaught stdlib ParseError under openpyxl); the xlsx with a 1 GiB shared string
was parsed (3.6 GB resident, 106 s) and its 1 GiB name went live; the xlsx declaring
A1:XFD1048576 with one far cell ran for more than 3 minutes; the ODS with a malformed
number-columns-repeated aborted ingest with ValueError and `serve` never opened its port;
the list file whose name holds a byte that is not UTF-8 aborted ingest (UnicodeEncodeError).

Now: the port opens, the other sources publish, the hostile file is rejected alone with its
reason in the JSON log, its source keeps its last good data, and the parse that rejected it
stayed within seconds and a few hundred MB (figures in the fault report).
"""

from __future__ import annotations

import os
import re
import shutil
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.conftest import RedisServer, copy_lists, start_redis, start_service
from tests.faults import hostile_files as hostile
from tests.faults.lists import DPL_LIST, UN_LIST, data_status, log_entries, metric, seed

Builder = Callable[[Path, Path], Path]

# case id -> (builder, source of the hostile file, the good file seeded for that source,
# what the rejection must say)
REJECTED: dict[str, tuple[Builder, str, str, str]] = {
    "xlsx-external-entity": (
        hostile.xlsx_external_entity,
        "uk",
        hostile.CONLIST_CSV,
        "DOCTYPE",
    ),
    "xlsx-entity-bomb": (
        hostile.xlsx_entity_bomb,
        "uk",
        hostile.CONLIST_CSV,
        "DOCTYPE|amplification",
    ),
    "xlsx-1gib-shared-string": (
        hostile.xlsx_huge_shared_string,
        "uk",
        hostile.CONLIST_CSV,
        "bytes unpacked, more than",
    ),
    "xlsx-far-cell": (hostile.xlsx_far_cell, "uk", hostile.CONLIST_CSV, "past the"),
    "ods-bad-repeat": (hostile.ods_bad_repeat, "uk-sl", hostile.FCDO_ODS, "not a count"),
}
# The caps a rejection must stay within, whatever the file (defaults of the service).
MAX_REJECT_SECONDS = 60
MAX_PARSER_RSS_MB = 1024


@pytest.fixture(scope="module")
def redis_server() -> Iterator[RedisServer]:
    server = start_redis()
    yield server
    server.stop()
    shutil.rmtree(server.workdir, ignore_errors=True)


@pytest.mark.parametrize("case", sorted(REJECTED))
def test_hostile_file_rejected_alone(case, redis_server, lists_dir, tmp_path, fault_report):
    build, source, good, reason = REJECTED[case]
    prefix = f"fault-hostile-{case}"
    seed(redis_server.url, prefix, lists_dir, tmp_path, good)
    folder = copy_lists(lists_dir, tmp_path / "lists", UN_LIST, DPL_LIST)
    started = time.perf_counter()
    bad = build(lists_dir, folder)
    built_seconds = time.perf_counter() - started
    service = start_service(redis_server.url, prefix, lists_dir=folder, workers=1)
    try:
        status = data_status(service)
        # The other sources published ...
        assert status["un"].publication_date == "2026-02-27"
        assert status["us-bis-dpl"].entity_count > 500
        # ... the hostile file's source kept its last good publication ...
        kept = status[source]
        assert kept.files == [Path(good).name]
        # ... and the rejection is logged, with its reason and what the parse cost.
        rejections = log_entries(service, "list file rejected")
        [rejected] = [e for e in rejections if e["source"] == source]
        assert rejected["file"] == bad.name
        assert re.search(reason, str(rejected["reason"])), rejected["reason"]
        seconds, rss_mb = float(str(rejected["seconds"])), float(str(rejected["peak_rss_mb"]))
        assert seconds < MAX_REJECT_SECONDS
        assert rss_mb < MAX_PARSER_RSS_MB
        assert metric(service, "screening_refresh_total", source=source, outcome="rejected") == 1
        fault_report(
            file=bad.name,
            bytes_on_disk=bad.stat().st_size,
            built_s=round(built_seconds, 1),
            rejected_after_s=seconds,
            parser_peak_rss_mb=rss_mb,
            kept=f"{source} {kept.publication_date} ({kept.entity_count} entries)",
            reason=str(rejected["reason"])[:120],
        )
    finally:
        service.stop()


def test_undecodable_file_name_is_ingested(redis_server, lists_dir, tmp_path, fault_report):
    """A list under a file name with a byte that is not UTF-8 is read like any other; its
    name is shown with the byte escaped (logs, GetDataStatus)."""
    folder = tmp_path / "lists"
    folder.mkdir()
    bad = hostile.undecodable_name(lists_dir, folder)
    copy_lists(lists_dir, folder, DPL_LIST)
    service = start_service(redis_server.url, "fault-hostile-name", lists_dir=folder, workers=1)
    try:
        status = data_status(service)
        escaped = os.fsencode(bad.name).decode("utf-8", "backslashreplace")
        assert status["un"].files == [escaped]
        assert status["un"].entity_count == 877
        assert status["us-bis-dpl"].entity_count > 500
        fault_report(file=escaped, un_entries=status["un"].entity_count)
    finally:
        service.stop()


def test_serve_opens_with_one_bad_file_among_the_shared_lists(
    redis_server, lists_dir, tmp_path, fault_report
):
    """Every shared list, with the FCDO spreadsheet swapped for one with a malformed
    number-columns-repeated: `serve` opens its port and serves every other source."""
    folder = tmp_path / "lists"
    shutil.copytree(lists_dir, folder)
    (folder / hostile.FCDO_ODS).unlink()
    hostile.ods_bad_repeat(lists_dir, folder / "uk")
    started = time.perf_counter()
    service = start_service(redis_server.url, "fault-hostile-all", lists_dir=folder, workers=1)
    try:
        serving_after = time.perf_counter() - started
        status = data_status(service)
        expected = {"ca-sema", "ofac-cons", "ofac-sdn", "uk", "un", "us-bis-dpl", "us-csl"}
        assert set(status) == expected
        [rejected] = log_entries(service, "list file rejected")
        assert rejected["source"] == "uk-sl" and "not a count" in str(rejected["reason"])
        fault_report(
            serving_after_s=round(serving_after, 1),
            sources_live=len(status),
            rejected=str(rejected["reason"])[:100],
        )
    finally:
        service.stop()
