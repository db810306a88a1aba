"""A grpc.aio server interceptor recording the standard gRPC server metrics.

Names, labels and label values follow go-grpc-prometheus, which the stock Grafana gRPC
dashboards query: `grpc_type` is unary, client_stream, server_stream or bidi_stream;
`grpc_code` is the Go name of the status code (OK, InvalidArgument, Canceled...).

The interceptor wraps each method handler once and caches the wrapper with its label
children resolved; counters are buffered in the worker (flushed every second), so a call
costs a few integer additions and a bucket count (histograms are buffered the same way).
Aborted calls (`context.abort`) count under their status code, cancelled ones under Canceled
(DeadlineExceeded when the deadline passed), and unhandled exceptions under Unknown.
"""

from __future__ import annotations

import asyncio
import inspect
import time
from collections.abc import AsyncIterator, Callable
from typing import Any

import grpc

from screening.observability.metrics import (
    GRPC_HANDLED,
    GRPC_HANDLING_SECONDS,
    GRPC_MSG_RECEIVED,
    GRPC_MSG_SENT,
    GRPC_STARTED,
    BufferedCount,
    buffered,
    buffered_histogram,
)
from screening.runtime.interceptors import HandlerWrapper

# grpc.StatusCode -> the Go name used as `grpc_code` (codes.Code.String() in grpc-go).
GO_CODE_NAMES = {
    grpc.StatusCode.OK: "OK",
    grpc.StatusCode.CANCELLED: "Canceled",
    grpc.StatusCode.UNKNOWN: "Unknown",
    grpc.StatusCode.INVALID_ARGUMENT: "InvalidArgument",
    grpc.StatusCode.DEADLINE_EXCEEDED: "DeadlineExceeded",
    grpc.StatusCode.NOT_FOUND: "NotFound",
    grpc.StatusCode.ALREADY_EXISTS: "AlreadyExists",
    grpc.StatusCode.PERMISSION_DENIED: "PermissionDenied",
    grpc.StatusCode.RESOURCE_EXHAUSTED: "ResourceExhausted",
    grpc.StatusCode.FAILED_PRECONDITION: "FailedPrecondition",
    grpc.StatusCode.ABORTED: "Aborted",
    grpc.StatusCode.OUT_OF_RANGE: "OutOfRange",
    grpc.StatusCode.UNIMPLEMENTED: "Unimplemented",
    grpc.StatusCode.INTERNAL: "Internal",
    grpc.StatusCode.UNAVAILABLE: "Unavailable",
    grpc.StatusCode.DATA_LOSS: "DataLoss",
    grpc.StatusCode.UNAUTHENTICATED: "Unauthenticated",
}
# context.code() may hold the numeric code rather than the enum.
_BY_NUMBER = {code.value[0]: name for code, name in GO_CODE_NAMES.items()}


def code_name(code: object) -> str | None:
    """The Go name of a status code given as grpc.StatusCode or its number; None if unset."""
    if code is None:
        return None
    if isinstance(code, grpc.StatusCode):
        return GO_CODE_NAMES[code]
    if isinstance(code, int):
        return _BY_NUMBER.get(code, "Unknown")
    return "Unknown"


def split_method(full_method: str) -> tuple[str, str]:
    """'/screening.v1.ScreeningService/ScreenParty' -> ('screening.v1.ScreeningService', ...)."""
    service, _, method = full_method.lstrip("/").partition("/")
    return service, method


class _MethodMetrics:
    """The label children of one method, resolved once."""

    __slots__ = ("_handled", "_labels", "handling", "received", "sent", "started")

    def __init__(self, grpc_type: str, service: str, method: str) -> None:
        self._labels = (grpc_type, service, method)
        self.started = buffered(GRPC_STARTED.labels(*self._labels))
        self.received = buffered(GRPC_MSG_RECEIVED.labels(*self._labels))
        self.sent = buffered(GRPC_MSG_SENT.labels(*self._labels))
        self.handling = buffered_histogram(GRPC_HANDLING_SECONDS.labels(*self._labels))
        self._handled: dict[str, BufferedCount] = {}

    def handled(self, code: str, started: float) -> None:
        count = self._handled.get(code)
        if count is None:
            count = self._handled[code] = buffered(GRPC_HANDLED.labels(*self._labels, code))
        count.inc()
        self.handling.observe(time.perf_counter() - started)


# A client's deadline expires before the server's copy of it (the server starts counting
# when the call reaches it), and the client then cancels the call: a call cancelled this
# close to its deadline ended with it.
DEADLINE_SLACK_SECONDS = 0.05


def _final_code(context: grpc.aio.ServicerContext, exc: BaseException | None) -> str:
    """The status the call ends with, from the context and what the handler raised."""
    if isinstance(exc, asyncio.CancelledError | GeneratorExit):
        remaining = context.time_remaining()
        ended_with_deadline = remaining is not None and remaining <= DEADLINE_SLACK_SECONDS
        return "DeadlineExceeded" if ended_with_deadline else "Canceled"
    set_code = code_name(context.code())
    if set_code is not None:
        return set_code
    return "Unknown" if exc is not None else "OK"


