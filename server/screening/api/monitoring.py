"""MonitorParty, StopMonitoring, ListMonitoredParties, WatchAlerts; and the re-screen of one
monitored counterparty that the monitoring job runs on each new data version."""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
import re
from collections.abc import AsyncIterator

import grpc
import redis

from screening.api import convert
from screening.api.auth import client_of
from screening.api.errors import abort, abort_invalid
from screening.api.trust import Trust
from screening.api.validation import Violations, check_text
from screening.casework.acceptlist import party_key
from screening.casework.audit.trail import AuditUnavailable
from screening.casework.monitoring import Alert, FoundMatch, Monitored, MonitorStore, now_iso
from screening.config import Settings
from screening.index.holder import LoadedIndex
from screening.v1 import screening_pb2 as pb

log = logging.getLogger(__name__)

_STREAM_ID = re.compile(r"^\d{1,20}(-\d{1,20})?$")
WATCH_BLOCK_MS = 1000


def monitored_pb(monitored: Monitored) -> pb.MonitoredParty:
    out = pb.MonitoredParty(
        monitor_id=monitored.monitor_id,
        party=pb.Party.FromString(bytes.fromhex(monitored.party)),
        client=monitored.client,
        min_score=monitored.min_score,
        known_entity_ids=monitored.known,
        data_version=monitored.data_version,
    )
    out.registered_at.FromDatetime(dt.datetime.fromisoformat(monitored.registered_at))
    return out


def alert_pb(alert_id: str, alert: Alert) -> pb.MonitoringAlert:
    out = pb.MonitoringAlert(
        alert_id=alert_id,
        monitor_id=alert.monitor_id,
        party=pb.Party.FromString(bytes.fromhex(alert.party)),
        match=pb.Match.FromString(bytes.fromhex(alert.match)),
        data_version=alert.data_version,
        previous_version=alert.previous_version,
    )
    out.raised_at.FromDatetime(dt.datetime.fromisoformat(alert.raised_at))
    return out


