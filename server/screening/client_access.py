"""How the CLI's own client commands (`status`, `eval`) reach a secured service: TLS with a
CA, a client certificate for mutual TLS, a bearer token from an environment variable."""

from __future__ import annotations

import argparse
import os
from dataclasses import dataclass
from pathlib import Path

import grpc


@dataclass(frozen=True)
class ClientAccess:
    ca_file: Path | None = None
    cert_file: Path | None = None
    key_file: Path | None = None
    token: str = ""

    @classmethod
    def from_args(cls, args: argparse.Namespace) -> ClientAccess:
        if bool(args.cert_file) != bool(args.key_file):
            # gRPC aborts the process on a key without its certificate (or the reverse).
            raise SystemExit("--cert-file and --key-file go together")
        if args.cert_file and not args.ca_file:
            raise SystemExit("--cert-file needs --ca-file (the CA of the server's certificate)")
        return cls(args.ca_file, args.cert_file, args.key_file, os.environ.get(args.token_env, ""))

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

    def channel(self, target: str) -> grpc.Channel:
        credentials = self.credentials()
        if credentials is None:
            return grpc.insecure_channel(target)
        return grpc.secure_channel(target, credentials)

    def aio_channel(self, target: str) -> grpc.aio.Channel:
        credentials = self.credentials()
        if credentials is None:
            return grpc.aio.insecure_channel(target)
        return grpc.aio.secure_channel(target, credentials)


def add_access_flags(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--ca-file", type=Path, help="TLS: the CA of the server's certificate")
    parser.add_argument("--cert-file", type=Path, help="mutual TLS: client certificate (PEM)")
    parser.add_argument("--key-file", type=Path, help="mutual TLS: client private key (PEM)")
    parser.add_argument(
        "--token-env",
        default="SCREENING_TOKEN",
        help="environment variable holding a bearer token (default SCREENING_TOKEN)",
    )
