"""gRPC error answers with google.rpc details (BadRequest names each bad field)."""

from __future__ import annotations

from typing import NoReturn

import grpc
from google.protobuf import any_pb2
from google.rpc import code_pb2, error_details_pb2, status_pb2
from grpc_status import rpc_status

from screening.api.validation import Violations

# The details travel in trailing metadata, which clients cap (8 KiB by default): a request
# with many long bad values must still come back as INVALID_ARGUMENT, not RESOURCE_EXHAUSTED.
MAX_VIOLATIONS = 10
MAX_TEXT_BYTES = 120


def _short(text: str) -> str:
    data = text.encode()
    if len(data) <= MAX_TEXT_BYTES:
        return text
    return data[: MAX_TEXT_BYTES - 3].decode(errors="ignore") + "..."


def bounded(violations: Violations) -> list[tuple[str, str]]:
    """At most MAX_VIOLATIONS violations, each cut to MAX_TEXT_BYTES; the last one says
    how many more there were."""
    items = [(_short(f), _short(d)) for f, d in violations.items[:MAX_VIOLATIONS]]
    extra = len(violations.items) - MAX_VIOLATIONS
    if extra > 0:
        items[-1] = (items[-1][0], f"{items[-1][1]} (and {extra} more problems)")
    return items


def bad_request_status(violations: Violations, message: str = "invalid request") -> grpc.Status:
    items = bounded(violations)
    detail = error_details_pb2.BadRequest(
        field_violations=[
            error_details_pb2.BadRequest.FieldViolation(field=f, description=d) for f, d in items
        ]
    )
    packed = any_pb2.Any()
    packed.Pack(detail)
    summary = "; ".join(f"{f}: {d}" for f, d in items[:3])
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
