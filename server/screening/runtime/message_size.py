"""Requests over the message size limit answered INVALID_ARGUMENT naming `request`.

gRPC's own limit refuses a large message before any handler runs, with RESOURCE_EXHAUSTED and
no field named. So the transport limit is set at TRANSPORT_FACTOR times the configured one (a
hard cap that still bounds memory), and between the two the request deserializer hands over
an `Oversized` marker instead of decoding: a unary call is answered INVALID_ARGUMENT, and an
item of the ScreenParties stream gets its own ItemError (api/batch_rpcs.py).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import grpc

from screening.api.error_status import abort_invalid
from screening.api.validation import Oversized
from screening.runtime.interceptors import HandlerWrapper

# The transport refuses (RESOURCE_EXHAUSTED) only past this multiple of the configured limit.
TRANSPORT_FACTOR = 4


def _checked(deserialize: Callable[[bytes], Any] | None, limit: int) -> Callable[[bytes], Any]:
    def checked(data: bytes) -> Any:
        if len(data) > limit:
            return Oversized(len(data), limit)
        return deserialize(data) if deserialize is not None else data

    return checked


def _refuse_oversized(behavior: Callable[..., Awaitable[Any]]) -> Callable[..., Awaitable[Any]]:
    async def unary_request(request: Any, context: grpc.aio.ServicerContext) -> Any:
        if type(request) is Oversized:
            await abort_invalid(context, request.violations())
        return await behavior(request, context)

    return unary_request


def _refuse_oversized_stream(behavior: Callable[..., Any]) -> Callable[..., Any]:
    async def unary_request(request: Any, context: grpc.aio.ServicerContext) -> Any:
        if type(request) is Oversized:
            await abort_invalid(context, request.violations())
        async for response in behavior(request, context):
            yield response

    return unary_request


class MessageSizeInterceptor(HandlerWrapper):
    """`item_checked`: methods with streamed requests whose handler answers an Oversized item
    itself; other streamed-request methods keep gRPC's own limit only."""

    def __init__(self, limit: int, item_checked: frozenset[str] = frozenset()) -> None:
        super().__init__()
        self.limit = limit
        self.item_checked = item_checked

    def wrap(self, handler: grpc.RpcMethodHandler, method: str) -> grpc.RpcMethodHandler:
        return self._wrap(handler, method in self.item_checked)

    def _wrap(self, handler: grpc.RpcMethodHandler, item_checked: bool) -> grpc.RpcMethodHandler:
        deserialize = _checked(handler.request_deserializer, self.limit)
        serialize = handler.response_serializer
        if handler.unary_unary:
            return grpc.unary_unary_rpc_method_handler(
                _refuse_oversized(handler.unary_unary), deserialize, serialize
            )
        if handler.unary_stream:
            return grpc.unary_stream_rpc_method_handler(
                _refuse_oversized_stream(handler.unary_stream), deserialize, serialize
            )
        # Streamed requests: each item is checked where it is answered.
        if not item_checked:
            return handler
        if handler.stream_unary:
            return grpc.stream_unary_rpc_method_handler(
                handler.stream_unary, deserialize, serialize
            )
        if handler.stream_stream:
            return grpc.stream_stream_rpc_method_handler(
                handler.stream_stream, deserialize, serialize
            )
        return handler
