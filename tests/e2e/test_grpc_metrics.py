"""The gRPC metrics on a real grpc.aio server (as an interceptor, and wrapped at
registration): unary, client, server and bidi streams (generator and context.read/write
styles), aborted calls, handler exceptions,
cancelled calls and expired deadlines, counted with the go-grpc-prometheus names and labels.

The server runs in this process, so the samples are read from prometheus_client's registry.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator

import grpc
import pytest
from prometheus_client import REGISTRY

from screening.observability.metrics import flush_buffered
from screening.runtime.grpc_metrics import GrpcMetricsInterceptor
from screening.runtime.interceptors import WrappingRegistrar
from tests.conftest import free_port

SERVICE = "test.v1.Probe"
# The server fixture and the tests share one event loop.
pytestmark = pytest.mark.asyncio(loop_scope="session")


def identity(data: bytes) -> bytes:
    return data


async def unary(request: bytes, context: grpc.aio.ServicerContext) -> bytes:
    if request == b"abort":
        await context.abort(grpc.StatusCode.INVALID_ARGUMENT, "bad field")
    if request == b"raise":
        raise RuntimeError("handler bug")
    if request == b"slow":
        await asyncio.sleep(5)
    return request


async def server_stream(request: bytes, context: grpc.aio.ServicerContext) -> AsyncIterator[bytes]:
    for _ in range(3):
        yield request
    if request == b"abort":
        await context.abort(grpc.StatusCode.FAILED_PRECONDITION, "after three")


async def client_stream(requests: AsyncIterator[bytes], context: grpc.aio.ServicerContext) -> bytes:
    return b"".join([r async for r in requests])


async def bidi(
    requests: AsyncIterator[bytes], context: grpc.aio.ServicerContext
) -> AsyncIterator[bytes]:
    async for request in requests:
        yield request


async def bidi_read_write(_: object, context: grpc.aio.ServicerContext) -> None:
    while True:
        message = await context.read()
        if message is grpc.aio.EOF:  # type: ignore[attr-defined]
            return
        await context.write(message)
        await context.write(message)


HANDLERS = {
    "Unary": grpc.unary_unary_rpc_method_handler(unary, identity, identity),
    "ServerStream": grpc.unary_stream_rpc_method_handler(server_stream, identity, identity),
    "ClientStream": grpc.stream_unary_rpc_method_handler(client_stream, identity, identity),
    "Bidi": grpc.stream_stream_rpc_method_handler(bidi, identity, identity),
    "BidiReadWrite": grpc.stream_stream_rpc_method_handler(bidi_read_write, identity, identity),
}


# The metrics as an interceptor, and wrapped at registration, fed as the generated
# `add_*Servicer_to_server` functions feed a server (generic and per-method registration).
@pytest.fixture(scope="module", params=["interceptor", "registrar"])
async def channel(request: pytest.FixtureRequest) -> AsyncIterator[grpc.aio.Channel]:
    if request.param == "interceptor":
        server = grpc.aio.server(interceptors=[GrpcMetricsInterceptor()])
        server.add_generic_rpc_handlers([grpc.method_handlers_generic_handler(SERVICE, HANDLERS)])
    else:
        server = grpc.aio.server()
        registrar = WrappingRegistrar(server, [GrpcMetricsInterceptor()])
        registrar.add_generic_rpc_handlers(
            [grpc.method_handlers_generic_handler(SERVICE, HANDLERS)]
        )
        registrar.add_registered_method_handlers(SERVICE, HANDLERS)
    port = free_port()
    server.add_insecure_port(f"127.0.0.1:{port}")
    await server.start()
    async with grpc.aio.insecure_channel(f"127.0.0.1:{port}") as ch:
        yield ch
    await server.stop(0)


def sample(name: str, method: str, **labels: str) -> float:
    flush_buffered()
    value = REGISTRY.get_sample_value(
        name, {"grpc_service": SERVICE, "grpc_method": method, **labels}
    )
    return value or 0.0


class Delta:
    """Samples before and after a block of calls."""

    def __init__(self, method: str, grpc_type: str) -> None:
        self.method, self.type = method, grpc_type
        self.names = {
            "started": "grpc_server_started_total",
            "received": "grpc_server_msg_received_total",
            "sent": "grpc_server_msg_sent_total",
            "observed": "grpc_server_handling_seconds_count",
        }
        self.before = self.read()

    def read(self) -> dict[str, float]:
        return {
            key: sample(name, self.method, grpc_type=self.type) for key, name in self.names.items()
        }

    def handled(self, code: str) -> float:
        return sample("grpc_server_handled_total", self.method, grpc_type=self.type, grpc_code=code)

    def change(self) -> dict[str, float]:
        after = self.read()
        return {key: after[key] - self.before[key] for key in after}


def requests(*messages: bytes) -> Iterator[bytes]:
    yield from messages


async def test_unary_ok_abort_and_exception(channel: grpc.aio.Channel):
    call = channel.unary_unary(f"/{SERVICE}/Unary")
    delta = Delta("Unary", "unary")
    ok0, bad0, unknown0 = (
        delta.handled("OK"),
        delta.handled("InvalidArgument"),
        delta.handled("Unknown"),
    )
    assert await call(b"hello") == b"hello"
    with pytest.raises(grpc.aio.AioRpcError) as aborted:
        await call(b"abort")
    assert aborted.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    with pytest.raises(grpc.aio.AioRpcError) as failed:
        await call(b"raise")
    assert failed.value.code() == grpc.StatusCode.UNKNOWN
    assert delta.change() == {"started": 3, "received": 3, "sent": 1, "observed": 3}
    assert delta.handled("OK") - ok0 == 1
    assert delta.handled("InvalidArgument") - bad0 == 1
    assert delta.handled("Unknown") - unknown0 == 1


async def test_deadline_exceeded_and_cancelled(channel: grpc.aio.Channel):
    call = channel.unary_unary(f"/{SERVICE}/Unary")
    delta = Delta("Unary", "unary")
    expired0, cancelled0 = delta.handled("DeadlineExceeded"), delta.handled("Canceled")
    with pytest.raises(grpc.aio.AioRpcError) as expired:
        await call(b"slow", timeout=0.2)
    assert expired.value.code() == grpc.StatusCode.DEADLINE_EXCEEDED
    pending = call(b"slow")
    await asyncio.sleep(0.2)
    pending.cancel()
    for _ in range(50):  # the server learns of the cancellation asynchronously
        if delta.handled("Canceled") - cancelled0 == 1:
            break
        await asyncio.sleep(0.1)
    for _ in range(50):
        if delta.handled("DeadlineExceeded") - expired0 == 1:
            break
        await asyncio.sleep(0.1)
    assert delta.handled("Canceled") - cancelled0 == 1
    assert delta.handled("DeadlineExceeded") - expired0 == 1
    assert delta.change()["sent"] == 0


async def test_server_stream_counts_each_message_and_abort(channel: grpc.aio.Channel):
    call = channel.unary_stream(f"/{SERVICE}/ServerStream")
    delta = Delta("ServerStream", "server_stream")
    precondition0 = delta.handled("FailedPrecondition")
    assert [m async for m in call(b"x")] == [b"x"] * 3
    with pytest.raises(grpc.aio.AioRpcError):
        _ = [m async for m in call(b"abort")]
    change = delta.change()
    assert change == {"started": 2, "received": 2, "sent": 6, "observed": 2}
    assert delta.handled("FailedPrecondition") - precondition0 == 1


async def test_client_stream(channel: grpc.aio.Channel):
    call = channel.stream_unary(f"/{SERVICE}/ClientStream")
    delta = Delta("ClientStream", "client_stream")
    ok0 = delta.handled("OK")
    assert await call(requests(b"a", b"b", b"c", b"d")) == b"abcd"
    assert delta.change() == {"started": 1, "received": 4, "sent": 1, "observed": 1}
    assert delta.handled("OK") - ok0 == 1


@pytest.mark.parametrize("method", ["Bidi", "BidiReadWrite"])
async def test_bidi_stream(channel: grpc.aio.Channel, method: str):
    call = channel.stream_stream(f"/{SERVICE}/{method}")
    delta = Delta(method, "bidi_stream")
    ok0 = delta.handled("OK")
    replies = [m async for m in call(requests(b"a", b"b", b"c"))]
    per_request = 1 if method == "Bidi" else 2
    assert len(replies) == 3 * per_request
    assert delta.change() == {
        "started": 1,
        "received": 3,
        "sent": 3 * per_request,
        "observed": 1,
    }
    assert delta.handled("OK") - ok0 == 1
