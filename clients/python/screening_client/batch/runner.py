"""Running a batch: parties through the ScreenParties stream (falling back to concurrent
ScreenParty calls when the server does not offer the stream), shipments through concurrent
ScreenShipment calls. Results are written in input order as they arrive."""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import grpc

from screening_client import requests
from screening_client._proto import screening_pb2 as pb
from screening_client.aio import AsyncScreeningClient
from screening_client.batch.inputs import Item, Kind
from screening_client.batch.results import (
    Record,
    ResultWriter,
    error_record,
    party_record,
    shipment_record,
)
from screening_client.errors import ItemError, ScreeningError

Mode = Literal["auto", "stream", "unary"]
# A stream cut short (server restart, connection reset) is reopened for what is left.
STREAM_REOPENS = 5
# Statuses that say nothing about one item but about the whole run: stop (resumable) rather
# than record the same error against every row.
FATAL = frozenset(
    {
        grpc.StatusCode.UNAVAILABLE,
        grpc.StatusCode.UNIMPLEMENTED,
        grpc.StatusCode.UNAUTHENTICATED,
        grpc.StatusCode.PERMISSION_DENIED,
    }
)


class StreamUnavailable(Exception):
    """--mode stream against a server without ScreenParties."""


@dataclass
class RunStats:
    screened: int = 0
    seconds: float = 0.0
    via: str = ""
    decisions: Counter[str] = field(default_factory=Counter)
    stream_reopened: int = 0

    @property
    def per_second(self) -> float:
        return self.screened / self.seconds if self.seconds else 0.0


class OrderedSink:
    """Writes records in input order: a record waits until every earlier row is written.

    Senders call `wait_turn(position)` before sending the item at that position, so no more
    than `window` items are ever in flight or held back (memory stays bounded however
    uneven the connections are)."""

    def __init__(
        self,
        rows: list[int],
        writer: ResultWriter,
        on_write: Callable[[Record], None],
        window: int = 256,
    ) -> None:
        self._order = rows
        self._next = 0
        self._held: dict[int, Record] = {}
        self._writer = writer
        self._on_write = on_write
        self._window = window
        self._advanced = asyncio.Event()

    @property
    def written(self) -> int:
        return self._next

    def put(self, record: Record) -> None:
        self._held[record["row"]] = record
        moved = False
        while self._next < len(self._order) and self._order[self._next] in self._held:
            ready = self._held.pop(self._order[self._next])
            self._writer.write(ready)
            self._on_write(ready)
            self._next += 1
            moved = True
        if moved:
            self._advanced.set()

    async def wait_turn(self, position: int) -> None:
        while position >= self._next + self._window:
            self._advanced.clear()
            await self._advanced.wait()


Prepared = list[tuple[int, Item, pb.ScreenPartyRequest]]  # (position in the run, item, request)


