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


def test_a_second_host_fetches_the_index_the_first_built(redis_server, prefix, lists_dir, tmp_path):
    # Each service has a data directory, and so an index directory, of its own: two hosts.
    shared = {"SCREENING_INDEX_SHARE_KEY": "the hosts' secret"}
    lists = copy_lists(lists_dir, tmp_path / "a", "ofac/sdn_2024-02-20.csv")
    first = start_service(redis_server.url, prefix, lists_dir=lists, env=shared)
    second = None
    try:
        deadline = time.monotonic() + 30
        while "index file shared" not in first.logs():
            assert time.monotonic() < deadline, first.logs()[-3000:]
            time.sleep(0.1)
        assert "index file built" in first.logs()

        second = start_service(redis_server.url, prefix, workers=2, env=shared)
        logs = second.logs()
        assert "index file fetched from redis" in logs, logs[-3000:]
        assert "index file built" not in logs and "building index" not in logs
        with ScreeningClient(first.target) as a, ScreeningClient(second.target) as b:
            answers = [c.screen_party({"name": "Banco Nacional de Cuba"}) for c in (a, b)]
            assert answers[0].data_version == answers[1].data_version
            assert [m.entity_id for m in answers[0].matches] == [
                m.entity_id for m in answers[1].matches
            ]
            assert answers[1].matches[0].entity_id == "ofac-sdn:306"
    finally:
        if second is not None:
            second.stop()
        first.stop()
