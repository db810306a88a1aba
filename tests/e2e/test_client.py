"""The client library against real gRPC servers on loopback: the session service, a service
that comes up late (retries), and a TLS server that checks the bearer token."""

from __future__ import annotations

import shutil
import subprocess
import time
from concurrent import futures
from pathlib import Path

import grpc
import pytest

from screening_client import (
    NO_RETRY,
    AsyncScreeningClient,
    ChannelConfig,
    ItemError,
    RetryPolicy,
    ScreeningClient,
    pb,
)
from screening_client._proto import screening_pb2_grpc as pb_grpc
from tests.conftest import free_port, start_service

AURUS = {"name": "LIMITED LIABILITY COMPANY AURUS", "entity_type": "organization"}


def test_sync_client_screens_and_reads(service):
    with ScreeningClient(service.target, timeout=10) as client:
        reply = client.screen_party(AURUS, client_ref="case-1")
        assert reply.decision == pb.DECISION_BLOCK and reply.client_ref == "case-1"
        top = reply.matches[0]
        assert (top.entity_id, top.designation_date) == ("ofac-sdn:47956", "2024-02-23")
        assert client.get_entity("ofac-sdn:47956").name == top.name
        assert client.get_data_status().entity_count > 10_000
        compared = client.compare_parties({"name": "Vladimir Putin"}, {"name": "PUTIN, Vladimir"})
        assert compared.is_match


async def test_async_client_screens_concurrently(service):
    import asyncio

    async with AsyncScreeningClient(service.target) as client:
        replies = await asyncio.gather(
            client.screen_party(AURUS),
            client.screen_party({"name": "Maria Schneider", "entity_type": "person"}),
        )
    assert [r.decision for r in replies] == [pb.DECISION_BLOCK, pb.DECISION_CLEAR]


def test_invalid_argument_is_not_retried_and_names_fields(service):
    retries: list[int] = []
    policy = RetryPolicy(on_retry=lambda attempt, code, delay: retries.append(attempt))
    with (
        ScreeningClient(service.target, retry=policy) as client,
        pytest.raises(grpc.RpcError) as caught,
    ):
        client.screen_party({"name": ""}, min_score=2.0)
    error = ItemError.from_rpc_error(caught.value)
    assert error.code == "INVALID_ARGUMENT"
    assert {"party.name", "min_score"} <= {f for f, _ in error.field_violations}
    assert retries == []


# Times the retries against a 1 s deadline.
@pytest.mark.serial
def test_unavailable_is_retried_within_the_deadline():
    retries: list[tuple[int, grpc.StatusCode]] = []
    policy = RetryPolicy(
        max_attempts=50, max_backoff=0.2, on_retry=lambda a, c, d: retries.append((a, c))
    )
    started = time.monotonic()
    target = f"127.0.0.1:{free_port()}"
    with (
        ScreeningClient(target, timeout=1.0, retry=policy) as client,
        pytest.raises(grpc.RpcError) as caught,
    ):
        client.get_data_status()
    elapsed = time.monotonic() - started
    assert caught.value.code() in (grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.DEADLINE_EXCEEDED)
    assert len(retries) >= 3 and {c for _, c in retries} == {grpc.StatusCode.UNAVAILABLE}
    assert elapsed < 2.0  # the deadline covers every attempt together
    with ScreeningClient(target, retry=NO_RETRY) as client, pytest.raises(grpc.RpcError):
        client.get_data_status()


def test_retries_ride_over_a_service_starting_up(redis_server, prefix, lists_dir, tmp_path):
    lists = tmp_path / "lists"
    lists.mkdir()
    shutil.copy(lists_dir / "ofac/sdn_2024-02-23.csv", lists)
    svc = start_service(redis_server.url, prefix, lists_dir=lists, wait=False)
    try:
        retries: list[grpc.StatusCode] = []
        policy = RetryPolicy(
            max_attempts=1000, max_backoff=0.3, on_retry=lambda a, c, d: retries.append(c)
        )
        with ScreeningClient(svc.target, timeout=120, retry=policy) as client:
            reply = client.screen_party(AURUS)
        assert reply.matches[0].entity_id == "ofac-sdn:47956"
        assert retries and set(retries) == {grpc.StatusCode.UNAVAILABLE}
    finally:
        svc.stop()


class _TokenEcho(pb_grpc.ScreeningServiceServicer):
    """Answers GetDataStatus with the authorization header it received."""

    def GetDataStatus(self, request, context):
        headers = dict(context.invocation_metadata())
        if headers.get("authorization") != "Bearer t0ken":
            context.abort(grpc.StatusCode.UNAUTHENTICATED, "bad token")
        return pb.GetDataStatusResponse(data_version=headers["authorization"])


@pytest.fixture
def tls_server(tmp_path):
    if shutil.which("openssl") is None:
        pytest.skip("openssl not installed: cannot make a test certificate")
    key, cert = tmp_path / "key.pem", tmp_path / "cert.pem"
    subprocess.run(
        [
            *("openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1"),
            *("-keyout", str(key), "-out", str(cert), "-subj", "/CN=localhost"),
            *("-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1"),
        ],
        check=True,
        capture_output=True,
    )
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=2))
    pb_grpc.add_ScreeningServiceServicer_to_server(_TokenEcho(), server)
    port = free_port()
    creds = grpc.ssl_server_credentials([(key.read_bytes(), cert.read_bytes())])
    server.add_secure_port(f"127.0.0.1:{port}", creds)
    server.start()
    yield port, cert
    server.stop(0)


def test_tls_and_bearer_token(tls_server):
    port, cert = tls_server
    target = f"127.0.0.1:{port}"
    with ScreeningClient(target, tls=True, root_certificates=cert, token="t0ken") as client:
        assert client.get_data_status().data_version == "Bearer t0ken"
    with ScreeningClient(ChannelConfig(target, tls=True, root_certificates=Path(cert))) as client:
        with pytest.raises(grpc.RpcError) as caught:
            client.get_data_status()
        assert caught.value.code() == grpc.StatusCode.UNAUTHENTICATED
    # A certificate the client does not trust: the handshake fails (UNAVAILABLE, retried
    # until the deadline, then reported).
    with ScreeningClient(target, tls=True, token="t0ken", timeout=1, retry=NO_RETRY) as client:
        with pytest.raises(grpc.RpcError) as caught:
            client.get_data_status()
        assert caught.value.code() == grpc.StatusCode.UNAVAILABLE
