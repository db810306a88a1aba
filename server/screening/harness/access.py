"""How the CLI's own client commands (`status`, `screen`, `eval`...) reach a service: its
address, and for a secured one TLS with a CA, a client certificate for mutual TLS, a bearer
token from an environment variable."""

from __future__ import annotations

import argparse
import os
from dataclasses import dataclass
from pathlib import Path

import grpc

from screening.config import DEFAULT_CLIENT_TARGET, client_target


@dataclass(frozen=True)
class ClientAccess:
    """Without `ca_file`: plaintext. `server_name`: the name to check the server's
    certificate against when it does not cover the address dialled."""

    ca_file: Path | None = None
    cert_file: Path | None = None
    key_file: Path | None = None
    token: str = ""
    server_name: str = ""

    def __post_init__(self) -> None:
        if bool(self.cert_file) != bool(self.key_file):
            # gRPC aborts the process on a key without its certificate (or the reverse).
            raise ValueError("a client certificate needs both its certificate and key files")
        if self.cert_file and not self.ca_file:
            raise ValueError("a client certificate needs the CA of the server's certificate")

    @classmethod
    def from_args(cls, args: argparse.Namespace) -> ClientAccess:
        try:
            return cls(
                args.ca_file, args.cert_file, args.key_file, os.environ.get(args.token_env, "")
            )
        except ValueError as exc:
            raise SystemExit(f"{exc} (--ca-file, --cert-file, --key-file)") from exc

    def credentials(self) -> grpc.ChannelCredentials | None:
        """None: plaintext."""
        if self.ca_file is None:
            return None
        return grpc.ssl_channel_credentials(
            root_certificates=self.ca_file.read_bytes(),
            private_key=self.key_file.read_bytes() if self.key_file else None,
            certificate_chain=self.cert_file.read_bytes() if self.cert_file else None,
        )

    @property
    def metadata(self) -> tuple[tuple[str, str], ...]:
        return (("authorization", f"Bearer {self.token}"),) if self.token else ()

    @property
    def options(self) -> list[tuple[str, str]]:
        return [("grpc.ssl_target_name_override", self.server_name)] if self.server_name else []

    def channel(self, target: str) -> grpc.Channel:
        credentials = self.credentials()
        if credentials is None:
            return grpc.insecure_channel(target)
        return grpc.secure_channel(target, credentials, self.options)

    def aio_channel(self, target: str) -> grpc.aio.Channel:
        credentials = self.credentials()
        if credentials is None:
            return grpc.aio.insecure_channel(target)
        return grpc.aio.secure_channel(target, credentials, self.options)


def add_target_flag(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--target",
        default=client_target(),
        help=f"server host:port (default: $SCREENING_TARGET, else {DEFAULT_CLIENT_TARGET})",
    )


def add_access_flags(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--ca-file", type=Path, help="TLS: the CA of the server's certificate")
    parser.add_argument("--cert-file", type=Path, help="mutual TLS: client certificate (PEM)")
    parser.add_argument("--key-file", type=Path, help="mutual TLS: client private key (PEM)")
    parser.add_argument(
        "--token-env",
        default="SCREENING_TOKEN",
        help="environment variable holding a bearer token (default SCREENING_TOKEN)",
    )
