"""`python -m screening.cli.healthcheck [host:port]`: exit 0 when the service answers SERVING on
the standard gRPC health service, 1 otherwise. The container image's HEALTHCHECK uses it (an
orchestrator with native gRPC probes, such as Kubernetes, asks the health service directly).

When the server it runs beside serves TLS (SCREENING_TLS_CERT_FILE is set), it connects with
TLS: SCREENING_HEALTHCHECK_CA_FILE is the CA that signed the server's certificate (required),
SCREENING_HEALTHCHECK_CERT_FILE / _KEY_FILE a client certificate for mutual TLS, and
SCREENING_HEALTHCHECK_SERVER_NAME the name to check the certificate against when it does not
cover the address. SCREENING_HEALTHCHECK_TOKEN is sent as a bearer token (health protected).
"""

from __future__ import annotations

import sys
from collections.abc import Mapping
from pathlib import Path

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc

from screening.config import HealthcheckSettings
from screening.harness.access import ClientAccess

TIMEOUT_SECONDS = 3.0


def _access(settings: HealthcheckSettings) -> ClientAccess:
    token = settings.token
    if not settings.server_tls:
        return ClientAccess(token=token)
    if not settings.ca_file:
        raise HealthcheckConfigError(
            "the server serves TLS: set SCREENING_HEALTHCHECK_CA_FILE to the CA of its certificate"
        )
    cert, key = settings.cert_file, settings.key_file
    try:
        return ClientAccess(
            Path(settings.ca_file),
            Path(cert) if cert else None,
            Path(key) if key else None,
            token,
            settings.server_name,
        )
    except ValueError as exc:
        raise HealthcheckConfigError(f"{exc} (SCREENING_HEALTHCHECK_CERT_FILE, _KEY_FILE)") from exc


class HealthcheckConfigError(Exception):
    pass


def check(target: str, service: str = "", env: Mapping[str, str] | None = None) -> bool:
    try:
        access = _access(HealthcheckSettings.from_env(env))
        channel = access.channel(target)
    except (HealthcheckConfigError, OSError) as exc:
        print(f"unhealthy: {exc}", file=sys.stderr)
        return False
    metadata = access.metadata
    with channel:
        try:
            reply = health_pb2_grpc.HealthStub(channel).Check(
                health_pb2.HealthCheckRequest(service=service),
                timeout=TIMEOUT_SECONDS,
                metadata=metadata,
            )
        except grpc.RpcError as exc:
            print(f"unhealthy: {exc.code().name}", file=sys.stderr)
            return False
    serving = reply.status == health_pb2.HealthCheckResponse.SERVING
    if not serving:
        print(f"unhealthy: {health_pb2.HealthCheckResponse.ServingStatus.Name(reply.status)}")
    return serving


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    target = args[0] if args else f"127.0.0.1:{HealthcheckSettings.from_env().port}"
    return 0 if check(target) else 1


if __name__ == "__main__":
    sys.exit(main())
