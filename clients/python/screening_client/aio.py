"""The asyncio client: the same calls as `ScreeningClient`, awaitable.

async with AsyncScreeningClient("localhost:50051") as client:
    reply = await client.screen_party({"name": "LIMITED LIABILITY COMPANY AURUS"})

Errors and retries as in the sync client: a failed call raises a `ScreeningError` of the same
type, and only idempotent calls are retried, on UNAVAILABLE.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import time
from collections.abc import AsyncIterable, AsyncIterator, Iterable, Mapping
from pathlib import Path
from typing import Any

import grpc

from screening_client import requests
from screening_client._proto import screening_pb2 as pb
from screening_client._proto import screening_pb2_grpc as pb_grpc
from screening_client.channel import ChannelConfig
from screening_client.client import DEFAULT_TIMEOUT, PartyLike, channel_config
from screening_client.errors import from_rpc_error
from screening_client.retry import RetryPolicy


class BatchStream:
    """An open ScreenParties stream: `async for reply in stream` gives the answers in request
    order; a failure of the stream itself raises a ScreeningError. `code()` awaits the
    call's status, `cancel()` ends it."""

    def __init__(self, call: grpc.aio.StreamStreamCall) -> None:
        self._call = call

    async def __aiter__(self) -> AsyncIterator[pb.ScreenPartiesResponse]:
        try:
            async for reply in self._call:
                yield reply
        except grpc.aio.AioRpcError as exc:
            raise from_rpc_error(exc, "ScreenParties") from exc

    async def code(self) -> grpc.StatusCode:
        code: grpc.StatusCode = await self._call.code()
        return code

    def cancel(self) -> bool:
        return bool(self._call.cancel())


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

    async def _call(self, name: str, request: Any, timeout: float | None) -> Any:
        """Call RPC `name`: retried as `retry` allows, failures raised as ScreeningError."""
        method = getattr(self._stub, name)
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
                if not self.retry.should_retry(code, attempt, remaining, name):
                    raise from_rpc_error(exc, name) from exc
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
        return await self._call("ScreenParty", request, timeout)

    async def screen_shipment(
        self,
        shipment: Mapping[str, Any] | pb.ScreenShipmentRequest,
        *,
        timeout: float | None = None,
    ) -> pb.ScreenShipmentResponse:
        return await self._call("ScreenShipment", requests.shipment_request(shipment), timeout)

    def screen_parties(
        self,
        items: AsyncIterable[pb.ScreenPartiesRequest] | Iterable[pb.ScreenPartiesRequest],
        *,
        timeout: float | None = None,
    ) -> BatchStream:
        """Open the batch stream: iterate it (`async for`) for the answers, in request
        order. `items` are ready ScreenPartiesRequest messages (see
        `requests.screen_party_request`); the stream is not retried."""
        call: grpc.aio.StreamStreamCall = self._stub.ScreenParties(
            items, timeout=timeout, metadata=self._metadata
        )
        return BatchStream(call)

    async def compare_parties(
        self, left: PartyLike, right: PartyLike, *, timeout: float | None = None
    ) -> pb.ComparePartiesResponse:
        request = pb.ComparePartiesRequest(
            left=requests.party(left, where="left"), right=requests.party(right, where="right")
        )
        return await self._call("CompareParties", request, timeout)

    async def get_entity(self, entity_id: str, *, timeout: float | None = None) -> pb.Entity:
        reply = await self._call("GetEntity", pb.GetEntityRequest(entity_id=entity_id), timeout)
        return reply.entity

    async def get_data_status(self, *, timeout: float | None = None) -> pb.GetDataStatusResponse:
        return await self._call("GetDataStatus", pb.GetDataStatusRequest(), timeout)

    async def list_changes(
        self, source: str = "", limit: int = 0, *, timeout: float | None = None
    ) -> pb.ListChangesResponse:
        request = pb.ListChangesRequest(source=source, limit=limit)
        return await self._call("ListChanges", request, timeout)

    # -- analyst calls (need the admin permission) ----------------------------------------

    async def accept_match(
        self,
        party: PartyLike,
        entity_id: str,
        *,
        analyst: str,
        reason: str,
        expires_at: dt.datetime,
        timeout: float | None = None,
    ) -> pb.Acceptance:
        """Record a cleared false positive. Not retried: each call records an acceptance."""
        request = requests.accept_match_request(
            party, entity_id, analyst=analyst, reason=reason, expires_at=expires_at
        )
        return (await self._call("AcceptMatch", request, timeout)).acceptance

    async def revoke_acceptance(
        self, acceptance_id: str, *, analyst: str, reason: str, timeout: float | None = None
    ) -> pb.Acceptance:
        request = pb.RevokeAcceptanceRequest(
            acceptance_id=acceptance_id, analyst=analyst, reason=reason
        )
        return (await self._call("RevokeAcceptance", request, timeout)).acceptance

    async def list_acceptances(
        self,
        entity_id: str = "",
        *,
        include_inactive: bool = False,
        limit: int = 0,
        timeout: float | None = None,
    ) -> list[pb.Acceptance]:
        request = pb.ListAcceptancesRequest(
            entity_id=entity_id, include_inactive=include_inactive, limit=limit
        )
        return list((await self._call("ListAcceptances", request, timeout)).acceptances)

    async def monitor_party(
        self, party: PartyLike, *, min_score: float | None = None, timeout: float | None = None
    ) -> pb.MonitorPartyResponse:
        request = pb.MonitorPartyRequest(party=requests.party(party), min_score=min_score)
        return await self._call("MonitorParty", request, timeout)

    async def stop_monitoring(
        self, monitor_id: str, *, timeout: float | None = None
    ) -> pb.MonitoredParty:
        request = pb.StopMonitoringRequest(monitor_id=monitor_id)
        return (await self._call("StopMonitoring", request, timeout)).monitored

    async def list_monitored_parties(
        self, limit: int = 0, *, timeout: float | None = None
    ) -> pb.ListMonitoredPartiesResponse:
        request = pb.ListMonitoredPartiesRequest(limit=limit)
        return await self._call("ListMonitoredParties", request, timeout)
