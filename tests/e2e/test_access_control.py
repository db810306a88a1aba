"""Access control on a real service: mutual TLS, bearer tokens (configured and in Redis),
permissions, open health / protected reflection, per-client rate limits, and the client
identity written into the audit trail."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection_pb2, reflection_pb2_grpc

from screening.api.auth import hash_token
from screening.v1 import screening_pb2 as pb
from screening.v1 import screening_pb2_grpc as pb_grpc
from tests.certs import Authority, write
from tests.conftest import Service, start_service

TOKEN_KEY = "test-pepper"
TOKENS = {
    "trade": "tok-trade-0123456789",
    "analyst": "tok-analyst-0123456789",
    "slow": "tok-slow-01",
}


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    d = tmp_path_factory.mktemp("pki")
    ca, wrong = Authority("screening test CA"), Authority("some other CA")
    server = ca.issue("localhost", server=True)
    client = ca.issue("trade-gateway", server=False)
    stranger = wrong.issue("stranger", server=False)
    return {
        "ca": write(d, "ca.pem", ca.pem),
        "wrong_ca": write(d, "wrong-ca.pem", wrong.pem),
        "server_cert": write(d, "server.pem", server.cert),
        "server_key": write(d, "server.key", server.key),
        "client_cert": write(d, "client.pem", client.cert),
        "client_key": write(d, "client.key", client.key),
        "stranger_cert": write(d, "stranger.pem", stranger.cert),
        "stranger_key": write(d, "stranger.key", stranger.key),
    }


def credentials(pki: dict[str, Path], root: str = "ca", client: str = "client"):  # type: ignore[no-untyped-def]
    return grpc.ssl_channel_credentials(
        root_certificates=pki[root].read_bytes(),
        private_key=pki[f"{client}_key"].read_bytes() if client else None,
        certificate_chain=pki[f"{client}_cert"].read_bytes() if client else None,
    )


@pytest.fixture(scope="module")
def secured(redis_server, lists_dir, pki, tmp_path_factory) -> Iterator[Service]:  # type: ignore[no-untyped-def]
    lists = tmp_path_factory.mktemp("lists")
    shutil.copy(lists_dir / "un" / "UN_consolidated_2025-04-19.xml", lists)
    tokens = [
        {"client": "trade-system", "token_hash": hash_token(TOKENS["trade"], TOKEN_KEY)},
        {
            "client": "analyst-desk",
            "token_hash": hash_token(TOKENS["analyst"], TOKEN_KEY),
            "permissions": ["admin"],
        },
        {
            "client": "slow-client",
            "token_hash": hash_token(TOKENS["slow"], TOKEN_KEY),
            "rate_per_second": 2,
            "burst": 2,
        },
    ]
    env = {
        "SCREENING_TLS_CERT_FILE": str(pki["server_cert"]),
        "SCREENING_TLS_KEY_FILE": str(pki["server_key"]),
        "SCREENING_TLS_CLIENT_CA_FILE": str(pki["ca"]),
        "SCREENING_AUTH_TOKENS": json.dumps(tokens),
        "SCREENING_AUTH_TOKEN_KEY": TOKEN_KEY,
        "SCREENING_AUTH_RELOAD_SECONDS": "0.5",
    }
    prefix = "access-control"
    svc = start_service(redis_server.url, prefix, lists_dir=lists, env=env, wait=False)
    try:
        _wait_serving_tls(svc, pki)
        yield svc
    finally:
        svc.stop()


def _wait_serving_tls(svc: Service, pki: dict[str, Path], timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    with grpc.secure_channel(svc.target, credentials(pki)) as channel:
        health = health_pb2_grpc.HealthStub(channel)
        while time.monotonic() < deadline:
            assert svc.proc.poll() is None, svc.logs()[-3000:]
            try:
                if health.Check(health_pb2.HealthCheckRequest(), timeout=1).status == 1:
                    return
            except grpc.RpcError:
                pass
            time.sleep(0.2)
    raise AssertionError("TLS service not serving")


def _call(svc, pki, token: str | None, method: str = "ScreenParty", **channel_args):  # type: ignore[no-untyped-def]
    metadata = (("authorization", f"Bearer {token}"),) if token else ()
    with grpc.secure_channel(svc.target, credentials(pki, **channel_args)) as channel:
        stub = pb_grpc.ScreeningServiceStub(channel)
        if method == "ScreenParty":
            return stub.ScreenParty(
                pb.ScreenPartyRequest(party=pb.Party(name="Usama bin Laden"), client_ref="ac-1"),
                metadata=metadata,
                timeout=10,
            )
        return stub.ListAcceptances(pb.ListAcceptancesRequest(), metadata=metadata, timeout=10)


def _code(fn) -> grpc.StatusCode:  # type: ignore[no-untyped-def]
    try:
        fn()
    except grpc.RpcError as exc:
        return exc.code()
    return grpc.StatusCode.OK


def test_tokens_and_permissions(secured, pki):
    assert _call(secured, pki, TOKENS["trade"]).matches
    assert _code(lambda: _call(secured, pki, None)) == grpc.StatusCode.UNAUTHENTICATED
    assert _code(lambda: _call(secured, pki, "not-a-token")) == grpc.StatusCode.UNAUTHENTICATED
    assert (
        _code(lambda: _call(secured, pki, TOKENS["trade"], "ListAcceptances"))
        == grpc.StatusCode.PERMISSION_DENIED
    )
    assert _code(lambda: _call(secured, pki, TOKENS["analyst"], "ListAcceptances")) == (
        grpc.StatusCode.OK
    )


def test_tls_refuses_a_wrong_ca_and_a_missing_or_foreign_client_certificate(secured, pki):
    token = TOKENS["trade"]
    assert _code(lambda: _call(secured, pki, token, root="wrong_ca")) == (
        grpc.StatusCode.UNAVAILABLE
    )
    assert _code(lambda: _call(secured, pki, token, client="")) == grpc.StatusCode.UNAVAILABLE
    assert _code(lambda: _call(secured, pki, token, client="stranger")) == (
        grpc.StatusCode.UNAVAILABLE
    )
    with grpc.insecure_channel(secured.target) as plain:
        stub = pb_grpc.ScreeningServiceStub(plain)
        auth = (("authorization", f"Bearer {token}"),)
        code = _code(
            lambda: stub.GetDataStatus(pb.GetDataStatusRequest(), metadata=auth, timeout=5)
        )
        assert code == grpc.StatusCode.UNAVAILABLE


def test_health_open_reflection_protected(secured, pki):
    with grpc.secure_channel(secured.target, credentials(pki)) as channel:
        health = health_pb2_grpc.HealthStub(channel)
        assert health.Check(health_pb2.HealthCheckRequest(), timeout=5).status == 1
        reflection = reflection_pb2_grpc.ServerReflectionStub(channel)

        def list_services(metadata=()):  # type: ignore[no-untyped-def]
            request = reflection_pb2.ServerReflectionRequest(list_services="")
            replies = reflection.ServerReflectionInfo(iter([request]), metadata=metadata, timeout=5)
            return list(replies)

        assert _code(list_services) == grpc.StatusCode.UNAUTHENTICATED
        answers = list_services((("authorization", f"Bearer {TOKENS['trade']}"),))
        names = {s.name for s in answers[0].list_services_response.service}
        assert "screening.v1.ScreeningService" in names


def test_rate_limit_per_client(secured, pki):
    codes = [_code(lambda: _call(secured, pki, TOKENS["slow"])) for _ in range(8)]
    assert grpc.StatusCode.RESOURCE_EXHAUSTED in codes
    assert codes[0] == grpc.StatusCode.OK
    time.sleep(1.1)
    assert _code(lambda: _call(secured, pki, TOKENS["slow"])) == grpc.StatusCode.OK
    # Another client is not held back by the slow one.
    assert _code(lambda: _call(secured, pki, TOKENS["trade"])) == grpc.StatusCode.OK


def test_token_stored_in_redis_and_audit_identity(secured, pki, redis_server):
    made = subprocess.run(
        [sys.executable, "-m", "screening.cli", "auth", "add-token", "--client", "batch-robot"],
        env={
            "PATH": "/usr/bin:/bin",
            "SCREENING_REDIS_URL": redis_server.url,
            "SCREENING_REDIS_PREFIX": secured.prefix,
            "SCREENING_AUTH_TOKEN_KEY": TOKEN_KEY,
        },
        capture_output=True,
        text=True,
        check=True,
    )
    token = made.stdout.splitlines()[1].strip()
    deadline = time.monotonic() + 10
    while _code(lambda: _call(secured, pki, token)) != grpc.StatusCode.OK:
        assert time.monotonic() < deadline, "token from Redis not honoured"
        time.sleep(0.2)
    reply = _call(secured, pki, token)
    other = _call(secured, pki, TOKENS["trade"])
    client = redis_server.client()
    deadline = time.monotonic() + 10
    while True:
        records = [
            json.loads(fields[b"r"]) for _, fields in client.xrange("{access-control}:audit")
        ]
        mine = [r for r in records if r["screening_id"] == reply.screening_id]
        theirs = [r for r in records if r["screening_id"] == other.screening_id]
        if (mine and theirs) or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    assert mine and mine[0]["client"] == "batch-robot" and mine[0]["client_ref"] == "ac-1"
    assert {r["client"] for r in records} >= {"trade-system", "batch-robot"}


def test_mutual_tls_without_tokens_records_the_certificate_name(
    redis_server, lists_dir, pki, tmp_path
):
    """With client certificates and no bearer tokens, the audit trail names the caller by
    its certificate's common name."""
    lists = tmp_path / "lists"
    lists.mkdir()
    shutil.copy(lists_dir / "un" / "UN_consolidated_2025-04-19.xml", lists)
    env = {
        "SCREENING_TLS_CERT_FILE": str(pki["server_cert"]),
        "SCREENING_TLS_KEY_FILE": str(pki["server_key"]),
        "SCREENING_TLS_CLIENT_CA_FILE": str(pki["ca"]),
    }
    prefix = "mtls-only"
    svc = start_service(redis_server.url, prefix, lists_dir=lists, env=env, wait=False)
    try:
        _wait_serving_tls(svc, pki)
        reply = _call(svc, pki, None)
        client = redis_server.client()
        deadline = time.monotonic() + 10
        mine: list[dict[str, object]] = []
        while not mine and time.monotonic() < deadline:
            mine = [
                record
                for record in (json.loads(f[b"r"]) for _, f in client.xrange(f"{{{prefix}}}:audit"))
                if record["screening_id"] == reply.screening_id
            ]
            time.sleep(0.2)
        assert mine and mine[0]["client"] == "cn:trade-gateway", mine
    finally:
        svc.stop()


def test_status_command_reaches_a_secured_service(secured, pki):
    """`screening status` with the CA, the client certificate and a token from the
    environment; without the token the service refuses it."""
    args = [
        sys.executable,
        "-m",
        "screening.cli",
        "status",
        "--target",
        secured.target,
        "--ca-file",
        str(pki["ca"]),
        "--cert-file",
        str(pki["client_cert"]),
        "--key-file",
        str(pki["client_key"]),
        "--json",
    ]
    env = {**os.environ, "SCREENING_TOKEN": TOKENS["trade"]}
    ok = subprocess.run(args, env=env, capture_output=True, text=True, timeout=60)
    assert ok.returncode == 0, ok.stderr
    assert json.loads(ok.stdout)["sources"][0]["source"] == "un"
    env.pop("SCREENING_TOKEN")
    refused = subprocess.run(args, env=env, capture_output=True, text=True, timeout=60)
    assert refused.returncode != 0 and "UNAUTHENTICATED" in refused.stderr
