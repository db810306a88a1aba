"""The synchronous client.

    with ScreeningClient("localhost:50051", timeout=5) as client:
        reply = client.screen_party({"name": "LIMITED LIABILITY COMPANY AURUS"})
        print(pb.Decision.Name(reply.decision), [m.entity_id for m in reply.matches])

Every unary call has a deadline (`timeout`, seconds, for all its attempts together) and is
retried with backoff on UNAVAILABLE only (`retry`). The ScreenParties stream is not retried:
the batch command resumes it from the first unanswered item.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any, TypeVar

import grpc

from screening_client import requests
from screening_client._proto import screening_pb2 as pb
from screening_client._proto import screening_pb2_grpc as pb_grpc
from screening_client.channel import ChannelConfig
from screening_client.retry import RetryPolicy

DEFAULT_TIMEOUT = 10.0
Reply = TypeVar("Reply")
PartyLike = Mapping[str, Any] | pb.Party


def channel_config(
    target: str | ChannelConfig,
    *,
    tls: bool = False,
    root_certificates: bytes | str | Path | None = None,
    token: str | None = None,
) -> ChannelConfig:
    if isinstance(target, ChannelConfig):
        return target
    return ChannelConfig(target, tls=tls, root_certificates=root_certificates, token=token)


class ScreeningClient:
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
        self._channel = self.config.sync_channel()
        self._stub = pb_grpc.ScreeningServiceStub(self._channel)
        self._metadata = self.config.metadata()

    def close(self) -> None:
        self._channel.close()

    def __enter__(self) -> ScreeningClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _call(self, method: Callable[..., Reply], request: Any, timeout: float | None) -> Reply:
        deadline = time.monotonic() + (self.timeout if timeout is None else timeout)
        attempt = 0
        while True:
            attempt += 1
            remaining = deadline - time.monotonic()
            try:
                return method(request, timeout=max(remaining, 0.001), metadata=self._metadata)
            except grpc.RpcError as exc:
                code = exc.code() if isinstance(exc, grpc.Call) else None
                remaining = deadline - time.monotonic()
                if not self.retry.should_retry(code, attempt, remaining):
                    raise
                delay = min(self.retry.backoff(attempt), remaining)
                if self.retry.on_retry is not None and code is not None:
                    self.retry.on_retry(attempt, code, delay)
                time.sleep(delay)

    # -- RPCs ----------------------------------------------------------------------------

    def screen_party(
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
        return self._call(self._stub.ScreenParty, request, timeout)

    def screen_shipment(
        self,
        shipment: Mapping[str, Any] | pb.ScreenShipmentRequest,
        *,
        timeout: float | None = None,
    ) -> pb.ScreenShipmentResponse:
        return self._call(self._stub.ScreenShipment, requests.shipment_request(shipment), timeout)

    def screen_parties(
        self,
        items: Iterable[PartyLike | pb.ScreenPartyRequest],
        *,
        timeout: float | None = None,
    ) -> Iterator[pb.ScreenPartiesResponse]:
        """Stream a batch; answers come back in order, one per item (an item's own error
        does not end the stream). `timeout` bounds the whole stream (default: none)."""
        stream = (
            pb.ScreenPartiesRequest(request=requests.screen_party_request(item)) for item in items
        )
        responses: Iterator[pb.ScreenPartiesResponse] = self._stub.ScreenParties(
            stream, timeout=timeout, metadata=self._metadata
        )
        return responses

    def compare_parties(
        self, left: PartyLike, right: PartyLike, *, timeout: float | None = None
    ) -> pb.ComparePartiesResponse:
        request = pb.ComparePartiesRequest(
            left=requests.party(left, where="left"), right=requests.party(right, where="right")
        )
        return self._call(self._stub.CompareParties, request, timeout)

    def get_entity(self, entity_id: str, *, timeout: float | None = None) -> pb.Entity:
        reply = self._call(self._stub.GetEntity, pb.GetEntityRequest(entity_id=entity_id), timeout)
        return reply.entity

    def get_data_status(self, *, timeout: float | None = None) -> pb.GetDataStatusResponse:
        return self._call(self._stub.GetDataStatus, pb.GetDataStatusRequest(), timeout)

    def list_changes(
        self, source: str = "", limit: int = 0, *, timeout: float | None = None
    ) -> pb.ListChangesResponse:
        request = pb.ListChangesRequest(source=source, limit=limit)
        return self._call(self._stub.ListChanges, request, timeout)
