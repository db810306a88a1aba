"""The service, unchanged, on real Redis topologies: a three-node Cluster and a Sentinel group
(primary, replica, three sentinels) whose primary fails over while screenings run."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import grpc
import pytest

from screening.index import shared as shared_module
from screening.index.shared import IndexCopies
from screening.store.connection import connect
from screening.store.keys import Keys
from screening.store.snapshots import ListStore
from screening.v1 import screening_pb2 as pb
from screening.v1 import screening_pb2_grpc as pb_grpc
from tests.conftest import copy_lists, start_service
from tests.integration.test_index_sharing import copy_description, random_file
from tests.topologies import Cluster, SentinelGroup, start_cluster, start_sentinel_group

AURUS = "LIMITED LIABILITY COMPANY AURUS"
AURUS_ID = "ofac-sdn:47956"
# Listed in both publications, and innocent names: the screening mix during the failover.
MIX = ["BANCO NACIONAL DE CUBA", "Maria Schneider", "AEROCARIBBEAN AIRLINES", "Hans Gruber"]


def _ingest(redis_url: str, prefix: str, directory: Path) -> None:
    subprocess.run(
        [
            *(sys.executable, "-m", "screening.cli", "ingest"),
            *("--redis-url", redis_url, "--lists-dir", str(directory)),
        ],
        check=True,
        capture_output=True,
        env={**os.environ, "SCREENING_REDIS_PREFIX": prefix},
        timeout=120,
    )


def _screen(stub: pb_grpc.ScreeningServiceStub, name: str) -> pb.ScreenPartyResponse:
    return stub.ScreenParty(pb.ScreenPartyRequest(party=pb.Party(name=name)), timeout=5)


def _connections(target: str, count: int) -> list[grpc.Channel]:
    """Channels on connections of their own: SO_REUSEPORT spreads connections (not calls)
    over the workers, so several connections reach several workers."""
    return [
        grpc.insecure_channel(target, options=[("grpc.use_local_subchannel_pool", 1)])
        for _ in range(count)
    ]


def _wait_for_aurus(stub: pb_grpc.ScreeningServiceStub, timeout: float = 60) -> pb.Match:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            matches = _screen(stub, AURUS).matches
        except grpc.RpcError as exc:
            # A worker building the new index answers late (the build holds the GIL).
            if exc.code() != grpc.StatusCode.DEADLINE_EXCEEDED:
                raise
            continue
        if matches and matches[0].entity_id == AURUS_ID:
            return matches[0]
        time.sleep(0.25)
    pytest.fail("the new snapshot was not picked up")


@pytest.fixture
def cluster() -> Iterator[Cluster]:
    c = start_cluster(3)
    yield c
    c.stop()


@pytest.fixture
def sentinel_group() -> Iterator[SentinelGroup]:
    group = start_sentinel_group()
    yield group
    group.stop()


def test_service_on_redis_cluster(cluster, prefix, lists_dir, tmp_path):
    first = copy_lists(lists_dir, tmp_path / "a", "ofac/sdn_2024-02-20.csv")
    svc = start_service(cluster.url, prefix, lists_dir=first)
    try:
        with grpc.insecure_channel(svc.target) as channel:
            stub = pb_grpc.ScreeningServiceStub(channel)
            assert _screen(stub, "BANCO NACIONAL DE CUBA").decision == pb.DECISION_BLOCK
            assert all(m.entity_id != AURUS_ID for m in _screen(stub, AURUS).matches)

            # Every key of the service hashes to one slot, so it lives on one node and a
            # snapshot switch is one transaction.
            store = ListStore(connect(cluster.url), prefix)
            slots, owners = set(), Counter()
            for node in cluster.nodes:
                client = node.client()
                for key in client.scan_iter(match=f"{Keys(prefix).tag}*", count=1000):
                    slots.add(client.cluster("KEYSLOT", key))
                    owners[node.port] += 1
            assert len(slots) == 1 and len(owners) == 1, (slots, owners)
            assert sum(owners.values()) >= 5  # blob, manifest, current, history, first-seen...
            assert store.current_version()

            # Another process ingests a newer publication through the Cluster URL: the
            # service hears of it (pub/sub or polling through the Cluster client).
            _ingest(
                cluster.url,
                prefix,
                copy_lists(lists_dir, tmp_path / "b", "ofac/sdn_2024-02-23.csv"),
            )
            top = _wait_for_aurus(stub)
            assert top.designation_date == "2024-02-23"
            assert top.designation_date_basis == pb.DESIGNATION_DATE_BASIS_FIRST_SEEN
    finally:
        assert svc.stop() == 0


def test_index_files_shared_through_a_cluster(cluster, prefix, tmp_path, monkeypatch):
    # A shared copy's keys are outside the hash tag, spread over the nodes (tens of
    # megabytes): each command on them names one key, which a Cluster takes.
    monkeypatch.setattr(shared_module, "PART_BYTES", 1000)
    client, keys, key = connect(cluster.url), Keys(prefix), "the hosts' secret"
    built = random_file(tmp_path / "host-a", "abc-123.idx")
    IndexCopies(client, prefix, key).share(built)

    meta = copy_description(client, prefix, built.name)
    written = [keys.index_copy(built.name)]
    written += [keys.index_copy_part(built.name, meta["writer"], n) for n in range(meta["parts"])]
    assert len(written) == 6 and len({client.keyslot(k) for k in written}) > 1
    assert all(client.ttl(k) == -1 for k in written)  # kept for good once whole
    fetched = tmp_path / "host-b" / built.name
    assert IndexCopies(client, prefix, key).fetch(fetched)
    assert fetched.read_bytes() == built.read_bytes()


# Kills the primary and counts failed screenings (5 s deadlines) while sentinels promote.
@pytest.mark.serial
def test_sentinel_failover_during_screenings(sentinel_group, prefix, lists_dir, tmp_path):
    group = sentinel_group
    first = copy_lists(lists_dir, tmp_path / "a", "ofac/sdn_2024-02-20.csv")
    svc = start_service(group.url, prefix, lists_dir=first, workers=2)
    outcomes: Counter[str] = Counter()
    stop = threading.Event()

    def screen_forever() -> None:
        channels = _connections(svc.target, 8)
        stubs = [pb_grpc.ScreeningServiceStub(c) for c in channels]
        i = 0
        while not stop.is_set():
            i += 1
            try:
                reply = _screen(stubs[i % len(stubs)], MIX[i % len(MIX)])
                outcomes["ok" if reply.data_version else "empty"] += 1
            except grpc.RpcError as exc:
                outcomes[f"failed {exc.code().name}"] += 1
        for channel in channels:
            channel.close()

    screener = threading.Thread(target=screen_forever)
    try:
        original = group.master_port()
        assert original == group.primary.port
        # Make sure the replica has everything before the primary dies.
        group.primary.client().execute_command("WAIT", 1, 5000)
        screener.start()
        time.sleep(1.0)
        before_kill = outcomes["ok"]
        group.primary.proc.kill()  # the primary dies hard; sentinels must promote the replica
        deadline = time.monotonic() + 30
        while group.master_port() == original:
            assert time.monotonic() < deadline, "sentinels did not fail over"
            time.sleep(0.1)
        assert group.master_port() == group.replica.port
        failover_at = outcomes["ok"]
        time.sleep(1.0)
        stop.set()
        screener.join(30)
        after_failover = outcomes["ok"]

        # Writes go to the new primary; both workers follow it and load the new snapshot.
        _ingest(group.url, prefix, copy_lists(lists_dir, tmp_path / "b", "ofac/sdn_2024-02-23.csv"))
        channels = _connections(svc.target, 16)
        try:
            stubs = [pb_grpc.ScreeningServiceStub(c) for c in channels]
            top = _wait_for_aurus(stubs[0])
            assert top.designation_date == "2024-02-23"
            # Every worker serves the new snapshot: all connections find AURUS in a row.
            deadline = time.monotonic() + 60
            streak = 0
            while streak < len(stubs):
                assert time.monotonic() < deadline, "a worker did not load the new snapshot"
                try:
                    matches = _screen(stubs[streak], AURUS).matches
                except grpc.RpcError:
                    matches = []
                found = bool(matches) and matches[0].entity_id == AURUS_ID
                streak = streak + 1 if found else 0
            # Those connections did reach both workers (each built its index at its own time).
            built = {
                stub.GetDataStatus(
                    pb.GetDataStatusRequest(), timeout=5
                ).index_loaded_at.ToJsonString()
                for stub in stubs
            }
            assert len(built) == 2, built
        finally:
            for channel in channels:
                channel.close()
    finally:
        stop.set()
        if screener.is_alive():
            screener.join(30)
        logs = svc.logs()
        # Shown by pytest only when the test fails: what the workers said about Redis.
        print(
            "\n".join(
                line
                for line in logs.splitlines()
                if '"level": "warning"' in line or '"level": "error"' in line
            )
        )
        assert svc.stop() == 0
    print(f"screenings during the failover test: {dict(outcomes)}")
    assert set(outcomes) == {"ok"}, f"failed screenings: {dict(outcomes)}"
    # Screened before the kill, while the primary was gone, and after the promotion.
    assert 0 < before_kill < failover_at < after_failover
    assert "redis unavailable" in logs  # the watcher did lose the primary, and came back
