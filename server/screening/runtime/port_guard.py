"""A new instance never shares its port with one already there.

Workers bind with SO_REUSEPORT, so a second instance (or the orphaned workers of a killed
one) on the same port would be let in silently, and the kernel would keep handing new
connections to the oldest sockets of the group: the new instance would start "fine" and
receive nothing, while the old data went on being served. Before starting its workers the
supervisor binds the address itself, without SO_REUSEPORT: that fails while anyone listens
there. Workers of a killed supervisor drain and exit on their own (runtime/lifeline.py), so
the check waits that long for the port to free, then refuses, naming who holds it.
"""

from __future__ import annotations

import contextlib
import errno
import logging
import os
import socket
import time
from pathlib import Path

log = logging.getLogger(__name__)


class PortInUse(RuntimeError):
    """Someone already listens on the port: the message names the processes found."""


def _bind_probe(host: str, port: int) -> bool:
    """True if host:port can be bound without SO_REUSEPORT (nobody listens there)."""
    infos = socket.getaddrinfo(
        host.strip("[]") or None, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE
    )
    for family, kind, proto, _, address in infos:
        with socket.socket(family, kind, proto) as probe:
            # TIME_WAIT leftovers of an earlier run are no obstacle; a listener is.
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                probe.bind(address)
            except OSError as exc:
                if exc.errno == errno.EADDRINUSE:
                    return False
                raise
    return True


def listeners(port: int) -> list[str]:
    """'pid N (command)' of each process with a socket listening on `port`, as far as
    /proc shows them (the processes of other users are not readable)."""
    inodes = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            lines = Path(table).read_text().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            fields = line.split()
            if fields[3] == "0A" and int(fields[1].rpartition(":")[2], 16) == port:
                inodes.add(f"socket:[{fields[9]}]")
    found = []
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            fds = list((proc / "fd").iterdir())
        except OSError:
            continue
        held = set()
        for fd in fds:
            with contextlib.suppress(OSError):  # closed meanwhile
                held.add(os.readlink(fd))
        if held & inodes:
            try:
                command = (proc / "cmdline").read_bytes().replace(b"\0", b" ").decode().strip()
            except OSError:
                command = "?"
            found.append(f"pid {proc.name} ({command[:120]})")
    return found


def claim_port(host: str, port: int, wait_seconds: float) -> None:
    """Return once nobody listens on host:port; raise PortInUse after `wait_seconds`."""
    deadline = time.monotonic() + wait_seconds
    warned = False
    while not _bind_probe(host, port):
        holders = listeners(port)
        if time.monotonic() >= deadline:
            raise PortInUse(
                f"port {port} on {host} is already served by "
                + (", ".join(holders) if holders else "another process")
                + ": another instance, or the workers of one that was killed. Stop them "
                "first; this instance will not share the port with them."
            )
        if not warned:
            log.warning(
                "port in use; waiting for it to be released",
                extra={"port": port, "holders": holders, "wait_seconds": wait_seconds},
            )
            warned = True
        time.sleep(0.5)
