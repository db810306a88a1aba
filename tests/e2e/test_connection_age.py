"""SCREENING_MAX_CONNECTION_AGE_SECONDS: a client's connection is replaced as it ages (so the
kernel hashes it to a worker afresh), without failing a call or cutting an open stream."""

from __future__ import annotations

import itertools
import json
import time

import grpc

from screening.v1 import screening_pb2 as pb
from screening.v1 import screening_pb2_grpc as pb_grpc
from tests.conftest import copy_lists, start_service


def test_aged_connections_are_replaced_without_failing_calls(
    redis_server, prefix, lists_dir, tmp_path
):
    lists = copy_lists(lists_dir, tmp_path / "lists", "un/UN_consolidated_2025-04-19.xml")
    svc = start_service(
        redis_server.url,
        prefix,
        lists_dir=lists,
        workers=2,
        env={"SCREENING_MAX_CONNECTION_AGE_SECONDS": "0.5"},
    )
    try:
        with grpc.insecure_channel(svc.target) as channel:
            stub = pb_grpc.ScreeningServiceStub(channel)
            # A stream opened on the first connection must outlive that connection's age.
            watch = stub.WatchAlerts(pb.WatchAlertsRequest())
            calls = 0
            deadline = time.monotonic() + 4
            while time.monotonic() < deadline:
                response = stub.ScreenParty(
                    pb.ScreenPartyRequest(party=pb.Party(name=f"Maria Lopez {calls}")),
                    timeout=10,
                )
                assert response.screening_id
                calls += 1
                time.sleep(0.05)
            assert not watch.done(), "the open stream was cut when its connection aged"
            watch.cancel()

        # Each call's audit record names the client address it came from: one channel made
        # its calls over several connections, one after another.
        client = redis_server.client()
        deadline = time.monotonic() + 10
        while True:
            records = [json.loads(f[b"r"]) for _, f in client.xrange(f"{{{prefix}}}:audit")]
            if len(records) >= calls or time.monotonic() > deadline:
                break
            time.sleep(0.1)
        assert len(records) == calls
        # Screening ids are time-ordered (calls are 50 ms apart); the two workers' records
        # reach the stream in batches of their own.
        peers = [r["peer"] for r in sorted(records, key=lambda r: r["screening_id"])]
        changes = sum(1 for a, b in itertools.pairwise(peers) if a != b)
        # 4 s at an age of 0.5 s (grpc adds +-10% jitter): about 7 replacements.
        assert len(set(peers)) >= 4, f"connection not replaced as it aged: {sorted(set(peers))}"
        # Replaced one at a time: never back to an old connection once a new one is in use.
        assert changes == len(set(peers)) - 1, peers
    finally:
        svc.stop()
