"""The asyncio client: the same calls as `ScreeningClient`, awaitable.

async with AsyncScreeningClient("localhost:50051") as client:
    reply = await client.screen_party({"name": "LIMITED LIABILITY COMPANY AURUS"})
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterable, Awaitable, Callable, Iterable, Mapping
from pathlib import Path
from typing import Any, TypeVar

import grpc

from screening_client import requests
from screening_client._proto import screening_pb2 as pb
from screening_client._proto import screening_pb2_grpc as pb_grpc
from screening_client.channel import ChannelConfig
from screening_client.client import DEFAULT_TIMEOUT, PartyLike, channel_config
from screening_client.retry import RetryPolicy

Reply = TypeVar("Reply")


class AsyncScreeningClient:
    def __init__(
        self,
        target: str | ChannelConfig,
        *,
        tls: bool = False,
        root_certificates: bytes | str | Path | None = None,
        token: str | None = None,
        timeout: float = DEFAULT_TIMEOUT,
        retry: RetryPolicy | None = None,
    ) -> None:
        self.config = channel_config(
            target, tls=tls, root_certificates=root_certificates, token=token
        )
        self.timeout = timeout
        self.retry = retry or RetryPolicy()
        self._channel = self.config.async_channel()
        self._stub = pb_grpc.ScreeningServiceStub(self._channel)
        self._metadata = self.config.metadata()

    async def close(self) -> None:
        await self._channel.close(None)

    async def __aenter__(self) -> AsyncScreeningClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def _call(
        self, method: Callable[..., Awaitable[Reply]], request: Any, timeout: float | None
    ) -> Reply:
        deadline = time.monotonic() + (self.timeout if timeout is None else timeout)
        attempt = 0
        while True:
            attempt += 1
            remaining = deadline - time.monotonic()
            try:
                return await method(request, timeout=max(remaining, 0.001), metadata=self._metadata)
            except grpc.aio.AioRpcError as exc:
                code = exc.code()
                remaining = deadline - time.monotonic()
                if not self.retry.should_retry(code, attempt, remaining):
                    raise
                delay = min(self.retry.backoff(attempt), remaining)
                if self.retry.on_retry is not None:
                    self.retry.on_retry(attempt, code, delay)
                await asyncio.sleep(delay)

    # -- RPCs ----------------------------------------------------------------------------

    async def screen_party(
        self,
        party: PartyLike | pb.ScreenPartyRequest,
        *,
        min_score: float | None = None,
        sources: Iterable[str] = (),
        client_ref: str = "",
        max_results: int = 0,
        timeout: float | None = None,
    ) -> pb.ScreenPartyResponse:
        request = requests.screen_party_request(
            party,
            min_score=min_score,
            sources=sources,
            client_ref=client_ref,
            max_results=max_results,
        )
        return await self._call(self._stub.ScreenParty, request, timeout)

    async def screen_shipment(
        self,
        shipment: Mapping[str, Any] | pb.ScreenShipmentRequest,
        *,
        timeout: float | None = None,
    ) -> pb.ScreenShipmentResponse:
        return await self._call(
            self._stub.ScreenShipment, requests.shipment_request(shipment), timeout
        )

    def screen_parties(
        self,
        items: AsyncIterable[pb.ScreenPartiesRequest] | Iterable[pb.ScreenPartiesRequest],
        *,
        timeout: float | None = None,
    ) -> grpc.aio.StreamStreamCall:
        """Open the batch stream: iterate the returned call (`async for`) for the answers,
        in request order. `items` are ready ScreenPartiesRequest messages (see
        `requests.screen_party_request`); the stream is not retried."""
        call: grpc.aio.StreamStreamCall = self._stub.ScreenParties(
            items, timeout=timeout, metadata=self._metadata
        )
        return call

    async def compare_parties(
        self, left: PartyLike, right: PartyLike, *, timeout: float | None = None
    ) -> pb.ComparePartiesResponse:
        request = pb.ComparePartiesRequest(
            left=requests.party(left, where="left"), right=requests.party(right, where="right")
        )
        return await self._call(self._stub.CompareParties, request, timeout)

    async def get_entity(self, entity_id: str, *, timeout: float | None = None) -> pb.Entity:
        reply = await self._call(
            self._stub.GetEntity, pb.GetEntityRequest(entity_id=entity_id), timeout
        )
        return reply.entity

    async def get_data_status(self, *, timeout: float | None = None) -> pb.GetDataStatusResponse:
        return await self._call(self._stub.GetDataStatus, pb.GetDataStatusRequest(), timeout)

    async def list_changes(
        self, source: str = "", limit: int = 0, *, timeout: float | None = None
    ) -> pb.ListChangesResponse:
        request = pb.ListChangesRequest(source=source, limit=limit)
        return await self._call(self._stub.ListChanges, request, timeout)
