"""Errors as data: a failed call or batch item becomes an `ItemError`, with the
`google.rpc.BadRequest` field violations the service attaches to INVALID_ARGUMENT."""

from __future__ import annotations

from dataclasses import dataclass, field

import grpc
from google.rpc import error_details_pb2
from grpc_status import rpc_status

from screening_client._proto import screening_pb2 as pb


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
        """From a failed call, sync (`grpc.Call`) or asyncio (`grpc.aio.AioRpcError`)."""
        code: grpc.StatusCode | None = getattr(exc, "code", lambda: None)()
        details: str = getattr(exc, "details", lambda: None)() or str(exc)
        violations: list[tuple[str, str]] = []
        try:
            status = rpc_status.from_call(exc)  # type: ignore[arg-type]
        except (AttributeError, ValueError):
            status = None
        if status is not None:
            for detail in status.details:
                if detail.Is(error_details_pb2.BadRequest.DESCRIPTOR):
                    bad = error_details_pb2.BadRequest()
                    detail.Unpack(bad)
                    violations += [(v.field, v.description) for v in bad.field_violations]
        return cls(code.name if code else "UNKNOWN", details, violations)

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
