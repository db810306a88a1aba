"""runtime/reuseport.py without a service: the program's shape, and the cases where the kernel's
hash stays (the round robin itself is tested end to end in tests/e2e/test_connection_spread.py)."""

from __future__ import annotations

import socket
import struct

import pytest

from screening.runtime.reuseport import (
    BPF_PSEUDO_MAP_FD,
    attach_round_robin,
    listening_sockets,
    round_robin_program,
)


def _listening(reuseport: bool = True) -> socket.socket:
    sock = socket.socket()
    if reuseport:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    sock.bind(("127.0.0.1", 0))
    sock.listen()
    return sock


def test_program_refers_to_its_map_and_workers():
    program = round_robin_program(map_fd=7, sockets=3)
    slots = [struct.unpack("<BBhi", program[i : i + 8]) for i in range(0, len(program), 8)]
    loads = [s for s in slots if s[0] == 0x18]
    assert loads == [(0x18, (BPF_PSEUDO_MAP_FD << 4) | 1, 0, 7)]
    assert (0x97, 1, 0, 3) in slots  # r1 %= 3
    assert slots[-1][0] == 0x95 and sum(s[0] == 0x95 for s in slots) == 2  # two exits
    with pytest.raises(ValueError):
        round_robin_program(map_fd=7, sockets=0)


def test_only_listening_sockets_of_the_port_are_found():
    with _listening() as listener, _listening() as other:
        port = listener.getsockname()[1]
        with socket.create_connection(("127.0.0.1", port)):
            found = listening_sockets(port)
        assert found and all(fd != other.fileno() for fd in found)
        assert listener.fileno() in found


def test_the_hash_stays_where_there_is_nothing_to_balance():
    with _listening() as listener:
        port = listener.getsockname()[1]
        one = attach_round_robin(port, 1)
        assert (one.mode, one.sockets, one.reason) == ("hash", 1, "one worker")
    unused = attach_round_robin(port, 2)  # closed now
    assert unused.mode == "hash" and "no listening socket" in unused.reason
