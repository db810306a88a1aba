"""Channels: plaintext or TLS, with an optional bearer token on every call."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import grpc

# Larger than the default 4 MiB: a batch answer can carry many explained matches.
DEFAULT_OPTIONS: tuple[tuple[str, Any], ...] = (
    ("grpc.max_receive_message_length", 16 * 1024 * 1024),
    ("grpc.keepalive_time_ms", 60_000),
    # Our own retry loop (retry.py) decides; gRPC's built-in one would retry again under it.
    ("grpc.enable_retries", 0),
)


@dataclass(frozen=True)
class ChannelConfig:
    """Where and how to connect.

    `tls`: use TLS; `root_certificates`: PEM bytes or a file path (default: system roots);
    `client_cert` / `client_key`: for mutual TLS; `server_name`: override the name the
    certificate is checked against; `token`: sent as `authorization: Bearer <token>`.
    """

    target: str
    tls: bool = False
    root_certificates: bytes | str | Path | None = None
    client_cert: bytes | str | Path | None = None
    client_key: bytes | str | Path | None = None
    server_name: str | None = None
    token: str | None = None
    options: Sequence[tuple[str, Any]] = field(default_factory=tuple)

    def credentials(self) -> grpc.ChannelCredentials:
        return grpc.ssl_channel_credentials(
            root_certificates=_pem(self.root_certificates),
            private_key=_pem(self.client_key),
            certificate_chain=_pem(self.client_cert),
        )

    def channel_options(self) -> list[tuple[str, Any]]:
        options = list(DEFAULT_OPTIONS) + list(self.options)
        if self.server_name:
            options.append(("grpc.ssl_target_name_override", self.server_name))
        return options

    def metadata(self) -> tuple[tuple[str, str], ...]:
        # Plain metadata rather than call credentials: those are refused on plaintext
        # channels, which a service behind a TLS-terminating proxy or mesh still uses.
        return (("authorization", f"Bearer {self.token}"),) if self.token else ()

    def sync_channel(self) -> grpc.Channel:
        if self.tls:
            return grpc.secure_channel(self.target, self.credentials(), self.channel_options())
        return grpc.insecure_channel(self.target, self.channel_options())

    def async_channel(self) -> grpc.aio.Channel:
        if self.tls:
            return grpc.aio.secure_channel(self.target, self.credentials(), self.channel_options())
        return grpc.aio.insecure_channel(self.target, self.channel_options())


def _pem(value: bytes | str | Path | None) -> bytes | None:
    if value is None or isinstance(value, bytes):
        return value
    return Path(value).read_bytes()
