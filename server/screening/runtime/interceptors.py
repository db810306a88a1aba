"""Wrapping each method's handler once: the base of the gRPC metrics (observability) and of
the message size check (api).

A HandlerWrapper works two ways:
- as a grpc.aio server interceptor, when the server has per-call interceptors anyway (the
  token check, which refuses a call before its handler and must still be counted);
- at registration, through WrappingRegistrar, when it has none: the handlers are wrapped as
  services are added, and grpc.aio runs no interceptor round on each call (the round costs
  several coroutines per call, on a path that is otherwise a dictionary lookup).
Every server registers its services through WrappingRegistrar (see why there).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, Sequence

import grpc

Wrap = Callable[[grpc.RpcMethodHandler, str], grpc.RpcMethodHandler]


class _OncePerMethod:
    """`wrap` applied once per method and handler object, then served from memory."""

    def __init__(self, wrap: Wrap) -> None:
        self._wrap = wrap
        self._wrapped: dict[str, tuple[grpc.RpcMethodHandler, grpc.RpcMethodHandler]] = {}

    def __call__(self, handler: grpc.RpcMethodHandler, method: str) -> grpc.RpcMethodHandler:
        cached = self._wrapped.get(method)
        if cached is not None and cached[0] is handler:
            return cached[1]
        wrapped = self._wrap(handler, method)
        self._wrapped[method] = (handler, wrapped)
        return wrapped


class HandlerWrapper(grpc.aio.ServerInterceptor):
    """Calls `wrap` once per method and handler object; unknown methods pass."""

    def __init__(self) -> None:
        self._wrapped = _OncePerMethod(self.wrap)

    async def intercept_service(
        self,
        continuation: Callable[[grpc.HandlerCallDetails], Awaitable[grpc.RpcMethodHandler]],
        handler_call_details: grpc.HandlerCallDetails,
    ) -> grpc.RpcMethodHandler:
        handler = await continuation(handler_call_details)
        if handler is None:
            return handler
        return self._wrapped(handler, handler_call_details.method)

    def wrap(self, handler: grpc.RpcMethodHandler, method: str) -> grpc.RpcMethodHandler:
        raise NotImplementedError


def wrap_handler(
    wrappers: Sequence[HandlerWrapper], handler: grpc.RpcMethodHandler, method: str
) -> grpc.RpcMethodHandler:
    """`handler` wrapped by `wrappers`, the first outermost (as interceptors are ordered)."""
    for wrapper in reversed(wrappers):
        handler = wrapper.wrap(handler, method)
    return handler


def answers_serialized(handler: grpc.RpcMethodHandler) -> grpc.RpcMethodHandler:
    """The handler, free to return its response already serialized (bytes) as well as a
    message. A repeated answer is kept serialized (api/repeat.py): parsing it only for gRPC
    to serialize it again cost more than the rest of such a call."""
    serialize = handler.response_serializer
    if serialize is None:
        return handler

    def serialize_or_pass(response: object) -> bytes:
        return response if response.__class__ is bytes else serialize(response)

    return handler._replace(response_serializer=serialize_or_pass)  # type: ignore[attr-defined]


class _WrappedGenericHandler(grpc.GenericRpcHandler):
    def __init__(self, inner: grpc.GenericRpcHandler, wrappers: Sequence[HandlerWrapper]) -> None:
        self._inner = inner
        self._wrapped = _OncePerMethod(
            lambda handler, method: answers_serialized(wrap_handler(wrappers, handler, method))
        )

    def service(
        self, handler_call_details: grpc.HandlerCallDetails
    ) -> grpc.RpcMethodHandler | None:
        handler = self._inner.service(handler_call_details)
        if handler is None:
            return handler
        return self._wrapped(handler, handler_call_details.method)


class WrappingRegistrar:
    """Stands in for a grpc.aio server while services are added to it (the generated
    `add_*Servicer_to_server` functions, health, reflection): every method handler reaches
    the server wrapped by `wrappers`, and free to answer already serialized
    (`answers_serialized`).

    Only the generic handlers are passed on. The generated code also registers each method
    on its own. grpc.aio then keeps one pending call request per registered method, and for
    every call it waits on all of them (asyncio.wait over 19 tasks here). The generic
    handler serves the same methods with one dictionary lookup. Measured: 15-25% more
    throughput, and less CPU per call at moderate load."""

    def __init__(self, server: grpc.aio.Server, wrappers: Sequence[HandlerWrapper] = ()) -> None:
        self._server = server
        self._wrappers = tuple(wrappers)

    def add_generic_rpc_handlers(self, handlers: Sequence[grpc.GenericRpcHandler]) -> None:
        handlers = [_WrappedGenericHandler(handler, self._wrappers) for handler in handlers]
        self._server.add_generic_rpc_handlers(tuple(handlers))

    def add_registered_method_handlers(
        self, service: str, handlers: Mapping[str, grpc.RpcMethodHandler]
    ) -> None:
        """Served by the generic handler registered with them (see the class docstring)."""
