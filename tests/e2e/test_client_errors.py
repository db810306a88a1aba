"""The client's own errors against real servers: one base class, a type per status an
application handles, the same in the sync and asyncio clients, and retries for idempotent
calls only (on UNAVAILABLE). No raw grpc error escapes."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import shutil
import time
from collections.abc import Iterator

import grpc
import pytest

from screening.api.auth import hash_token
from screening_client import (
    AsyncScreeningClient,
    DeadlineExceeded,
    FieldViolation,
    InvalidArgument,
    NotFound,
    PermissionDenied,
    RequestError,
    RetryPolicy,
    ScreeningClient,
    ScreeningError,
    Unauthenticated,
    Unavailable,
)
from tests.conftest import Service, free_port, start_service

TOKEN_KEY = "client-errors-pepper"
SCREENER, ANALYST = "tok-screener-0123456789", "tok-analyst-0123456789"
LATER = dt.datetime.now(dt.UTC) + dt.timedelta(days=30)


def _own_error(exc: BaseException, expected: type[ScreeningError]) -> ScreeningError:
    """The error is the client's own type (and not the raw grpc one)."""
    assert type(exc) is expected, type(exc)
    assert isinstance(exc, ScreeningError) and not isinstance(exc, grpc.Call)
    assert exc.code() == expected.status_code
    return exc


def _sync_and_async(target: str, call, **client_args):  # type: ignore[no-untyped-def]
    """Run `call(client)` on a sync and on an asyncio client; the two errors raised."""
    errors = []
    with ScreeningClient(target, **client_args) as client:
        try:
            call(client)
        except Exception as exc:
            errors.append(exc)

    async def run() -> None:
        async with AsyncScreeningClient(target, **client_args) as client:
            try:
                result = call(client)
                await result
            except Exception as exc:
                errors.append(exc)

    asyncio.run(run())
    assert len(errors) == 2, errors
    return errors


def test_invalid_argument_names_each_field(service):
    retries: list[int] = []
    policy = RetryPolicy(on_retry=lambda attempt, code, delay: retries.append(attempt))
    errors = _sync_and_async(
        service.target,
        lambda c: c.screen_party({"name": ""}, min_score=2.0),
        retry=policy,
    )
    for exc in errors:
        error = _own_error(exc, InvalidArgument)
        fields = {v.field for v in error.field_violations}
        assert {"party.name", "min_score"} <= fields
        assert all(isinstance(v, FieldViolation) and v.description for v in error.field_violations)
        assert error.method == "ScreenParty"
    assert retries == []  # an answer, not an outage: never retried


def test_request_error_is_an_invalid_argument_before_anything_is_sent(service):
    with ScreeningClient(service.target) as client, pytest.raises(InvalidArgument) as caught:
        client.screen_party({"name": "ACME", "entity_type": "planet"})
    assert isinstance(caught.value, RequestError) and isinstance(caught.value, ValueError)
    assert caught.value.field_violations[0].field == "party.entity_type"


def test_not_found(service):
    errors = _sync_and_async(service.target, lambda c: c.get_entity("ofac-sdn:0"))
    for exc in errors:
        _own_error(exc, NotFound)


def test_deadline_exceeded(service):
    """A shipment of fifty parties takes far longer than the 1 ms allowed (shipments are
    never answered from a cache)."""
    shipment = {
        "parties": [
            {"name": f"Trading Company Number {i}", "role": "consignee"} for i in range(50)
        ],
        "goods": [{"hs_code": "854231"}] * 100,
        "route": {"origin_country": "KR", "destination_country": "RU"},
    }
    errors = _sync_and_async(service.target, lambda c: c.screen_shipment(shipment, timeout=0.001))
    for exc in errors:
        _own_error(exc, DeadlineExceeded)


def test_unavailable_retries_only_idempotent_calls():
    target = f"127.0.0.1:{free_port()}"  # nothing listens here
    for call, idempotent in (
        (lambda c: c.get_data_status(), True),
        (lambda c: c.monitor_party({"name": "ACME"}), True),
        (
            lambda c: c.accept_match(
                {"name": "ACME"}, "un:QDi.001", analyst="a", reason="r", expires_at=LATER
            ),
            False,
        ),
        (lambda c: c.stop_monitoring("m-1"), False),
    ):
        retries: list[grpc.StatusCode] = []
        policy = RetryPolicy(
            max_attempts=3,
            max_backoff=0.05,
            on_retry=lambda a, code, d, seen=retries: seen.append(code),
        )
        started = time.monotonic()
        errors = _sync_and_async(target, call, retry=policy, timeout=5)
        for exc in errors:
            _own_error(exc, Unavailable)
        # Sync then async client: two retries each for a call that may run twice, none else.
        assert retries == ([grpc.StatusCode.UNAVAILABLE] * 4 if idempotent else [])
        assert time.monotonic() - started < 10


@pytest.fixture(scope="module")
def guarded(redis_server, lists_dir, tmp_path_factory) -> Iterator[Service]:  # type: ignore[no-untyped-def]
    lists = tmp_path_factory.mktemp("lists")
    shutil.copy(lists_dir / "un" / "UN_consolidated_2025-04-19.xml", lists)
    tokens = [
        {"client": "screener", "token_hash": hash_token(SCREENER, TOKEN_KEY)},
        {
            "client": "analyst",
            "token_hash": hash_token(ANALYST, TOKEN_KEY),
            "permissions": ["admin"],
        },
    ]
    env = {"SCREENING_AUTH_TOKENS": json.dumps(tokens), "SCREENING_AUTH_TOKEN_KEY": TOKEN_KEY}
    svc = start_service(redis_server.url, "client-errors", lists_dir=lists, env=env)
    yield svc
    svc.stop()


def test_unauthenticated_and_permission_denied(guarded):
    for exc in _sync_and_async(guarded.target, lambda c: c.get_data_status()):
        _own_error(exc, Unauthenticated)
    for exc in _sync_and_async(guarded.target, lambda c: c.get_data_status(), token="wrong"):
        _own_error(exc, Unauthenticated)
    for exc in _sync_and_async(guarded.target, lambda c: c.list_acceptances(), token=SCREENER):
        _own_error(exc, PermissionDenied)
    with ScreeningClient(guarded.target, token=ANALYST) as client:
        assert client.list_acceptances() == []
        assert client.get_data_status().entity_count > 0


def test_batch_stream_errors_are_the_clients_own(guarded):
    with ScreeningClient(guarded.target) as client, pytest.raises(Unauthenticated):
        list(client.screen_parties([{"name": "ACME"}]))

    async def run() -> None:
        async with AsyncScreeningClient(guarded.target) as client:
            from screening_client import screen_party_request
            from screening_client._proto import screening_pb2 as pb

            items = [pb.ScreenPartiesRequest(request=screen_party_request({"name": "ACME"}))]
            with pytest.raises(Unauthenticated):
                async for _ in client.screen_parties(items):
                    pass

    asyncio.run(run())
