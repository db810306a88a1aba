"""The supervisor's metrics port: Prometheus text over HTTP, or HTTPS and basic auth as the
Prometheus exporters configure them, from a web configuration file (the exporter-toolkit
format, `--web.config.file` of node_exporter and the others):

    tls_server_config:
      cert_file: server.pem           # with key_file: the port speaks TLS only
      key_file: server.key
      client_auth_type: RequireAndVerifyClientCert   # NoClientCert (default),
                                                     # VerifyClientCertIfGiven
      client_ca_file: ca.pem
      min_version: TLS12              # TLS10 .. TLS13
    basic_auth_users:
      prometheus: $2y$10$...          # bcrypt hash of the password

Relative paths are read from the file's directory. prometheus-client serves TLS but has no
basic auth, so this is a small WSGI server around its exposition app: every scrape is checked
before any metric is collected. A bad file stops the service at start, naming the problem.
"""

from __future__ import annotations

import base64
import hashlib
import logging
import socket
import ssl
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

import bcrypt
import yaml
from prometheus_client import CollectorRegistry, make_wsgi_app
from prometheus_client.exposition import ThreadingWSGIServer

log = logging.getLogger(__name__)

_TLS_VERSIONS = {
    "TLS10": ssl.TLSVersion.TLSv1,
    "TLS11": ssl.TLSVersion.TLSv1_1,
    "TLS12": ssl.TLSVersion.TLSv1_2,
    "TLS13": ssl.TLSVersion.TLSv1_3,
}
_CLIENT_AUTH = {
    "NoClientCert": ssl.CERT_NONE,
    "VerifyClientCertIfGiven": ssl.CERT_OPTIONAL,
    "RequireAndVerifyClientCert": ssl.CERT_REQUIRED,
}
_TLS_KEYS = {"cert_file", "key_file", "client_auth_type", "client_ca_file"} | {
    "min_version",
    "max_version",
}
# A scrape's socket gives up after this long idle (a client that connects and says nothing
# holds one thread, not the port).
REQUEST_TIMEOUT_SECONDS = 10.0


class WebConfigError(ValueError):
    """The web configuration file is unusable: the message names what is wrong."""


@dataclass(frozen=True)
class WebConfig:
    tls: ssl.SSLContext | None = None
    users: dict[str, bytes] = field(default_factory=dict)

    @classmethod
    def load(cls, path: Path | None) -> WebConfig:
        if path is None:
            return cls()
        try:
            raw = yaml.safe_load(path.read_text()) or {}
        except (OSError, yaml.YAMLError) as exc:
            raise WebConfigError(f"metrics web config {path}: {exc}") from exc
        if not isinstance(raw, dict):
            raise WebConfigError(f"metrics web config {path}: not a mapping")
        unknown = set(raw) - {"tls_server_config", "basic_auth_users"}
        if unknown:
            raise WebConfigError(f"metrics web config {path}: unknown keys {sorted(unknown)}")
        tls = _tls_context(raw.get("tls_server_config") or {}, path)
        users = raw.get("basic_auth_users") or {}
        if not isinstance(users, dict) or not all(
            isinstance(u, str) and isinstance(h, str) and h.startswith("$2")
            for u, h in users.items()
        ):
            raise WebConfigError(
                f"metrics web config {path}: basic_auth_users maps user names to bcrypt hashes"
            )
        return cls(tls, {user: digest.encode() for user, digest in users.items()})


def _tls_context(config: dict[str, Any], path: Path) -> ssl.SSLContext | None:
    if not isinstance(config, dict):
        raise WebConfigError(f"metrics web config {path}: tls_server_config is not a mapping")
    unknown = set(config) - _TLS_KEYS
    if unknown:
        raise WebConfigError(f"metrics web config {path}: unknown TLS keys {sorted(unknown)}")
    if not config:
        return None
    if not config.get("cert_file") or not config.get("key_file"):
        raise WebConfigError(f"metrics web config {path}: TLS needs cert_file and key_file")

    def file(key: str) -> str:
        return str(path.parent / str(config[key]))

    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    try:
        context.minimum_version = _TLS_VERSIONS[config.get("min_version", "TLS12")]
        if "max_version" in config:
            context.maximum_version = _TLS_VERSIONS[config["max_version"]]
        context.load_cert_chain(file("cert_file"), file("key_file"))
        auth = config.get("client_auth_type", "NoClientCert")
        context.verify_mode = _CLIENT_AUTH[auth]
        if config.get("client_ca_file"):
            context.load_verify_locations(file("client_ca_file"))
        elif auth != "NoClientCert":
            raise WebConfigError(f"metrics web config {path}: {auth} needs client_ca_file")
    except KeyError as exc:
        raise WebConfigError(f"metrics web config {path}: unknown value {exc}") from exc
    except (OSError, ssl.SSLError) as exc:
        raise WebConfigError(f"metrics web config {path}: {exc}") from exc
    return context


