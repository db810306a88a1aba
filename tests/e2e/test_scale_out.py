"""Two service instances against one Redis: one ingests at start, the other starts with no
lists and serves the same snapshot; a later publication (by the one-shot ingester) reaches
both. (The shared result cache and rate limits are built on other branches; when they land,
their cross-instance tests belong beside this one.)"""

from __future__ import annotations

import os
import subprocess
import sys
import time

from screening_client import ScreeningClient
from tests.conftest import copy_lists, start_service

AURUS = "LIMITED LIABILITY COMPANY AURUS"


def test_two_instances_share_one_redis(redis_server, prefix, lists_dir, tmp_path):
    first = copy_lists(lists_dir, tmp_path / "a", "ofac/sdn_2024-02-20.csv")
    ingesting = start_service(redis_server.url, prefix, lists_dir=first)
    follower = start_service(redis_server.url, prefix)  # no lists: reads the snapshot
    try:
        with (
            ScreeningClient(ingesting.target) as a,
            ScreeningClient(follower.target) as b,
        ):
            version = a.get_data_status().data_version
            assert b.get_data_status().data_version == version
            assert all(
                m.entity_id != "ofac-sdn:47956" for m in b.screen_party({"name": AURUS}).matches
            )

            newer = copy_lists(lists_dir, tmp_path / "b", "ofac/sdn_2024-02-23.csv")
            subprocess.run(
                [
                    *(sys.executable, "-m", "screening.cli", "ingest"),
                    *("--redis-url", redis_server.url, "--lists-dir", str(newer)),
                ],
                check=True,
                capture_output=True,
                env={**os.environ, "SCREENING_REDIS_PREFIX": prefix},
            )
            deadline = time.monotonic() + 30
            while True:
                versions = {c.get_data_status().data_version for c in (a, b)}
                if len(versions) == 1 and version not in versions:
                    break
                assert time.monotonic() < deadline, f"not picked up by both: {versions}"
                time.sleep(0.2)
            for client in (a, b):
                top = client.screen_party({"name": AURUS}).matches[0]
                assert (top.entity_id, top.designation_date) == ("ofac-sdn:47956", "2024-02-23")
    finally:
        follower.stop()
        ingesting.stop()
