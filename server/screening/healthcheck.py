"""`python -m screening.healthcheck [host:port]`: exit 0 when the service answers SERVING on
the standard gRPC health service, 1 otherwise. The container image's HEALTHCHECK uses it (an
orchestrator with native gRPC probes, such as Kubernetes, asks the health service directly).

When the server it runs beside serves TLS (SCREENING_TLS_CERT_FILE is set), it connects with
TLS: SCREENING_HEALTHCHECK_CA_FILE is the CA that signed the server's certificate (required),
SCREENING_HEALTHCHECK_CERT_FILE / _KEY_FILE a client certificate for mutual TLS, and
SCREENING_HEALTHCHECK_SERVER_NAME the name to check the certificate against when it does not
cover the address. SCREENING_HEALTHCHECK_TOKEN is sent as a bearer token (health protected).
"""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping
from pathlib import Path

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc

TIMEOUT_SECONDS = 3.0


def _channel(target: str, env: Mapping[str, str]) -> grpc.Channel:
    if not env.get("SCREENING_TLS_CERT_FILE"):
        return grpc.insecure_channel(target)
    ca = env.get("SCREENING_HEALTHCHECK_CA_FILE")
    if not ca:
        raise HealthcheckConfigError(
            "the server serves TLS: set SCREENING_HEALTHCHECK_CA_FILE to the CA of its certificate"
        )
    cert, key = (
        env.get("SCREENING_HEALTHCHECK_CERT_FILE"),
        env.get("SCREENING_HEALTHCHECK_KEY_FILE"),
    )
    if bool(cert) != bool(key):
        # gRPC aborts the process on a key without its certificate (or the reverse).
        raise HealthcheckConfigError(
            "a client certificate needs both SCREENING_HEALTHCHECK_CERT_FILE and _KEY_FILE"
        )
    credentials = grpc.ssl_channel_credentials(
        root_certificates=Path(ca).read_bytes(),
        private_key=Path(key).read_bytes() if key else None,
        certificate_chain=Path(cert).read_bytes() if cert else None,
    )
    name = env.get("SCREENING_HEALTHCHECK_SERVER_NAME")
    options = [("grpc.ssl_target_name_override", name)] if name else []
    return grpc.secure_channel(target, credentials, options)


class HealthcheckConfigError(Exception):
    pass


def check(target: str, service: str = "", env: Mapping[str, str] | None = None) -> bool:
    env = os.environ if env is None else env
    try:
        channel = _channel(target, env)
    except (HealthcheckConfigError, OSError) as exc:
        print(f"unhealthy: {exc}", file=sys.stderr)
        return False
    token = env.get("SCREENING_HEALTHCHECK_TOKEN")
    metadata = (("authorization", f"Bearer {token}"),) if token else ()
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
    target = args[0] if args else f"127.0.0.1:{os.environ.get('SCREENING_PORT', '50051')}"
    return 0 if check(target) else 1


if __name__ == "__main__":
    sys.exit(main())