class MonitoringRpcs:
    """Mixed into the servicer; uses its screen_party, settings and trust."""

    settings: Settings
    trust: Trust
    # Set when the worker stops: open WatchAlerts streams end.
    stopping: asyncio.Event | None = None

    async def _index(self, context: grpc.aio.ServicerContext) -> LoadedIndex:
        raise NotImplementedError

    def screen_party(
        self, request: pb.ScreenPartyRequest, index: LoadedIndex, errors: Violations
    ) -> pb.ScreenPartyResponse:
        raise NotImplementedError

    async def _monitors(self, context: grpc.aio.ServicerContext) -> MonitorStore:
        store = self.trust.monitors
        if store is None:
            await abort(context, grpc.StatusCode.UNAVAILABLE, "monitoring is not configured")
        return store

    def rescreen(
        self,
        party: pb.Party,
        min_score: float,
        index: LoadedIndex,
        errors: Violations,
        *,
        client: str,
    ) -> pb.ScreenPartyResponse:
        """Screen a monitored counterparty (accepted matches marked) and record it in the
        audit trail; raises AuditUnavailable when it cannot be recorded."""
        request = pb.ScreenPartyRequest(party=party, min_score=min_score)
        response = self.screen_party(request, index, errors)
        if errors:
            return response
        self.trust.mark_party(party, response, index)
        self.trust.record_party(request, response, None, kind="monitoring", client=client)
        return response

    def rescreen_monitored(self, monitored: Monitored, index: LoadedIndex) -> list[FoundMatch]:
        """The monitoring job's re-screen (monitoring.Rescreen)."""
        errors = Violations()
        party = pb.Party.FromString(bytes.fromhex(monitored.party))
        response = self.rescreen(
            party, monitored.min_score, index, errors, client=f"monitoring:{monitored.client}"
        )
        if errors:
            log.warning(
                "monitored counterparty no longer valid; skipped",
                extra={"monitor_id": monitored.monitor_id},
            )
            return []
        return [
            FoundMatch(m.entity_id, m.SerializeToString())
            for m in response.matches
            if not m.accepted
        ]

    async def MonitorParty(
        self, request: pb.MonitorPartyRequest, context: grpc.aio.ServicerContext
    ) -> pb.MonitorPartyResponse:
        index = await self._index(context)
        store = await self._monitors(context)
        await self.trust.check_recording(context)
        errors = Violations()
        if not request.HasField("party"):
            errors.add("party", "is required")
            await abort_invalid(context, errors)
        min_score = self.settings.alert_threshold
        if request.HasField("min_score"):
            if not 0.0 <= request.min_score <= 1.0:
                errors.add("min_score", "must be between 0 and 1")
            else:
                min_score = request.min_score
        client = client_of(context)
        try:
            response = self.rescreen(request.party, min_score, index, errors, client=client)
        except AuditUnavailable as exc:
            await abort(context, grpc.StatusCode.UNAVAILABLE, f"screening not recorded: {exc}")
        if errors:
            await abort_invalid(context, errors)
        monitored = Monitored(
            monitor_id=party_key(convert.counterparty(request.party)),
            party=request.party.SerializeToString().hex(),
            client=client,
            registered_at=now_iso(),
            min_score=min_score,
            known=sorted({m.entity_id for m in response.matches if not m.accepted}),
            data_version=index.version,
        )
        try:
            await store.put(monitored)
        except (redis.RedisError, OSError) as exc:
            await abort(context, grpc.StatusCode.UNAVAILABLE, f"monitoring unavailable: {exc}")
        log.info("counterparty monitored", extra={"monitor_id": monitored.monitor_id})
        return pb.MonitorPartyResponse(
            monitored=monitored_pb(monitored), matches=list(response.matches)
        )

    async def StopMonitoring(
        self, request: pb.StopMonitoringRequest, context: grpc.aio.ServicerContext
    ) -> pb.StopMonitoringResponse:
        store = await self._monitors(context)
        errors = Violations()
        monitor_id = check_text(request.monitor_id, "monitor_id", errors, limit=64, required=True)
        if errors:
            await abort_invalid(context, errors)
        try:
            removed = await store.remove(monitor_id)
        except (redis.RedisError, OSError) as exc:
            await abort(context, grpc.StatusCode.UNAVAILABLE, f"monitoring unavailable: {exc}")
        if removed is None:
            await abort(context, grpc.StatusCode.NOT_FOUND, f"no monitored party {monitor_id}")
        log.info("counterparty no longer monitored", extra={"monitor_id": monitor_id})
        return pb.StopMonitoringResponse(monitored=monitored_pb(removed))

    async def ListMonitoredParties(
        self, request: pb.ListMonitoredPartiesRequest, context: grpc.aio.ServicerContext
    ) -> pb.ListMonitoredPartiesResponse:
        store = await self._monitors(context)
        if not 0 <= request.limit <= 1000:
            errors = Violations()
            errors.add("limit", "must be between 0 and 1000")
            await abort_invalid(context, errors)
        limit = request.limit or 100
        found: list[Monitored] = []
        try:
            async for page in store.scan():
                found += page
                if len(found) >= limit:
                    break
            total = await store.count()
        except (redis.RedisError, OSError) as exc:
            await abort(context, grpc.StatusCode.UNAVAILABLE, f"monitoring unavailable: {exc}")
        found.sort(key=lambda m: (m.registered_at, m.monitor_id))
        return pb.ListMonitoredPartiesResponse(
            parties=[monitored_pb(m) for m in found[:limit]], total=total
        )

    async def WatchAlerts(
        self, request: pb.WatchAlertsRequest, context: grpc.aio.ServicerContext
    ) -> AsyncIterator[pb.WatchAlertsResponse]:
        store = await self._monitors(context)
        after = request.after_alert_id.strip()
        if after and not _STREAM_ID.match(after):
            errors = Violations()
            errors.add("after_alert_id", "must be an alert id such as '1718000000000-0', or '0'")
            await abort_invalid(context, errors)
        backoff = 0.5
        while not after:
            try:
                after = await store.last_alert_id()
            except (redis.RedisError, OSError):
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, 5.0)
        while not (self.stopping is not None and self.stopping.is_set()):
            try:
                alerts = await store.read_alerts(after, WATCH_BLOCK_MS)
                backoff = 0.5
            except (redis.RedisError, OSError):
                # Redis away: the stream stays open and resumes where it was.
                with contextlib.suppress(TimeoutError):
                    await asyncio.sleep(backoff)
                backoff = min(backoff * 2, 5.0)
                continue
            for alert_id, alert in alerts:
                after = alert_id
                yield pb.WatchAlertsResponse(alert=alert_pb(alert_id, alert))
