"""Who can reach the service: it listens on loopback unless told otherwise, and beyond
loopback without TLS only when that is asked for by name, the way Redis's protected mode
refuses outside clients until it is switched off.

`screening serve` checks this before starting anything: a port on another interface in
plaintext (gRPC's "insecure" port, the metrics' plain HTTP) is refused, naming the settings
that allow it; with SCREENING_ALLOW_INSECURE_NETWORK it starts and warns loudly in its log.
"""

from __future__ import annotations

import ipaddress
import logging
import socket
from dataclasses import dataclass

from screening.config import Settings
from screening.runtime.metrics_server import WebConfig

log = logging.getLogger(__name__)


class InsecureExposure(RuntimeError):
    """A plaintext port beyond loopback, not allowed."""


@dataclass(frozen=True)
class Listener:
    name: str  # "gRPC", "metrics"
    host: str
    port: int
    tls: bool

    @property
    def address(self) -> str:
        return f"{self.host}:{self.port}"


def is_loopback(host: str) -> bool:
    """Does `host` (an address or a name) mean this machine only? The wildcards ("",
    0.0.0.0, ::) mean every interface; a name counts only if all its addresses are loopback."""
    if host in ("", "*"):
        return False
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        pass
    try:
        addresses = {info[4][0] for info in socket.getaddrinfo(host, None)}
    except OSError:
        return False  # cannot tell: treat it as reachable from elsewhere
    return bool(addresses) and all(
        ipaddress.ip_address(str(a).split("%")[0]).is_loopback for a in addresses
    )


def listeners(settings: Settings) -> list[Listener]:
    """The ports `screening serve` opens to the network."""
    found = [Listener("gRPC", settings.host, settings.port, settings.tls_enabled)]
    if settings.metrics_port:
        # The metrics port binds to SCREENING_METRICS_HOST (by default loopback, or the gRPC
        # host when that is a named interface) and speaks TLS when its web config says so.
        metrics_tls = WebConfig.load(settings.metrics_web_config_file).tls is not None
        found.append(
            Listener("metrics", settings.metrics_bind_host, settings.metrics_port, metrics_tls)
        )
    return found


def check_exposure(settings: Settings) -> list[Listener]:
    """The plaintext ports beyond loopback: refused (InsecureExposure) unless
    allow_insecure_network is set, and then each logged as a warning."""
    exposed = [p for p in listeners(settings) if not p.tls and not is_loopback(p.host)]
    if not exposed:
        return []
    where = ", ".join(f"{p.name} on {p.address}" for p in exposed)
    if not settings.allow_insecure_network:
        raise InsecureExposure(
            f"refusing to listen beyond loopback without TLS ({where}): anyone who reaches "
            "it could screen names and read the lists, unencrypted. Listen on 127.0.0.1 "
            "(the default), or give the port TLS (SCREENING_TLS_CERT_FILE and "
            "SCREENING_TLS_KEY_FILE), or, on a network you trust to do that job (a container "
            "network, a service mesh that adds TLS), set SCREENING_ALLOW_INSECURE_NETWORK=1 "
            "(serve --allow-insecure-network)"
        )
    for port in exposed:
        log.warning(
            "LISTENING BEYOND LOOPBACK WITHOUT TLS: anyone who can reach this address can "
            "screen names and read the lists, and everything sent is readable on the way. "
            "Allowed by SCREENING_ALLOW_INSECURE_NETWORK; keep it behind a network that "
            "encrypts or restricts, or give the port TLS",
            extra={"listener": port.name, "address": port.address},
        )
    return exposed