@dataclass
class Batch:
    """`clients`: one per connection. The server's workers share one port and the kernel
    spreads connections (not calls) over them, as a layer-4 load balancer spreads them over
    replicas: several connections put several workers or replicas to work."""

    clients: list[AsyncScreeningClient]
    kind: Kind
    writer: ResultWriter
    mode: Mode = "auto"
    concurrency: int = 16
    deadline: float = 10.0
    request_defaults: dict[str, Any] = field(default_factory=dict)
    on_record: Callable[[Record], None] = lambda record: None

    async def run(self, items: list[Item]) -> RunStats:
        stats = RunStats()

        def written(record: Record) -> None:
            stats.screened += 1
            stats.decisions[record["decision"]] += 1
            self.on_record(record)

        sink = OrderedSink(
            [i.row for i in items], self.writer, written, window=max(256, 4 * self.concurrency)
        )
        started = time.perf_counter()
        if self.kind == "shipments":
            stats.via = "ScreenShipment (concurrent unary calls)"
            await self._unary(items, sink)
        else:
            prepared = self._prepare(items, sink)
            if self.mode == "unary":
                stats.via = "ScreenParty (concurrent unary calls)"
                await self._unary_parties(prepared, sink)
            else:
                stats.via = f"ScreenParties streams ({len(self.clients)})"
                if not await self._server_streams():
                    if self.mode == "stream":
                        raise StreamUnavailable("the server does not implement ScreenParties")
                    stats.via = "ScreenParty (concurrent unary calls; stream UNIMPLEMENTED)"
                    await self._unary_parties(prepared, sink)
                    stats.seconds = time.perf_counter() - started
                    return stats
                lefts = await asyncio.gather(
                    *(
                        self._stream(prepared[i :: len(self.clients)], client, sink, stats)
                        for i, client in enumerate(self.clients)
                    )
                )
                if any(left is not None for left in lefts):  # no stream: unary calls instead
                    stats.via = "ScreenParty (concurrent unary calls; stream UNIMPLEMENTED)"
                    rest = sorted((e for left in lefts for e in left or []), key=lambda e: e[0])
                    await self._unary_parties(rest, sink)
        stats.seconds = time.perf_counter() - started
        return stats

    async def _server_streams(self) -> bool:
        """Whether the server implements ScreenParties: an empty stream answers OK (no items)
        or UNIMPLEMENTED. Asked before sending anything, because a server that refuses the
        call at once can make the first send fail with a bare INTERNAL instead."""
        client = self.clients[0]
        for attempt in range(1, client.retry.max_attempts + 1):
            call = client.screen_parties(iter(()), timeout=self.deadline)
            try:
                async for _ in call:
                    pass
                return True
            except ScreeningError as exc:
                if exc.code() == grpc.StatusCode.UNIMPLEMENTED:
                    return False
                if (
                    exc.code() != grpc.StatusCode.UNAVAILABLE
                    or attempt == client.retry.max_attempts
                ):
                    raise
                await asyncio.sleep(client.retry.backoff(attempt))
        return False

    def _prepare(self, items: list[Item], sink: OrderedSink) -> Prepared:
        """Requests for the items; an item the client cannot turn into one is answered with
        its error at once (nothing is sent for it)."""
        out = []
        for position, item in enumerate(items):
            try:
                request = requests.screen_party_request(item.data, **self.request_defaults)
            except ValueError as exc:
                error = ItemError.client_side(exc)
                sink.put(error_record(item.row, item.data, self.kind, error))
                continue
            out.append((position, item, request))
        return out

    async def _stream(
        self,
        share: Prepared,
        client: AsyncScreeningClient,
        sink: OrderedSink,
        stats: RunStats,
    ) -> Prepared | None:
        """Send a share of the items through one stream; returns the items left unanswered
        when the server does not implement it (None when all were answered)."""
        pending = share
        reopens = 0
        while pending:
            answered = 0
            # The first item goes alone: only once it is answered does the rest follow, so a
            # server without the stream (or refusing the call) answers before we pour data
            # into a dead stream (which surfaces as a confusing INTERNAL send failure).
            first_answer = asyncio.Event()

            async def outgoing(
                batch: Prepared, opened: asyncio.Event
            ) -> AsyncIterator[pb.ScreenPartiesRequest]:
                for sent, (position, _, request) in enumerate(batch):
                    if sent == 1:
                        await opened.wait()
                    await sink.wait_turn(position)
                    yield pb.ScreenPartiesRequest(request=request)

            call = client.screen_parties(outgoing(pending, first_answer))
            try:
                async for reply in call:
                    first_answer.set()
                    item = pending[reply.index][1]
                    if reply.WhichOneof("result") == "response":
                        sink.put(party_record(item.row, item.data, reply.response))
                    else:
                        error = ItemError.from_proto(reply.error)
                        sink.put(error_record(item.row, item.data, self.kind, error))
                    answered = max(answered, reply.index + 1)
                pending = pending[answered:]
                if pending:  # the server closed the stream early without an error
                    raise RuntimeError(f"stream ended after {answered} of {len(pending)} items")
            except ScreeningError as exc:
                first_answer.set()
                # The call's own status: a failed send can mask it as INTERNAL.
                code = await call.code() or exc.code()
                pending = pending[answered:]
                if code == grpc.StatusCode.UNIMPLEMENTED and answered == 0:
                    if self.mode == "stream":
                        raise
                    return pending
                if code != grpc.StatusCode.UNAVAILABLE or reopens >= STREAM_REOPENS:
                    raise
                reopens += 1
                stats.stream_reopened += 1
                await asyncio.sleep(min(2.0, 0.2 * 2**reopens))
        return None

    async def _unary_parties(self, prepared: Prepared, sink: OrderedSink) -> None:
        async def call(
            client: AsyncScreeningClient, item: Item, request: pb.ScreenPartyRequest
        ) -> Record:
            reply = await client.screen_party(request, timeout=self.deadline)
            return party_record(item.row, item.data, reply)

        await self._pool(prepared, call, sink)

    async def _unary(self, items: list[Item], sink: OrderedSink) -> None:
        async def call(client: AsyncScreeningClient, item: Item, _: None) -> Record:
            try:
                request = requests.shipment_request(item.data)
            except ValueError as exc:
                return error_record(item.row, item.data, self.kind, ItemError.client_side(exc))
            reply = await client.screen_shipment(request, timeout=self.deadline)
            return shipment_record(item.row, item.data, reply)

        await self._pool([(n, item, None) for n, item in enumerate(items)], call, sink)

    async def _pool(
        self,
        work: Sequence[tuple[int, Item, Any]],
        call: Callable[[AsyncScreeningClient, Item, Any], Awaitable[Record]],
        sink: OrderedSink,
    ) -> None:
        """`concurrency` calls in flight, spread over the connections; a call's own failure
        becomes its error record."""
        queue: asyncio.Queue[tuple[int, Item, Any]] = asyncio.Queue()
        for entry in work:
            queue.put_nowait(entry)

        async def worker(client: AsyncScreeningClient) -> None:
            while True:
                try:
                    position, item, request = queue.get_nowait()
                except asyncio.QueueEmpty:
                    return
                await sink.wait_turn(position)
                try:
                    record = await call(client, item, request)
                except ScreeningError as exc:
                    if exc.code() in FATAL:
                        raise  # stop here (retries, if any, are spent): the run can resume
                    record = error_record(
                        item.row, item.data, self.kind, ItemError.from_rpc_error(exc)
                    )
                sink.put(record)

        workers = [
            asyncio.create_task(worker(self.clients[n % len(self.clients)]))
            for n in range(max(1, self.concurrency))
        ]
        try:
            await asyncio.gather(*workers)
        finally:
            for task in workers:
                task.cancel()
