"""The synchronous client.

    with ScreeningClient("localhost:50051", timeout=5) as client:
        reply = client.screen_party({"name": "LIMITED LIABILITY COMPANY AURUS"})
        print(pb.Decision.Name(reply.decision), [m.entity_id for m in reply.matches])

Every unary call has a deadline (`timeout`, seconds, for all its attempts together). Calls
that may run twice (reads, screenings, MonitorParty; `retry.IDEMPOTENT`) are retried with
backoff on UNAVAILABLE only (`retry`); AcceptMatch, RevokeAcceptance and StopMonitoring never
are. The ScreenParties stream is not retried: the batch command resumes it from the first
unanswered item. A failed call raises a `ScreeningError` (errors.py), never a raw grpc error.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any

import grpc

from screening_client import requests
from screening_client._proto import screening_pb2 as pb
from screening_client._proto import screening_pb2_grpc as pb_grpc
from screening_client.channel import ChannelConfig
from screening_client.errors import from_rpc_error
from screening_client.retry import RetryPolicy

DEFAULT_TIMEOUT = 10.0
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

    def _call(self, name: str, request: Any, timeout: float | None) -> Any:
        """Call RPC `name`: retried as `retry` allows, failures raised as ScreeningError."""
        method = getattr(self._stub, name)
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
                if not self.retry.should_retry(code, attempt, remaining, name):
                    raise from_rpc_error(exc, name) from exc
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
        return self._call("ScreenParty", request, timeout)

    def screen_shipment(
        self,
        shipment: Mapping[str, Any] | pb.ScreenShipmentRequest,
        *,
        timeout: float | None = None,
    ) -> pb.ScreenShipmentResponse:
        return self._call("ScreenShipment", requests.shipment_request(shipment), timeout)

    def screen_parties(
        self,
        items: Iterable[PartyLike | pb.ScreenPartyRequest],
        *,
        timeout: float | None = None,
    ) -> Iterator[pb.ScreenPartiesResponse]:
        """Stream a batch; answers come back in order, one per item (an item's own error
        does not end the stream). `timeout` bounds the whole stream (default: none). A
        failure of the stream itself raises a ScreeningError while iterating."""
        stream = (
            pb.ScreenPartiesRequest(request=requests.screen_party_request(item)) for item in items
        )
        responses: Iterator[pb.ScreenPartiesResponse] = self._stub.ScreenParties(
            stream, timeout=timeout, metadata=self._metadata
        )
        try:
            yield from responses
        except grpc.RpcError as exc:
            raise from_rpc_error(exc, "ScreenParties") from exc

    def compare_parties(
        self, left: PartyLike, right: PartyLike, *, timeout: float | None = None
    ) -> pb.ComparePartiesResponse:
        request = pb.ComparePartiesRequest(
            left=requests.party(left, where="left"), right=requests.party(right, where="right")
        )
        return self._call("CompareParties", request, timeout)

    def get_entity(self, entity_id: str, *, timeout: float | None = None) -> pb.Entity:
        reply = self._call("GetEntity", pb.GetEntityRequest(entity_id=entity_id), timeout)
        return reply.entity

    def get_data_status(self, *, timeout: float | None = None) -> pb.GetDataStatusResponse:
        return self._call("GetDataStatus", pb.GetDataStatusRequest(), timeout)

    def list_changes(
        self, source: str = "", limit: int = 0, *, timeout: float | None = None
    ) -> pb.ListChangesResponse:
        request = pb.ListChangesRequest(source=source, limit=limit)
        return self._call("ListChanges", request, timeout)

    # -- analyst calls (need the admin permission) ----------------------------------------

    def accept_match(
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
        return self._call("AcceptMatch", request, timeout).acceptance

    def revoke_acceptance(
        self, acceptance_id: str, *, analyst: str, reason: str, timeout: float | None = None
    ) -> pb.Acceptance:
        request = pb.RevokeAcceptanceRequest(
            acceptance_id=acceptance_id, analyst=analyst, reason=reason
        )
        return self._call("RevokeAcceptance", request, timeout).acceptance

    def list_acceptances(
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
        return list(self._call("ListAcceptances", request, timeout).acceptances)

    def monitor_party(
        self, party: PartyLike, *, min_score: float | None = None, timeout: float | None = None
    ) -> pb.MonitorPartyResponse:
        request = pb.MonitorPartyRequest(party=requests.party(party), min_score=min_score)
        return self._call("MonitorParty", request, timeout)

    def stop_monitoring(
        self, monitor_id: str, *, timeout: float | None = None
    ) -> pb.MonitoredParty:
        request = pb.StopMonitoringRequest(monitor_id=monitor_id)
        return self._call("StopMonitoring", request, timeout).monitored

    def list_monitored_parties(
        self, limit: int = 0, *, timeout: float | None = None
    ) -> pb.ListMonitoredPartiesResponse:
        request = pb.ListMonitoredPartiesRequest(limit=limit)
        return self._call("ListMonitoredParties", request, timeout)
