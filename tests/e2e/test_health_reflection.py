"""Standard health service and server reflection are on."""

from __future__ import annotations

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection_pb2, reflection_pb2_grpc


def test_health_serving(channel):
    stub = health_pb2_grpc.HealthStub(channel)
    for service in ("", "screening.v1.ScreeningService"):
        reply = stub.Check(health_pb2.HealthCheckRequest(service=service), timeout=5)
        assert reply.status == health_pb2.HealthCheckResponse.SERVING


def test_reflection_lists_services(channel):
    stub = reflection_pb2_grpc.ServerReflectionStub(channel)
    responses = stub.ServerReflectionInfo(
        iter([reflection_pb2.ServerReflectionRequest(list_services="")]), timeout=5
    )
    names = {s.name for r in responses for s in r.list_services_response.service}
    assert {"screening.v1.ScreeningService", "grpc.health.v1.Health"} <= names


def test_reflection_serves_the_proto(channel):
    stub = reflection_pb2_grpc.ServerReflectionStub(channel)
    responses = list(
        stub.ServerReflectionInfo(
            iter(
                [
                    reflection_pb2.ServerReflectionRequest(
                        file_containing_symbol="screening.v1.ScreeningService"
                    )
                ]
            ),
            timeout=5,
        )
    )
    assert responses[0].file_descriptor_response.file_descriptor_proto


def test_unknown_method_is_unimplemented(channel):
    call = channel.unary_unary("/screening.v1.ScreeningService/NoSuchMethod")
    try:
        call(b"", timeout=5)
        raise AssertionError("expected an error")
    except grpc.RpcError as exc:
        assert exc.code() == grpc.StatusCode.UNIMPLEMENTED
