"""Fault 3: a refresh round in which a later source is bad. `screening refresh` (a real
process) fetches the UN list and then the FCDO spreadsheet from a local HTTP server playing
the authorities' sites, into a real Redis.

Before: the malformed spreadsheet raised out of the round (ValueError), so the UN list,
staged just before it, was never published, yet its validators (ETag, content hash) were
stored: every later round got "not modified" for it and the UN list never went live.

Now: each source stands alone and validators are stored only once the round's snapshot is
published: the UN list is live after the first round; the spreadsheet is rejected with its
reason and nothing of it is remembered, so the next round, served a good file, publishes it.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

from screening.store.connection import connect
from screening.store.snapshots import ListStore
from tests.conftest import copy_lists, start_redis
from tests.faults import hostile_files as hostile
from tests.faults.lists import UN_LIST
from tests.list_server import ListServer

PREFIX = "fault-refresh"


def _refresh(redis_url: str, urls: dict[str, str], state_dir: Path) -> tuple[int, str]:
    args = [sys.executable, "-m", "screening.cli", "refresh", "--redis-url", redis_url]
    for fmt, url in urls.items():
        args += ["--format", fmt, "--url", f"{fmt}={url}"]
    env = {
        **os.environ,
        "SCREENING_REDIS_PREFIX": PREFIX,
        "SCREENING_LIST_STATE_DIR": str(state_dir),
    }
    done = subprocess.run(args, capture_output=True, text=True, env=env, timeout=300)
    return done.returncode, done.stdout


def test_refresh_round_with_a_bad_later_source(lists_dir, tmp_path, fault_report):
    served = tmp_path / "served"
    copy_lists(lists_dir, served, UN_LIST)
    (served / "bad").mkdir()
    hostile.ods_bad_repeat(lists_dir, served / "bad")
    copy_lists(lists_dir, served / "good", hostile.FCDO_ODS)
    redis_server = start_redis()
    server = ListServer(served).start()
    try:
        store = ListStore(connect(redis_server.url), PREFIX)
        ods_name = Path(hostile.FCDO_ODS).name
        urls = {
            "un-xml": server.route("un", Path(UN_LIST).name),
            "uk-sl-ods": server.route("ods", f"bad/{ods_name}"),
        }
        # Round 1: the UN list is published; the spreadsheet after it is rejected.
        code, out = _refresh(redis_server.url, urls, tmp_path / "state")
        assert code == 1, out
        manifest = store.manifest()
        assert manifest is not None and set(manifest.sources) == {"un"}
        assert store.refresh_status("un")["sha256"]
        ods_status = store.refresh_status("uk-sl")
        assert "not a count" in ods_status["last_error"]
        assert "sha256" not in ods_status and not any(k.startswith("etag:") for k in ods_status)
        round_1 = {line.split()[0]: line.split()[2] for line in out.splitlines()[1:3]}
        # Round 2: the UN list is not modified (304) and stays live; the good spreadsheet
        # is fetched whole (nothing of the bad one was remembered) and published.
        server.route("ods", f"good/{ods_name}")
        code, out = _refresh(redis_server.url, urls, tmp_path / "state")
        assert code == 0, out
        manifest = store.manifest()
        assert manifest is not None and set(manifest.sources) == {"un", "uk-sl"}
        assert manifest.sources["un"].entity_count == 1003
        assert manifest.sources["uk-sl"].entity_count == 5300
        assert server.hits("un")[-1].status == 304
        ods_requests = server.hits("ods")
        assert "If-None-Match" not in ods_requests[-1].headers
        round_2 = {line.split()[0]: line.split()[2] for line in out.splitlines()[1:3]}
        fault_report(
            round_1=round_1,
            round_2=round_2,
            live=sorted(manifest.sources),
        )
    finally:
        server.stop()
        redis_server.stop()
        shutil.rmtree(redis_server.workdir, ignore_errors=True)
