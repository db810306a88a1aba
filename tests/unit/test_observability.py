"""Pure logic of the metrics helpers and the result-cache key."""

from __future__ import annotations

import grpc
import pytest

from screening.api.cache import CircuitBreaker, code_fingerprint, request_digest
from screening.matching.features import Query
from screening.model import EntityType, Identifier
from screening.observability.grpc_metrics import code_name, split_method
from screening.observability.metrics import record_refresh


def test_code_names_are_the_go_names_grafana_dashboards_use():
    assert code_name(grpc.StatusCode.OK) == "OK"
    assert code_name(grpc.StatusCode.CANCELLED) == "Canceled"
    assert code_name(grpc.StatusCode.INVALID_ARGUMENT) == "InvalidArgument"
    assert code_name(grpc.StatusCode.DEADLINE_EXCEEDED) == "DeadlineExceeded"
    assert code_name(grpc.StatusCode.UNAVAILABLE.value[0]) == "Unavailable"
    assert code_name(None) is None


def test_split_method():
    assert split_method("/screening.v1.ScreeningService/ScreenParty") == (
        "screening.v1.ScreeningService",
        "ScreenParty",
    )


def test_refresh_outcome_must_be_known():
    record_refresh("un", "published")
    with pytest.raises(ValueError):
        record_refresh("un", "ok")


def test_request_digest_is_stable_and_sensitive():
    query = Query(names=["Anna Smith"], entity_type=EntityType.PERSON, birth_date="1970")
    same = Query(names=["Anna Smith"], entity_type=EntityType.PERSON, birth_date="1970")
    assert request_digest(query, 0.8, [], 10) == request_digest(same, 0.8, [], 10)
    for other in (
        request_digest(Query(names=["Anna Smith"], entity_type=EntityType.PERSON), 0.8, [], 10),
        request_digest(query, 0.7, [], 10),
        request_digest(query, 0.8, ["un"], 10),
        request_digest(query, 0.8, [], 5),
        request_digest(
            Query(
                names=["Anna Smith"],
                entity_type=EntityType.PERSON,
                birth_date="1970",
                identifiers=[Identifier("passport", "X1")],
            ),
            0.8,
            [],
            10,
        ),
    ):
        assert other != request_digest(query, 0.8, [], 10)


def test_circuit_breaker_reports_transitions():
    breaker = CircuitBreaker()
    assert breaker.closed
    assert breaker.open() is True
    assert breaker.open() is False
    assert not breaker.closed
    assert breaker.close() is True
    assert breaker.close() is False


def test_code_fingerprint_is_stable():
    assert code_fingerprint() == code_fingerprint()
    assert len(code_fingerprint()) == 16
