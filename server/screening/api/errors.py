"""gRPC error answers with google.rpc details (BadRequest names each bad field)."""

from __future__ import annotations

from typing import NoReturn

import grpc
from google.protobuf import any_pb2
from google.rpc import code_pb2, error_details_pb2, status_pb2
from grpc_status import rpc_status

from screening.api.validation import Violations


def bad_request_status(violations: Violations, message: str = "invalid request") -> grpc.Status:
    detail = error_details_pb2.BadRequest(
        field_violations=[
            error_details_pb2.BadRequest.FieldViolation(field=f, description=d)
            for f, d in violations.items
        ]
    )
    packed = any_pb2.Any()
    packed.Pack(detail)
    summary = "; ".join(f"{f}: {d}" for f, d in violations.items[:5])
    return rpc_status.to_status(
        status_pb2.Status(
            code=code_pb2.INVALID_ARGUMENT, message=f"{message}: {summary}", details=[packed]
        )
    )


async def abort_invalid(context: grpc.aio.ServicerContext, violations: Violations) -> NoReturn:
    status = bad_request_status(violations)
    await context.abort(status.code, status.details, status.trailing_metadata)
    raise AssertionError("unreachable")  # abort raises


async def abort(context: grpc.aio.ServicerContext, code: grpc.StatusCode, message: str) -> NoReturn:
    await context.abort(code, message)
    raise AssertionError("unreachable")
