"""runtime/port_guard.py: a port someone listens on is refused, naming the process."""

from __future__ import annotations

import os
import socket

import pytest

from screening.runtime.port_guard import PortInUse, claim_port


def test_a_free_port_is_claimed_and_a_served_one_refused():
    with socket.socket() as listener:
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        listener.bind(("127.0.0.1", 0))
        port = listener.getsockname()[1]
        listener.listen()
        with pytest.raises(PortInUse, match=f"pid {os.getpid()}"):
            claim_port("127.0.0.1", port, 0)
        # A wildcard address conflicts with a listener on one interface too.
        with pytest.raises(PortInUse):
            claim_port("0.0.0.0", port, 0)
    claim_port("127.0.0.1", port, 0)  # gone: free again
