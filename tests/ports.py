"""Free loopback ports for the services the tests and the load benchmark start."""

from __future__ import annotations

import collections
import os
import random
import socket

# The xdist worker this process is ("gw0", "gw1"...), or "" when pytest runs alone.
_XDIST_WORKER = os.environ.get("PYTEST_XDIST_WORKER", "")

# Ports for xdist workers: each worker draws from a block of its own below the ephemeral
# range, so no two workers are handed the same port while a service builds its index before
# it binds (services bind with SO_REUSEPORT: a shared port would be split silently).
_PORT_BLOCK_START, _PORT_BLOCK_SIZE, _PORT_BLOCKS = 20_000, 1_500, 8
# Its own generator: tests (hypothesis) may seed the module's.
_port_draw = random.SystemRandom()
# Ports handed out lately: a port is free until its taker binds it, which may be seconds
# later (a service builds its index first), so a free port is not handed out twice (a
# service's gRPC and metrics ports are drawn one after the other).
_handed_out: collections.deque[int] = collections.deque(maxlen=_PORT_BLOCK_SIZE // 2)


def free_port() -> int:
    if _XDIST_WORKER.startswith("gw") and _XDIST_WORKER[2:].isdigit():
        low = _PORT_BLOCK_START + (int(_XDIST_WORKER[2:]) % _PORT_BLOCKS) * _PORT_BLOCK_SIZE
        for port in _port_draw.sample(range(low, low + _PORT_BLOCK_SIZE), 200):
            if port in _handed_out:
                continue
            with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
                try:
                    s.bind(("127.0.0.1", port))
                except OSError:
                    continue
            _handed_out.append(port)
            return port
    for _ in range(50):
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
            s.bind(("127.0.0.1", 0))
            port = int(s.getsockname()[1])
        if port not in _handed_out:
            break
    _handed_out.append(port)
    return port