class BasicAuth:
    """WSGI middleware: a scrape without the right user and password gets 401."""

    def __init__(self, app: Callable[..., Iterable[bytes]], users: dict[str, bytes]) -> None:
        self.app = app
        self.users = users
        # bcrypt is slow by design (tens of ms): a pair checked once is remembered (by its
        # digest, never in clear) for the scrapes that follow.
        self._verified: set[bytes] = set()
        self._lock = threading.Lock()
        # Compared against when the user is unknown, so that a wrong user costs what a
        # wrong password does. Made here, not at import: the supervisor imports this
        # module on the way to every start, and a hash costs about 55 ms of CPU.
        self._unknown_user_hash = bcrypt.hashpw(b"unknown user", bcrypt.gensalt(rounds=10))

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        if self._allowed(environ.get("HTTP_AUTHORIZATION", "")):
            return self.app(environ, start_response)
        start_response(
            "401 Unauthorized",
            [
                ("WWW-Authenticate", 'Basic realm="screening metrics"'),
                ("Content-Type", "text/plain"),
            ],
        )
        return [b"Unauthorized\n"]

    def _allowed(self, header: str) -> bool:
        scheme, _, encoded = header.partition(" ")
        if scheme.lower() != "basic":
            return False
        try:
            user, sep, password = base64.b64decode(encoded.strip(), validate=True).partition(b":")
        except ValueError:
            return False
        if not sep:
            return False
        name = user.decode(errors="replace")
        stored = self.users.get(name)
        key = hashlib.sha256(b"\0".join((user, password, stored or b""))).digest()
        with self._lock:
            if stored is not None and key in self._verified:
                return True
        good = bcrypt.checkpw(password, stored or self._unknown_user_hash) and stored is not None
        if good:
            with self._lock:
                self._verified.add(key)
        return good


class _QuietHandler(WSGIRequestHandler):
    timeout = REQUEST_TIMEOUT_SECONDS

    def setup(self) -> None:
        if isinstance(self.request, ssl.SSLSocket):
            self.request.do_handshake()
        super().setup()

    def log_message(self, format: str, *args: Any) -> None:
        """Scrapes are not logged (the access log of a metrics port is noise)."""


class _TLSServer(ThreadingWSGIServer):
    """Handshakes in the request's thread, not in the accepting one: a client that connects
    and stalls its handshake holds one thread, never the port."""

    context: ssl.SSLContext

    def get_request(self) -> tuple[socket.socket, Any]:
        conn, address = self.socket.accept()
        conn.settimeout(REQUEST_TIMEOUT_SECONDS)
        wrapped = self.context.wrap_socket(conn, server_side=True, do_handshake_on_connect=False)
        return wrapped, address

    def handle_error(self, request: Any, client_address: Any) -> None:
        """A failed handshake (plain HTTP, an unknown client certificate) is the client's
        problem: logged at DEBUG, not as a trace on stderr."""
        log.debug("metrics request failed", extra={"client": str(client_address)}, exc_info=True)


def serve_metrics(
    registry: CollectorRegistry, host: str, port: int, config: WebConfig
) -> WSGIServer:
    """Serve `registry` on host:port from a daemon thread; returns the server."""
    app: Callable[..., Iterable[bytes]] = make_wsgi_app(registry)
    if config.users:
        app = BasicAuth(app, config.users)
    server_class: type[ThreadingWSGIServer] = ThreadingWSGIServer
    if config.tls is not None:
        server_class = type("MetricsTLSServer", (_TLSServer,), {"context": config.tls})
    if ":" in host:
        server_class = type("MetricsServer6", (server_class,), {"address_family": socket.AF_INET6})
    server = make_server(host.strip("[]"), port, app, server_class, handler_class=_QuietHandler)
    threading.Thread(target=server.serve_forever, name="metrics", daemon=True).start()
    log.info(
        "metrics serving",
        extra={
            "host": host,
            "port": port,
            "tls": config.tls is not None,
            "basic_auth": bool(config.users),
        },
    )
    return server
