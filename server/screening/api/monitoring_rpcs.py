"""MonitorParty, StopMonitoring, ListMonitoredParties, WatchAlerts; and the re-screen of one
monitored counterparty that the monitoring job runs on each new data version."""

from __future__ import annotations

import logging
import re
from collections.abc import AsyncIterator

import grpc

from screening.api import convert
from screening.api.auth import ANONYMOUS, client_of
from screening.api.deps import Deps
from screening.api.party_rpcs import answer_party, answer_party_now, settle
from screening.api.validation import Violations, check_text
from screening.casework import watching
from screening.casework.acceptlist import party_key
from screening.casework.monitoring import FoundMatch, Monitored, now_iso
from screening.index.holder import LoadedIndex
from screening.model.errors import Exhausted, Invalid, NotReady
from screening.v1 import screening_pb2 as pb

log = logging.getLogger(__name__)

_STREAM_ID = re.compile(r"^\d{1,20}(-\d{1,20})?$")


def rescreen(
    deps: Deps,
    party: pb.Party,
    min_score: float,
    index: LoadedIndex,
    errors: Violations,
    *,
    client: str,
) -> pb.ScreenPartyResponse:
    """Screen a monitored counterparty (the monitoring job: no caller), settled (accepted
    matches marked, recorded in the audit trail); raises AuditUnavailable when it cannot be
    recorded."""
    request = pb.ScreenPartyRequest(party=party, min_score=min_score)
    response = answer_party_now(deps, request, index, errors)
    if errors:
        return response
    settle(deps, request, response, index, None, kind="monitoring", client=client)
    return response


def rescreen_monitored(deps: Deps, monitored: Monitored, index: LoadedIndex) -> list[FoundMatch]:
    """The monitoring job's re-screen (casework/monitoring.py, Rescreen)."""
    errors = Violations()
    party = pb.Party.FromString(bytes.fromhex(monitored.party))
    try:
        response = rescreen(
            deps, party, monitored.min_score, index, errors, client=f"monitoring:{monitored.client}"
        )
    except Exhausted:
        # Past one call's matching budget on this data: the others are not held up by it.
        log.error(
            "monitored counterparty too costly to re-screen on this data; skipped",
            extra={"monitor_id": monitored.monitor_id, "data_version": index.version},
        )
        return []
    if errors:
        log.warning(
            "monitored counterparty no longer valid; skipped",
            extra={"monitor_id": monitored.monitor_id},
        )
        return []
    return [
        FoundMatch(m.entity_id, m.SerializeToString()) for m in response.matches if not m.accepted
    ]


async def monitor_party(
    deps: Deps, request: pb.MonitorPartyRequest, context: grpc.aio.ServicerContext
) -> pb.MonitorPartyResponse:
    index = deps.index()
    store = watching.configured(deps.casework.monitors)
    deps.casework.check_recording()
    errors = Violations()
    if not request.HasField("party"):
        errors.add("party", "is required")
        raise Invalid(errors.items)
    min_score = deps.alert_threshold
    if request.HasField("min_score"):
        if not 0.0 <= request.min_score <= 1.0:
            errors.add("min_score", "must be between 0 and 1")
        else:
            min_score = request.min_score
    client = client_of(context)
    screen_request = pb.ScreenPartyRequest(party=request.party, min_score=min_score)
    response = await answer_party(deps, screen_request, index, errors, context)
    if errors:
        raise Invalid(errors.items)
    settle(deps, screen_request, response, index, None, kind="monitoring", client=client)
    monitored = Monitored(
        monitor_id=party_key(convert.counterparty(request.party)),
        party=request.party.SerializeToString().hex(),
        client=client,
        registered_at=now_iso(),
        min_score=min_score,
        known=sorted({m.entity_id for m in response.matches if not m.accepted}),
        data_version=index.version,
    )
    await watching.monitor(store, monitored)
    return pb.MonitorPartyResponse(
        monitored=convert.monitored_pb(monitored), matches=list(response.matches)
    )


async def stop_monitoring(
    deps: Deps, request: pb.StopMonitoringRequest, context: grpc.aio.ServicerContext
) -> pb.StopMonitoringResponse:
    store = watching.configured(deps.casework.monitors)
    errors = Violations()
    monitor_id = check_text(request.monitor_id, "monitor_id", errors, limit=64, required=True)
    if errors:
        raise Invalid(errors.items)
    removed = await watching.stop_monitoring(store, monitor_id)
    return pb.StopMonitoringResponse(monitored=convert.monitored_pb(removed))


async def list_monitored_parties(
    deps: Deps, request: pb.ListMonitoredPartiesRequest, context: grpc.aio.ServicerContext
) -> pb.ListMonitoredPartiesResponse:
    store = watching.configured(deps.casework.monitors)
    if not 0 <= request.limit <= 1000:
        raise Invalid([("limit", "must be between 0 and 1000")])
    found, total = await watching.monitored_parties(store, request.limit or 100)
    return pb.ListMonitoredPartiesResponse(
        parties=[convert.monitored_pb(m) for m in found], total=total
    )


async def watch_alerts(
    deps: Deps, request: pb.WatchAlertsRequest, context: grpc.aio.ServicerContext
) -> AsyncIterator[pb.WatchAlertsResponse]:
    watching.configured(deps.casework.monitors)
    feed = deps.alert_feed
    if feed is None:
        raise NotReady("monitoring is not configured")
    after = request.after_alert_id.strip()
    if after and not _STREAM_ID.match(after):
        raise Invalid([("after_alert_id", "must be an alert id such as '1718000000000-0', or '0'")])
    async for alert_id, alert in feed.alerts(_watcher_of(context), after, deps.stopping):
        yield pb.WatchAlertsResponse(alert=convert.alert_pb(alert_id, alert))


def _watcher_of(context: grpc.aio.ServicerContext | None) -> str:
    """Whose streams a stream counts among: the authenticated client; without one, the
    calling host (all anonymous callers are not one client)."""
    client = client_of(context)
    if client != ANONYMOUS or context is None:
        return client
    host = (context.peer() or "").rpartition(":")[0]
    return f"{ANONYMOUS}@{host}"
