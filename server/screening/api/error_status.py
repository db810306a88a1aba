"""gRPC error answers: the one table from domain errors (model/errors.py) to status codes,
applied to every handler as the servicer routes to it, and the google.rpc details
(BadRequest names each bad field)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any, NoReturn, TypeVar

import grpc
from google.protobuf import any_pb2
from google.rpc import code_pb2, error_details_pb2, status_pb2
from grpc_status import rpc_status

from screening.api.validation import Violations
from screening.model.errors import (
    AuditUnavailable,
    Cancelled,
    Conflict,
    DeadlineExceeded,
    Exhausted,
    Invalid,
    NotFound,
    NotReady,
    ScreeningError,
    Unavailable,
)

# Domain error -> (status, what the message starts with). The most specific class wins.
ERRORS: dict[type[ScreeningError], tuple[grpc.StatusCode, str]] = {
    NotReady: (grpc.StatusCode.UNAVAILABLE, ""),
    Unavailable: (grpc.StatusCode.UNAVAILABLE, ""),
    AuditUnavailable: (grpc.StatusCode.UNAVAILABLE, "screening not recorded: "),
    NotFound: (grpc.StatusCode.NOT_FOUND, ""),
    Conflict: (grpc.StatusCode.FAILED_PRECONDITION, ""),
    Exhausted: (grpc.StatusCode.RESOURCE_EXHAUSTED, ""),
    DeadlineExceeded: (grpc.StatusCode.DEADLINE_EXCEEDED, ""),
    Cancelled: (grpc.StatusCode.CANCELLED, ""),
}

# The details travel in trailing metadata, which clients cap (8 KiB by default): a request
# with many long bad values must still come back as INVALID_ARGUMENT, not RESOURCE_EXHAUSTED.
# Every bad field is named as long as the names fit; descriptions (which may quote the bad
# value) are shortened first.
DETAILS_BUDGET_BYTES = 3500
MAX_DESCRIPTION_BYTES = 200
MIN_DESCRIPTION_BYTES = 40
# The status message repeats the violations whole (a caller that reads only the message
# gets the full reason) while it fits this many bytes as sent: gRPC percent-encodes a
# message's non-ASCII bytes, three bytes each, in the same trailers as the details.
MESSAGE_BUDGET_BYTES = 1024


def _cut(text: str, limit: int) -> str:
    data = text.encode()
    if len(data) <= limit:
        return text
    return data[: limit - 3].decode(errors="ignore") + "..."


def bounded(violations: Violations) -> list[tuple[str, str]]:
    """The violations, shortened to fit DETAILS_BUDGET_BYTES: descriptions cut (down to
    MIN_DESCRIPTION_BYTES) before any field is left out; if some must be, the last one kept
    says how many more there were."""
    fields = [_cut(f, MAX_DESCRIPTION_BYTES) for f, _ in violations.items]
    if not fields:
        return []
    room = (DETAILS_BUDGET_BYTES - sum(len(f.encode()) for f in fields)) // len(fields)
    limit = max(MIN_DESCRIPTION_BYTES, min(MAX_DESCRIPTION_BYTES, room))
    items: list[tuple[str, str]] = []
    used = 0
    for field_path, (_, description) in zip(fields, violations.items, strict=True):
        item = (field_path, _cut(description, limit))
        size = len(item[0].encode()) + len(item[1].encode())
        if items and used + size > DETAILS_BUDGET_BYTES:
            extra = len(violations.items) - len(items)
            items[-1] = (items[-1][0], f"{items[-1][1]} (and {extra} more problems)")
            break
        items.append(item)
        used += size
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
    return rpc_status.to_status(
        status_pb2.Status(
            code=code_pb2.INVALID_ARGUMENT,
            message=summary_message(message, items, len(violations.items)),
            details=[packed],
        )
    )


def _sent_size(text: str) -> int:
    """Bytes of `text` as the grpc-message header carries it (percent-encoded)."""
    return sum(1 if 0x20 <= b < 0x7F and b != 0x25 else 3 for b in text.encode())


def summary_message(message: str, items: list[tuple[str, str]], total: int) -> str:
    """'invalid request: f: reason; g: reason': every violation whole while the message
    fits MESSAGE_BUDGET_BYTES; past that, how many more there are (the details name all)."""
    parts: list[str] = []
    used = _sent_size(message) + 2
    for field_path, description in items:
        part = f"{field_path}: {description}"
        size = _sent_size(part) + 2
        if parts and used + size > MESSAGE_BUDGET_BYTES - 60:
            break
        parts.append(part)
        used += size
    text = f"{message}: {'; '.join(parts)}"
    if total > len(parts):
        text += f" (and {total - len(parts)} more: see the field violations)"
    return text


async def abort_invalid(context: grpc.aio.ServicerContext, violations: Violations) -> NoReturn:
    status = bad_request_status(violations)
    await context.abort(status.code, status.details, status.trailing_metadata)
    raise AssertionError("unreachable")  # abort raises


async def abort(context: grpc.aio.ServicerContext, code: grpc.StatusCode, message: str) -> NoReturn:
    await context.abort(code, message)
    raise AssertionError("unreachable")


def status_of(error: ScreeningError) -> tuple[grpc.StatusCode, str]:
    """The status code and message a domain error is answered with (not Invalid)."""
    for kind in type(error).__mro__:
        entry = ERRORS.get(kind)
        if entry is not None:
            code, prefix = entry
            return code, f"{prefix}{error}"
    return grpc.StatusCode.INTERNAL, "internal error"


async def abort_error(context: grpc.aio.ServicerContext, error: ScreeningError) -> NoReturn:
    if isinstance(error, Invalid):
        await abort_invalid(context, Violations(error.violations))
    code, message = status_of(error)
    await abort(context, code, message)


D = TypeVar("D")
Request = TypeVar("Request")
Response = TypeVar("Response")


def unary(
    handler: Callable[[D, Request, grpc.aio.ServicerContext], Awaitable[Response]],
) -> Callable[[Any, Request, grpc.aio.ServicerContext], Awaitable[Response]]:
    """A servicer method calling `handler` with the servicer's deps; a domain error it
    raises is answered from the table (the `try` costs nothing when none is raised)."""

    async def method(
        servicer: Any, request: Request, context: grpc.aio.ServicerContext
    ) -> Response:
        try:
            return await handler(servicer.deps, request, context)
        except ScreeningError as error:
            await abort_error(context, error)

    method.__doc__ = handler.__doc__
    return method


def streaming(
    handler: Callable[[D, Request, grpc.aio.ServicerContext], AsyncIterator[Response]],
) -> Callable[[Any, Request, grpc.aio.ServicerContext], AsyncIterator[Response]]:
    """As `unary`, for a handler that streams its answers."""

    async def method(
        servicer: Any, request: Request, context: grpc.aio.ServicerContext
    ) -> AsyncIterator[Response]:
        try:
            async for response in handler(servicer.deps, request, context):
                yield response
        except ScreeningError as error:
            await abort_error(context, error)

    method.__doc__ = handler.__doc__
    return method
