"""Pure logic of the metrics helpers and the result-cache key."""

from __future__ import annotations

import grpc
import pytest
from prometheus_client import CollectorRegistry, Histogram

from screening.api.cache import CircuitBreaker, code_fingerprint, request_digest
from screening.matching.types import Query
from screening.model.entities import EntityType, Identifier
from screening.observability.metrics import BufferedHistogram, record_refresh
from screening.runtime.grpc_metrics import code_name, split_method


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


def test_buffered_histogram_flushes_the_observations_it_holds():
    registry = CollectorRegistry()
    child = Histogram("t_seconds", "test", buckets=(0.1, 0.5, 1.0), registry=registry)
    buffered = BufferedHistogram(child)
    for value in (0.05, 0.1, 0.3, 0.7, 2.0):
        buffered.observe(value)
    # Nothing reaches Prometheus before the flush.
    assert registry.get_sample_value("t_seconds_count") == 0
    buffered.flush()
    bucket = {
        le: registry.get_sample_value("t_seconds_bucket", {"le": le})
        for le in ("0.1", "0.5", "1.0", "+Inf")
    }
    # Buckets hold value <= bound, as Histogram.observe counts them.
    assert bucket == {"0.1": 2, "0.5": 3, "1.0": 4, "+Inf": 5}
    assert registry.get_sample_value("t_seconds_sum") == pytest.approx(3.15)
    buffered.flush()  # nothing new: nothing added twice
    assert registry.get_sample_value("t_seconds_count") == 5
