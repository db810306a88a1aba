"""When `screening serve` is serving: the supervisor asks its own port, as a client would,
and logs `serving` once a worker answers, with the seconds since the command started.

Workers listen only once their index is built, so starting them says nothing about when
calls are answered: on a busy machine that is tens of seconds later. Plaintext ports are
asked with the standard health check (SERVING); a TLS port, whose certificate this process
may not be able to verify, is asked for a TCP connection.
"""

from __future__ import annotations

import logging
import socket
import threading
import time
from pathlib import Path

log = logging.getLogger(__name__)

PROBE_INTERVAL_SECONDS = 0.05
_IMPORTED_AT = time.monotonic()


# Set by a wrapper script that execs `screening serve` in its own process after work of its
# own (deploy/local/serve.sh's set-up): the wall-clock time (epoch seconds) the serve began.
STARTED_AT_ENV = "SCREENING_SERVE_STARTED_AT"


def seconds_since_start() -> float:
    """Seconds since the serve began: the wrapper's mark (STARTED_AT_ENV) if set, else since
    this process started (Linux: its start time since boot), else since this module was
    imported."""
    import os

    mark = os.environ.get(STARTED_AT_ENV, "")
    try:
        return time.time() - float(mark)
    except ValueError:
        pass
    try:
        fields = Path("/proc/self/stat").read_text().rsplit(")", 1)[1].split()
        started = int(fields[19]) / os.sysconf("SC_CLK_TCK")  # field 22: starttime, in ticks
        return time.clock_gettime(time.CLOCK_BOOTTIME) - started
    except (OSError, ValueError, IndexError, AttributeError):
        return time.monotonic() - _IMPORTED_AT


def probe_address(host: str, port: int) -> str:
    """Where to ask: the bound address, or loopback for a wildcard."""
    if host in ("", "0.0.0.0"):
        host = "127.0.0.1"
    elif host in ("::", "[::]"):
        host = "[::1]"
    elif ":" in host and not host.startswith("["):
        host = f"[{host}]"
    return f"{host}:{port}"


def answers(address: str, tls: bool, timeout: float = 1.0) -> bool:
    """Does a worker answer on `address`: SERVING to a health check (plaintext), or a TCP
    connection accepted (TLS). A port nobody listens on yet is told by a refused connection,
    without a gRPC channel (the supervisor asks every PROBE_INTERVAL_SECONDS while the index
    is built: a channel each time cost it CPU the build could use)."""
    host, _, port = address.rpartition(":")
    try:
        with socket.create_connection((host.strip("[]"), int(port)), timeout=timeout):
            if tls:
                return True
    except OSError:
        return False
    import grpc
    from grpc_health.v1 import health_pb2, health_pb2_grpc

    # A connection of its own each time: never one that an earlier refusal left waiting.
    with grpc.insecure_channel(address, options=[("grpc.use_local_subchannel_pool", 1)]) as ch:
        try:
            reply = health_pb2_grpc.HealthStub(ch).Check(
                health_pb2.HealthCheckRequest(), timeout=timeout
            )
        except grpc.RpcError:
            return False
    return bool(reply.status == health_pb2.HealthCheckResponse.SERVING)


class ServingProbe(threading.Thread):
    """Asks the port until it answers, then logs `serving` once (a thread of the
    supervisor, so its watch over the workers goes on meanwhile)."""

    def __init__(self, host: str, port: int, *, tls: bool, workers: int) -> None:
        super().__init__(name="serving-probe", daemon=True)
        self.address = probe_address(host, port)
        self.bound = f"{host}:{port}"
        self.tls = tls
        self.workers = workers
        self._stop = threading.Event()
        self.answered_after: float | None = None

    def stop(self) -> None:
        self._stop.set()

    def run(self) -> None:
        while not self._stop.is_set():
            if answers(self.address, self.tls):
                self.answered_after = seconds_since_start()
                log.info(
                    "serving",
                    extra={
                        "address": self.bound,
                        "startup_seconds": round(self.answered_after, 2),
                        "workers": self.workers,
                        "probe": "tcp connect" if self.tls else "health check",
                    },
                )
                return
            self._stop.wait(PROBE_INTERVAL_SECONDS)
