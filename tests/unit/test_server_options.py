"""gRPC server options: the connection age is set only when asked for, in whole ms >= 1."""

from __future__ import annotations

from screening.runtime.worker import server_options


def test_no_connection_age_by_default():
    options = dict(server_options())
    assert "grpc.max_connection_age_ms" not in options
    assert "grpc.max_connection_age_grace_ms" not in options  # in-flight calls never cut
    assert options["grpc.so_reuseport"] == 1


def test_connection_age_in_milliseconds():
    assert dict(server_options(max_connection_age_seconds=300))["grpc.max_connection_age_ms"] == (
        300_000
    )
    # A tiny age rounds up to 1 ms, never down to 0.
    assert (
        dict(server_options(max_connection_age_seconds=0.0001))["grpc.max_connection_age_ms"] == 1
    )
