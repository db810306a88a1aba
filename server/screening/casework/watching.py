"""Ongoing monitoring's use cases: register a counterparty, stop, list them, follow the
alerts. The re-screen itself runs in the monitoring job (casework/monitoring.py).

Following the alerts (WatchAlerts) costs one Redis connection per worker, however many
streams are open: the worker's AlertFeed holds the only blocking read (XREAD on a client of
its own) and hands every new alert to each open stream's bounded queue. A stream that
resumes from an earlier alert, or that fell behind and had its queue overflow, catches up
with short non-blocking reads (XRANGE) on the same small client, then follows the feed
again. Open streams are limited per worker and per client (Exhausted past the limit).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import Counter
from collections.abc import AsyncIterator, Coroutine, Iterator
from dataclasses import dataclass, field
from typing import Any, TypeVar

import redis

from screening.casework.monitoring import Alert, Monitored, MonitorStore
from screening.model.errors import Exhausted, NotFound, NotReady, Unavailable

T = TypeVar("T")

log = logging.getLogger(__name__)

WATCH_BLOCK_MS = 1000
# Alerts a stream may have waiting before it is switched to catching up from Redis.
STREAM_QUEUE = 256


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


def _order(alert_id: str) -> tuple[int, int]:
    ms, _, seq = alert_id.partition("-")
    return int(ms), int(seq or 0)


@dataclass(eq=False)
class _Watcher:
    client: str
    queue: asyncio.Queue[tuple[str, Alert]] = field(
        default_factory=lambda: asyncio.Queue(maxsize=STREAM_QUEUE)
    )
    overflowed: bool = False


class AlertFeed:
    """One worker's reader of the alert stream, for every open WatchAlerts stream."""

    def __init__(self, store: MonitorStore, *, max_streams: int, max_per_client: int) -> None:
        self.store = store  # on a client of its own: its blocking read holds a connection
        self.max_streams = max_streams
        self.max_per_client = max_per_client
        self._watchers: set[_Watcher] = set()
        self._per_client: Counter[str] = Counter()
        self._position = ""  # the last alert id the feed has handed out

    @property
    def open_streams(self) -> int:
        return len(self._watchers)

    @contextlib.contextmanager
    def _watching(self, client: str) -> Iterator[_Watcher]:
        if len(self._watchers) >= self.max_streams:
            raise Exhausted(
                f"this worker has {self.max_streams} alert streams open, its limit: "
                "retry later, or on another replica"
            )
        if self._per_client[client] >= self.max_per_client:
            raise Exhausted(
                f"client {client!r} has {self.max_per_client} alert streams open on this "
                "worker, its limit: one stream carries every alert"
            )
        watcher = _Watcher(client)
        self._watchers.add(watcher)
        self._per_client[client] += 1
        try:
            yield watcher
        finally:
            self._watchers.discard(watcher)
            self._per_client[client] -= 1
            if not self._per_client[client]:
                del self._per_client[client]

    async def run(self, stop: asyncio.Event) -> None:
        """Follow the alert stream until `stop`; survive Redis outages."""
        backoff = 0.5
        while not stop.is_set():
            try:
                if not self._position:
                    self._position = await self.store.last_alert_id()
                found = (
                    await unless_stopped(
                        self.store.read_alerts(self._position, WATCH_BLOCK_MS), stop
                    )
                    or []
                )
                backoff = 0.5
            except (redis.RedisError, OSError) as exc:
                log.warning(
                    "alert feed: Redis unreachable; open streams wait",
                    extra={"error": str(exc), "retry_in": backoff},
                )
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), timeout=backoff)
                backoff = min(backoff * 2, 5.0)
                continue
            for alert_id, alert in found:
                self._position = alert_id
                for watcher in self._watchers:
                    if watcher.overflowed:
                        continue
                    try:
                        watcher.queue.put_nowait((alert_id, alert))
                    except asyncio.QueueFull:
                        watcher.overflowed = True  # it catches up from Redis

    async def alerts(
        self, client: str, after: str, stopping: asyncio.Event
    ) -> AsyncIterator[tuple[str, Alert]]:
        """(alert id, alert) after `after` ('': from now on), until `stopping` is set. With
        Redis away the stream stays open and resumes where it was."""
        with self._watching(client) as watcher:
            last = after or self._position
            backoff = 0.5
            while not last:
                try:
                    last = await self.store.last_alert_id()
                except (redis.RedisError, OSError):
                    await _pause(stopping, backoff)
                    backoff = min(backoff * 2, 5.0)
                    if stopping.is_set():
                        return
            caught_up = False
            while not stopping.is_set():
                if not caught_up:
                    # From Redis until a read comes back empty; the queue (filled meanwhile)
                    # then carries on, its alerts up to `last` skipped.
                    watcher.overflowed = False
                    try:
                        found = await self.store.alerts_after(last)
                    except (redis.RedisError, OSError):
                        await _pause(stopping, backoff)
                        backoff = min(backoff * 2, 5.0)
                        continue
                    backoff = 0.5
                    caught_up = not found
                else:
                    try:
                        found = [await asyncio.wait_for(watcher.queue.get(), timeout=1.0)]
                    except TimeoutError:
                        found = []
                    if watcher.overflowed and watcher.queue.empty():
                        caught_up = False
                for alert_id, alert in found:
                    if _order(alert_id) <= _order(last):
                        continue
                    last = alert_id
                    yield alert_id, alert


async def _pause(stopping: asyncio.Event, seconds: float) -> None:
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(stopping.wait(), timeout=seconds)


async def unless_stopped(work: Coroutine[Any, Any, T], stop: asyncio.Event) -> T | None:
    """`work`'s result, or None once `stop` is set first: the work is then cancelled, so a
    worker shutting down does not wait it out (a blocking stream read's block time, its
    connection closed with it; the host's index being read or built, runtime/worker.py)."""
    working = asyncio.ensure_future(work)
    stopping = asyncio.ensure_future(stop.wait())
    try:
        await asyncio.wait({working, stopping}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        stopping.cancel()
    if not working.done():
        working.cancel()
        with contextlib.suppress(asyncio.CancelledError, redis.RedisError, OSError):
            await working
        return None
    return working.result()