class _CountingContext:
    """A servicer context that counts stream messages read and written through it."""

    def __init__(self, context: grpc.aio.ServicerContext, metrics: _MethodMetrics) -> None:
        self._context = context
        self._metrics = metrics

    async def read(self) -> Any:
        message = await self._context.read()
        if message is not grpc.aio.EOF:  # type: ignore[attr-defined]
            self._metrics.received.inc()
        return message

    async def write(self, message: Any) -> None:
        await self._context.write(message)
        self._metrics.sent.inc()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._context, name)


async def _counted(requests: AsyncIterator[Any], metrics: _MethodMetrics) -> AsyncIterator[Any]:
    async for request in requests:
        metrics.received.inc()
        yield request


def _wrap_unary_response(behavior: Callable[..., Any], m: _MethodMetrics, streamed: bool) -> Any:
    """unary_unary and stream_unary: one response message."""
    if not inspect.iscoroutinefunction(behavior):
        return _wrap_sync_unary_response(behavior, m, streamed)

    async def handler(request: Any, context: grpc.aio.ServicerContext) -> Any:
        started = time.perf_counter()
        m.started.inc()
        if streamed:
            request = _counted(request, m)
            context = _CountingContext(context, m)  # type: ignore[assignment]
        else:
            m.received.inc()
        try:
            response = await behavior(request, context)
        except BaseException as exc:
            m.handled(_final_code(context, exc), started)
            raise
        code = _final_code(context, None)
        if code == "OK":
            m.sent.inc()
        m.handled(code, started)
        return response

    return handler


def _wrap_sync_unary_response(
    behavior: Callable[..., Any], m: _MethodMetrics, streamed: bool
) -> Callable[..., Any]:
    def handler(request: Any, context: grpc.aio.ServicerContext) -> Any:
        started = time.perf_counter()
        m.started.inc()
        if not streamed:
            m.received.inc()
        try:
            response = behavior(request, context)
        except BaseException as exc:
            m.handled(_final_code(context, exc), started)
            raise
        code = _final_code(context, None)
        if code == "OK":
            m.sent.inc()
        m.handled(code, started)
        return response

    return handler


def _wrap_stream_response(behavior: Callable[..., Any], m: _MethodMetrics, streamed: bool) -> Any:
    """unary_stream and stream_stream: an async generator, or a coroutine that writes."""
    if inspect.isasyncgenfunction(behavior):

        async def generator(request: Any, context: grpc.aio.ServicerContext) -> Any:
            started = time.perf_counter()
            m.started.inc()
            if streamed:
                request = _counted(request, m)
                context = _CountingContext(context, m)  # type: ignore[assignment]
            else:
                m.received.inc()
            try:
                async for response in behavior(request, context):
                    yield response
                    m.sent.inc()
            except BaseException as exc:
                m.handled(_final_code(context, exc), started)
                raise
            m.handled(_final_code(context, None), started)

        return generator

    if inspect.iscoroutinefunction(behavior):

        async def writer(request: Any, context: grpc.aio.ServicerContext) -> None:
            started = time.perf_counter()
            m.started.inc()
            if streamed:
                request = _counted(request, m)
            else:
                m.received.inc()
            counting = _CountingContext(context, m)
            try:
                await behavior(request, counting)
            except BaseException as exc:
                m.handled(_final_code(context, exc), started)
                raise
            m.handled(_final_code(context, None), started)

        return writer
    return behavior  # synchronous streaming handlers are not used by this service


class GrpcMetricsInterceptor(HandlerWrapper):
    """Standard gRPC server metrics for every registered method (unknown methods pass)."""

    def wrap(self, handler: grpc.RpcMethodHandler, method: str) -> grpc.RpcMethodHandler:
        return wrap_handler(handler, method)


def wrap_handler(handler: grpc.RpcMethodHandler, full_method: str) -> grpc.RpcMethodHandler:
    service, method = split_method(full_method)
    deserialize, serialize = handler.request_deserializer, handler.response_serializer
    if handler.unary_unary:
        m = _MethodMetrics("unary", service, method)
        return grpc.unary_unary_rpc_method_handler(
            _wrap_unary_response(handler.unary_unary, m, streamed=False), deserialize, serialize
        )
    if handler.stream_unary:
        m = _MethodMetrics("client_stream", service, method)
        return grpc.stream_unary_rpc_method_handler(
            _wrap_unary_response(handler.stream_unary, m, streamed=True), deserialize, serialize
        )
    if handler.unary_stream:
        m = _MethodMetrics("server_stream", service, method)
        return grpc.unary_stream_rpc_method_handler(
            _wrap_stream_response(handler.unary_stream, m, streamed=False), deserialize, serialize
        )
    if handler.stream_stream:
        m = _MethodMetrics("bidi_stream", service, method)
        return grpc.stream_stream_rpc_method_handler(
            _wrap_stream_response(handler.stream_stream, m, streamed=True), deserialize, serialize
        )
    return handler
