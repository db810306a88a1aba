"""Ongoing monitoring's use cases: register a counterparty, stop, list them, follow the
alerts. The re-screen itself runs in the monitoring job (casework/monitoring.py)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator

import redis

from screening.casework.monitoring import Alert, Monitored, MonitorStore
from screening.model.errors import NotFound, NotReady, Unavailable

log = logging.getLogger(__name__)

WATCH_BLOCK_MS = 1000


def configured(store: MonitorStore | None) -> MonitorStore:
    if store is None:
        raise NotReady("monitoring is not configured")
    return store


async def monitor(store: MonitorStore, monitored: Monitored) -> None:
    try:
        await store.put(monitored)
    except (redis.RedisError, OSError) as exc:
        raise Unavailable(f"monitoring unavailable: {exc}") from exc
    log.info("counterparty monitored", extra={"monitor_id": monitored.monitor_id})


async def stop_monitoring(store: MonitorStore, monitor_id: str) -> Monitored:
    try:
        removed = await store.remove(monitor_id)
    except (redis.RedisError, OSError) as exc:
        raise Unavailable(f"monitoring unavailable: {exc}") from exc
    if removed is None:
        raise NotFound(f"no monitored party {monitor_id}")
    log.info("counterparty no longer monitored", extra={"monitor_id": monitor_id})
    return removed


async def monitored_parties(store: MonitorStore, limit: int) -> tuple[list[Monitored], int]:
    """(the first `limit`, oldest first; how many there are)."""
    found: list[Monitored] = []
    try:
        async for page in store.scan():
            found += page
            if len(found) >= limit:
                break
        total = await store.count()
    except (redis.RedisError, OSError) as exc:
        raise Unavailable(f"monitoring unavailable: {exc}") from exc
    found.sort(key=lambda m: (m.registered_at, m.monitor_id))
    return found[:limit], total


async def alerts(
    store: MonitorStore, after: str, stopping: asyncio.Event
) -> AsyncIterator[tuple[str, Alert]]:
    """(alert id, alert) after `after` ('': from now on), until `stopping` is set. With
    Redis away the stream stays open and resumes where it was."""
    backoff = 0.5
    while not after:
        try:
            after = await store.last_alert_id()
        except (redis.RedisError, OSError):
            await asyncio.sleep(backoff)
            backoff = min(backoff * 2, 5.0)
    while not stopping.is_set():
        try:
            found = await store.read_alerts(after, WATCH_BLOCK_MS)
            backoff = 0.5
        except (redis.RedisError, OSError):
            with contextlib.suppress(TimeoutError):
                await asyncio.sleep(backoff)
            backoff = min(backoff * 2, 5.0)
            continue
        for alert_id, alert in found:
            after = alert_id
            yield alert_id, alert
