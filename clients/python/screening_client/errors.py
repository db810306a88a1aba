"""The client's errors: every failed call raises a `ScreeningError`, never a raw grpc one.

    try:
        client.screen_party({"name": ""})
    except InvalidArgument as exc:
        for violation in exc.field_violations:   # google.rpc.BadRequest, field by field
            print(violation.field, violation.description)
    except Unavailable:                          # retries (idempotent calls only) are spent
        ...
    except ScreeningError as exc:                # any other status: exc.code(), exc.message
        ...

`ScreeningError` subclasses `grpc.RpcError` and keeps its `code()` and `details()`, so code
written against raw grpc errors goes on working. `RequestError` (input the client cannot turn
into a request, never sent) is an `InvalidArgument` and a `ValueError`.

For batch output, a failed call or batch item also becomes an `ItemError` (plain data).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import NamedTuple

import grpc
from google.rpc import error_details_pb2
from grpc_status import rpc_status

from screening_client._proto import screening_pb2 as pb


class FieldViolation(NamedTuple):
    """One bad field of a request, as the service names it (e.g. "party.name")."""

    field: str
    description: str


class ScreeningError(grpc.RpcError):
    """A call failed. `code()` is its gRPC status, `message` the service's message whole,
    `field_violations` the fields it named (INVALID_ARGUMENT), `retry_delay` the seconds a
    rate-limited caller should wait (RESOURCE_EXHAUSTED with google.rpc.RetryInfo)."""

    status_code: grpc.StatusCode = grpc.StatusCode.UNKNOWN

    def __init__(
        self,
        message: str,
        *,
        code: grpc.StatusCode | None = None,
        field_violations: Sequence[FieldViolation] = (),
        retry_delay: float | None = None,
        method: str = "",
    ) -> None:
        super().__init__(message)
        if code is not None:
            self.status_code = code
        self.message = message
        self.field_violations: tuple[FieldViolation, ...] = tuple(field_violations)
        self.retry_delay = retry_delay
        self.method = method

    def code(self) -> grpc.StatusCode:
        return self.status_code

    def details(self) -> str:
        return self.message

    def __str__(self) -> str:
        where = f"{self.method}: " if self.method else ""
        return f"{where}{self.status_code.name}: {self.message}"


class InvalidArgument(ScreeningError):
    """The request was refused as it stands; `field_violations` names each bad field."""

    status_code = grpc.StatusCode.INVALID_ARGUMENT


class Unauthenticated(ScreeningError):
    """No token, or one the service does not know (or an untrusted client certificate)."""

    status_code = grpc.StatusCode.UNAUTHENTICATED


class PermissionDenied(ScreeningError):
    """The token is known, but not allowed this call (e.g. the admin calls)."""

    status_code = grpc.StatusCode.PERMISSION_DENIED


class Unavailable(ScreeningError):
    """The service could not be reached or is not ready (retried for idempotent calls)."""

    status_code = grpc.StatusCode.UNAVAILABLE


class DeadlineExceeded(ScreeningError):
    """No answer within the deadline (all attempts together)."""

    status_code = grpc.StatusCode.DEADLINE_EXCEEDED


class NotFound(ScreeningError):
    """No such entry, acceptance or monitored party."""

    status_code = grpc.StatusCode.NOT_FOUND


class ResourceExhausted(ScreeningError):
    """Rate limited (see `retry_delay`), or a message over the size limit."""

    status_code = grpc.StatusCode.RESOURCE_EXHAUSTED


_BY_CODE: dict[grpc.StatusCode, type[ScreeningError]] = {
    cls.status_code: cls
    for cls in (
        InvalidArgument,
        Unauthenticated,
        PermissionDenied,
        Unavailable,
        DeadlineExceeded,
        NotFound,
        ResourceExhausted,
    )
}


def from_rpc_error(exc: grpc.RpcError, method: str = "") -> ScreeningError:
    """The client's error for a failed call, sync (`grpc.Call`) or asyncio (`AioRpcError`)."""
    if isinstance(exc, ScreeningError):
        return exc
    code: grpc.StatusCode = getattr(exc, "code", lambda: None)() or grpc.StatusCode.UNKNOWN
    message: str = getattr(exc, "details", lambda: None)() or str(exc)
    violations: list[FieldViolation] = []
    retry_delay: float | None = None
    try:
        status = rpc_status.from_call(exc)  # type: ignore[arg-type]
    except (AttributeError, ValueError, TypeError):
        status = None
    if status is not None:
        # The google.rpc.Status carries the message whole (the grpc-message header can be cut).
        message = status.message or message
        for detail in status.details:
            if detail.Is(error_details_pb2.BadRequest.DESCRIPTOR):
                bad = error_details_pb2.BadRequest()
                detail.Unpack(bad)
                violations += [FieldViolation(v.field, v.description) for v in bad.field_violations]
            elif detail.Is(error_details_pb2.RetryInfo.DESCRIPTOR):
                info = error_details_pb2.RetryInfo()
                detail.Unpack(info)
                retry_delay = info.retry_delay.ToTimedelta().total_seconds()
    cls = _BY_CODE.get(code, ScreeningError)
    return cls(
        message, code=code, field_violations=violations, retry_delay=retry_delay, method=method
    )


@dataclass(frozen=True)
class ItemError:
    code: str  # status code name, e.g. "INVALID_ARGUMENT"
    message: str
    field_violations: list[tuple[str, str]] = field(default_factory=list)

    def to_dict(self) -> dict[str, object]:
        return {
            "code": self.code,
            "message": self.message,
            "field_violations": [{"field": f, "description": d} for f, d in self.field_violations],
        }

    @classmethod
    def from_rpc_error(cls, exc: grpc.RpcError) -> ItemError:
        """From a failed call: a `ScreeningError`, or a raw sync or asyncio grpc error."""
        error = from_rpc_error(exc)
        return cls(
            error.code().name,
            error.message,
            [(v.field, v.description) for v in error.field_violations],
        )

    @classmethod
    def from_proto(cls, error: pb.ItemError) -> ItemError:
        name = _NAME_BY_NUMBER.get(error.code, str(error.code))
        return cls(name, error.message, [(v.field, v.description) for v in error.field_violations])

    @classmethod
    def client_side(cls, exc: ValueError) -> ItemError:
        """Input the client could not turn into a request (never sent)."""
        field_name = getattr(exc, "field", "")
        description = getattr(exc, "description", str(exc))
        violations = [(field_name, description)] if field_name else []
        return cls("INVALID_ARGUMENT", str(exc), violations)


_NAME_BY_NUMBER = {code.value[0]: code.name for code in grpc.StatusCode}
