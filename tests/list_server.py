"""A local HTTP server that plays the authorities' download sites for refresh tests.

It serves the shared list files under names of our choosing (`route`), honours conditional
requests (ETag / If-None-Match, Last-Modified / If-Modified-Since) like a real CDN, and can
misbehave on purpose, per route:

  ok        the file, with validators; 304 when the client's validators still match
  nocond    the file, no validators, never 304 (a server that ignores conditional requests)
  truncated the first half of the file's bytes, sent whole (the file itself is cut off)
  cut       announces the whole length, sends half, and closes the connection
  error     HTTP 500
  hang      accepts the request and never answers (until the server stops)
  half      the first half of the file's lines (a publication with half its entries)

Bounded: it listens on 127.0.0.1 only, and a hanging request is released when the server
stops (or after 60 s).
"""

from __future__ import annotations

import email.utils
import hashlib
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path


@dataclass
class Request:
    path: str
    headers: dict[str, str]
    status: int


@dataclass
class ListServer:
    root: Path
    routes: dict[str, tuple[str, str]] = field(default_factory=dict)
    requests: list[Request] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._closing = threading.Event()
        self._lock = threading.Lock()
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: object) -> None:  # keep test output clean
                pass

            def do_GET(self) -> None:
                server._handle(self)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.port = self.httpd.server_address[1]
        self._thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def start(self) -> ListServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._closing.set()
        self.httpd.shutdown()
        self.httpd.server_close()
        self._thread.join(10)

    def route(self, name: str, file: str, mode: str = "ok") -> str:
        """Serve `file` (relative to root) at /name in `mode`; returns its URL."""
        with self._lock:
            self.routes[name] = (mode, file)
        return self.url(name)

    def url(self, name: str) -> str:
        return f"http://127.0.0.1:{self.port}/{name}"

    def hits(self, name: str) -> list[Request]:
        with self._lock:
            return [r for r in self.requests if r.path == f"/{name}"]

    # -- serving -------------------------------------------------------------------------

    def _record(self, handler: BaseHTTPRequestHandler, status: int) -> None:
        with self._lock:
            self.requests.append(Request(handler.path, dict(handler.headers.items()), status))

    def _handle(self, handler: BaseHTTPRequestHandler) -> None:
        with self._lock:
            mode, file = self.routes.get(handler.path.lstrip("/"), ("missing", ""))
        if mode == "missing":
            self._send(handler, 404, b"not found")
            return
        if mode == "error":
            self._send(handler, 500, b"internal error")
            return
        if mode == "hang":
            self._record(handler, 0)
            self._closing.wait(60)
            return
        path = self.root / file
        body = path.read_bytes()
        if mode == "truncated":
            self._send(handler, 200, body[: len(body) // 2])
            return
        if mode == "half":
            lines = body.splitlines(keepends=True)
            self._send(handler, 200, b"".join(lines[: len(lines) // 2]))
            return
        if mode == "cut":
            self._record(handler, 200)
            handler.send_response(200)
            handler.send_header("Content-Length", str(len(body)))
            handler.end_headers()
            handler.wfile.write(body[: len(body) // 2])
            handler.wfile.flush()
            handler.close_connection = True
            return
        if mode == "nocond":
            self._send(handler, 200, body)
            return
        etag = '"' + hashlib.sha256(body).hexdigest()[:16] + '"'
        modified = email.utils.formatdate(path.stat().st_mtime, usegmt=True)
        if handler.headers.get("If-None-Match") == etag or (
            handler.headers.get("If-Modified-Since") == modified
            and not handler.headers.get("If-None-Match")
        ):
            self._send(handler, 304, b"", {"ETag": etag, "Last-Modified": modified})
            return
        self._send(handler, 200, body, {"ETag": etag, "Last-Modified": modified})

    def _send(
        self,
        handler: BaseHTTPRequestHandler,
        status: int,
        body: bytes,
        headers: dict[str, str] | None = None,
    ) -> None:
        self._record(handler, status)
        handler.send_response(status)
        for key, value in (headers or {}).items():
            handler.send_header(key, value)
        if status != 304:
            handler.send_header("Content-Length", str(len(body)))
        handler.end_headers()
        if status != 304:
            handler.wfile.write(body)
