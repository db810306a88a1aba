"""TLS for the gRPC port: a certificate and key make it TLS; a client CA makes it mutual TLS
(every client must present a certificate that CA signed)."""

from __future__ import annotations

import grpc

from screening.config import Settings


class TlsConfigError(ValueError):
    pass


def server_credentials(settings: Settings) -> grpc.ServerCredentials | None:
    """None: plaintext (no certificate configured)."""
    cert, key, ca = settings.tls_cert_file, settings.tls_key_file, settings.tls_client_ca_file
    if cert is None and key is None:
        if ca is not None:
            raise TlsConfigError("tls_client_ca_file needs tls_cert_file and tls_key_file")
        return None
    if cert is None or key is None:
        raise TlsConfigError("TLS needs both tls_cert_file and tls_key_file")
    try:
        chain, private_key = cert.read_bytes(), key.read_bytes()
        client_ca = ca.read_bytes() if ca is not None else None
    except OSError as exc:
        raise TlsConfigError(f"cannot read a TLS file: {exc}") from exc
    return grpc.ssl_server_credentials(
        [(private_key, chain)],
        root_certificates=client_ca,
        require_client_auth=client_ca is not None,
    )
