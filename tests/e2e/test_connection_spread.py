"""How the workers sharing the port take connections (runtime/reuseport.py, runtime/worker.py):

- new connections go to the workers in turn, so 8 connections over 2 workers split 4/4
  (with the kernel's hash alone, 6 or more land on one worker in 29% of cases);
- a worker starting up (a replacement for one that died) does not listen until its index is
  built, so no new client is left waiting on it while the other worker could answer.

Which worker holds a connection is read from /proc: the socket inodes a worker's process
holds, against the TCP table's entries on the service's port."""

from __future__ import annotations

import json
import os
import signal
import socket
import time
from datetime import datetime
from pathlib import Path

import grpc
import pytest

from screening.runtime.reuseport import attach_round_robin
from screening.v1 import screening_pb2 as pb
from screening.v1 import screening_pb2_grpc as pb_grpc
from tests.conftest import copy_lists, start_service

# Times a replacement worker's listening against its serving (0.25 s) and calls (2 s each).
pytestmark = pytest.mark.serial

TCP_ESTABLISHED = "01"
TCP_LISTEN = "0A"


def _socket_inodes(pid: int) -> set[int]:
    inodes = set()
    for fd in os.listdir(f"/proc/{pid}/fd"):
        try:
            link = os.readlink(f"/proc/{pid}/fd/{fd}")
        except OSError:
            continue
        if link.startswith("socket:["):
            inodes.add(int(link[8:-1]))
    return inodes


def _tcp_inodes(port: int, state: str) -> set[int]:
    """Inodes of the TCP sockets on local `port` in `state` (IPv4 and IPv6 tables)."""
    found = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in Path(table).read_text().splitlines()[1:]:
            fields = line.split()
            if int(fields[1].rsplit(":", 1)[1], 16) == port and fields[3] == state:
                found.add(int(fields[9]))
    return found


def _round_robin_refused_here() -> str:
    """Why this machine would refuse the program (no CAP_BPF...), or '' if it loads it."""
    with socket.socket() as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        probe.bind(("127.0.0.1", 0))
        probe.listen()
        balancing = attach_round_robin(probe.getsockname()[1], 2)
    return balancing.reason if balancing.mode != "round_robin" else ""


def test_new_connections_go_to_the_workers_in_turn(redis_server, prefix, lists_dir, tmp_path):
    refused = _round_robin_refused_here()
    if refused:
        pytest.skip(f"this machine does not load the reuseport program: {refused}")
    lists = copy_lists(lists_dir, tmp_path / "lists", "un/UN_consolidated_2025-04-19.xml")
    service = start_service(redis_server.url, prefix, lists_dir=lists, workers=2)
    channels: list[grpc.Channel] = []
    try:
        pids = service.worker_pids()  # every one serving (start_service)
        serving = service.serving_workers()
        assert {serving[pid]["connection_balancing"] for pid in pids.values()} == {"round_robin"}
        # The supervisor's own readiness probe connects to the port until it logs `serving`:
        # one of its connections among the rounds' takes a turn and skews them by one.
        deadline = time.monotonic() + 30
        while '"msg": "serving"' not in service.logs():
            assert time.monotonic() < deadline, service.logs()[-3000:]
            time.sleep(0.05)
        # Two rounds of 8 new connections (each channel its own), each used for a call.
        for expected in (4, 8):
            for i in range(8):
                channel = grpc.insecure_channel(
                    service.target, options=[("grpc.use_local_subchannel_pool", 1)]
                )
                channels.append(channel)
                reply = pb_grpc.ScreeningServiceStub(channel).ScreenParty(
                    pb.ScreenPartyRequest(party=pb.Party(name=f"Jane Spread {i}")), timeout=10
                )
                assert reply.screening_id
            established = _tcp_inodes(service.port, TCP_ESTABLISHED)
            held = {pid: len(_socket_inodes(pid) & established) for pid in pids.values()}
            assert sorted(held.values()) == [expected, expected], held
    finally:
        for channel in channels:
            channel.close()
        service.stop()


def test_a_starting_worker_listens_only_once_its_index_is_built(
    redis_server, prefix, lists_dir, tmp_path
):
    # A list big enough that a worker's index build takes a while (about a second here).
    lists = copy_lists(lists_dir, tmp_path / "lists", "ofac/sdn_2024-05-03.csv")
    service = start_service(redis_server.url, prefix, lists_dir=lists, workers=2)
    try:
        victim = service.worker_pids()[0]
        os.kill(victim, signal.SIGKILL)
        deadline = time.monotonic() + 60
        looks = 0  # at the replacement while it was up and had not yet said it serves
        first_listening = None  # wall-clock time the replacement was first seen listening
        while True:
            assert time.monotonic() < deadline, "the supervisor did not restore the worker"
            replacement = service.worker_pids().get(0, victim)
            if replacement == victim:
                time.sleep(0.01)
                continue
            try:
                listening = _socket_inodes(replacement) & _tcp_inodes(service.port, TCP_LISTEN)
            except FileNotFoundError:
                pytest.fail("the replacement worker exited")
            if listening and first_listening is None:
                first_listening = time.time()
            if replacement in service.serving_workers():
                break
            looks += 1
        assert looks > 0, "never saw the replacement before it served"
        assert _socket_inodes(replacement) & _tcp_inodes(service.port, TCP_LISTEN)
        if first_listening is None:  # not seen listening before it said it serves
            first_listening = time.time()
        served = service.serving_workers()[replacement]
        build = next(
            json.loads(line)
            for line in service.logs().splitlines()
            if '"index swapped"' in line and json.loads(line)["pid"] == replacement
        )
        served_at = datetime.fromisoformat(served["ts"]).timestamp()
        # It binds, starts and says so within milliseconds; listening during the index
        # build would show up a build's time (here about a second) before that.
        assert first_listening > served_at - 0.25, (
            f"the replacement listened {served_at - first_listening:.2f} s before serving "
            f"(index build {build['build_seconds']} s)"
        )
        # And new clients are answered at once by whichever worker takes them.
        for i in range(8):
            with grpc.insecure_channel(
                service.target, options=[("grpc.use_local_subchannel_pool", 1)]
            ) as channel:
                started = time.monotonic()
                pb_grpc.ScreeningServiceStub(channel).ScreenParty(
                    pb.ScreenPartyRequest(party=pb.Party(name=f"John Restart {i}")), timeout=10
                )
                assert time.monotonic() - started < 2
    finally:
        service.stop()
