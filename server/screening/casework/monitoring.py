"""Ongoing monitoring: registered counterparties are screened again on every new list version,
and their new matches are raised as alerts on a Redis stream.

Storage: `{prefix}:monitor:parties` (hash monitor id -> JSON), `{prefix}:alerts` (stream; one
alert per new match). Exactly one worker of all replicas re-screens for a data version: the
first to take `{prefix}:monitor:lock:<version>` (SET NX with a lease it renews while it works).
When it is done it sets `{prefix}:monitor:done:<version>`; a worker that dies mid-way lets
its lease lapse and another one takes over. An alert and the counterparty's updated list of
known matches are written in one transaction, so taking over raises no alert twice.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
import secrets
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import msgspec
import redis

from screening.store.connection import AsyncRedis
from screening.store.keys import Keys

if TYPE_CHECKING:
    from screening.index.holder import IndexHolder, LoadedIndex

log = logging.getLogger(__name__)

LEASE_MS = 60_000
DONE_TTL_SECONDS = 7 * 86400
PAGE = 100

# Raise alerts and store the counterparty's new state, unless it stopped being monitored.
RAISE_SCRIPT = """
if redis.call('HEXISTS', KEYS[1], ARGV[1]) == 0 then
  return 0
end
for i = 3, #ARGV do
  redis.call('XADD', KEYS[2], '*', 'a', ARGV[i])
end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
return 1
"""
RENEW_SCRIPT = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('PEXPIRE', KEYS[1], ARGV[2])
end
return 0
"""


class Monitored(msgspec.Struct, kw_only=True, omit_defaults=True):
    monitor_id: str
    # The counterparty: the serialized protobuf Party, hex.
    party: str
    client: str
    registered_at: str
    min_score: float
    known: list[str] = msgspec.field(default_factory=list)
    data_version: str = ""


class Alert(msgspec.Struct, kw_only=True, omit_defaults=True):
    monitor_id: str
    party: str
    # The match: the serialized protobuf Match, hex.
    match: str
    entity_id: str
    data_version: str
    previous_version: str
    raised_at: str


@dataclass(frozen=True)
class FoundMatch:
    entity_id: str
    match: bytes  # serialized protobuf Match


_MONITORED = msgspec.json.Decoder(Monitored)
ALERT_DECODER = msgspec.json.Decoder(Alert)

# Screen one counterparty on an index: its matches that are alerts (accepted ones left out).
Rescreen = Callable[["Monitored", "LoadedIndex"], list[FoundMatch]]


def now_iso() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="milliseconds")


class MonitorStore:
    def __init__(self, client: AsyncRedis, keys: Keys) -> None:
        self.redis = client
        self.tag = keys.tag
        self.parties = f"{keys.tag}:monitor:parties"
        self.alerts = f"{keys.tag}:alerts"
        self._renew = client.register_script(RENEW_SCRIPT)
        self._raise = client.register_script(RAISE_SCRIPT)

    def _lock(self, version: str) -> str:
        return f"{self.tag}:monitor:lock:{version}"

    def _done(self, version: str) -> str:
        return f"{self.tag}:monitor:done:{version}"

    async def put(self, monitored: Monitored) -> None:
        await self.redis.hset(self.parties, monitored.monitor_id, msgspec.json.encode(monitored))

    async def get(self, monitor_id: str) -> Monitored | None:
        raw = await self.redis.hget(self.parties, monitor_id)
        return _MONITORED.decode(raw) if raw else None

    async def remove(self, monitor_id: str) -> Monitored | None:
        pipe = self.redis.pipeline(transaction=True)
        pipe.hget(self.parties, monitor_id)
        pipe.hdel(self.parties, monitor_id)
        raw, _ = await pipe.execute()
        return _MONITORED.decode(raw) if raw else None

    async def count(self) -> int:
        return int(await self.redis.hlen(self.parties))

    async def scan(self, page: int = PAGE) -> AsyncIterator[list[Monitored]]:
        cursor: Any = 0
        while True:
            reply: Any = await self.redis.hscan(self.parties, cursor, count=page)
            cursor, found = reply
            if found:
                yield [_MONITORED.decode(v) for v in found.values()]
            if int(cursor) == 0:
                return

    async def raise_alerts(self, monitored: Monitored, alerts: list[Alert]) -> None:
        """The alerts and the counterparty's new state, atomically."""
        await self._raise(
            keys=[self.parties, self.alerts],
            args=[
                monitored.monitor_id,
                msgspec.json.encode(monitored),
                *(msgspec.json.encode(a) for a in alerts),
            ],
        )

    async def claim(self, version: str, owner: str) -> bool:
        return bool(await self.redis.set(self._lock(version), owner, nx=True, px=LEASE_MS))

    async def renew(self, version: str, owner: str) -> bool:
        return bool(await self._renew(keys=[self._lock(version)], args=[owner, LEASE_MS]))

    async def finish(self, version: str) -> None:
        pipe = self.redis.pipeline(transaction=True)
        pipe.set(self._done(version), now_iso(), ex=DONE_TTL_SECONDS)
        pipe.delete(self._lock(version))
        await pipe.execute()

    async def is_done(self, version: str) -> bool:
        return bool(await self.redis.exists(self._done(version)))

    async def read_alerts(
        self, after: str, block_ms: int, count: int = 100
    ) -> list[tuple[str, Alert]]:
        reply: Any = await self.redis.xread({self.alerts: after}, count=count, block=block_ms)
        out = []
        for _, entries in reply or []:
            out += self._decoded(entries)
        return out

    async def alerts_after(self, after: str, count: int = PAGE) -> list[tuple[str, Alert]]:
        """Up to `count` alerts after `after`, without blocking (catching up)."""
        start = after if "-" in after else f"{after}-0"
        reply: Any = await self.redis.xrange(self.alerts, min=f"({start}", max="+", count=count)
        return self._decoded(reply or [])

    @staticmethod
    def _decoded(entries: Any) -> list[tuple[str, Alert]]:
        out = []
        for raw_id, fields in entries:
            stream_id = raw_id.decode() if isinstance(raw_id, bytes) else str(raw_id)
            data = fields.get(b"a") or fields.get("a")
            if data:
                out.append((stream_id, ALERT_DECODER.decode(data)))
        return out

    async def last_alert_id(self) -> str:
        reply = await self.redis.xrevrange(self.alerts, count=1)
        if not reply:
            return "0-0"
        raw = reply[0][0]
        return raw.decode() if isinstance(raw, bytes) else str(raw)


class MonitoringJob:
    """Per worker: on each new data version, try to be the one that re-screens everybody."""

    def __init__(
        self,
        store: MonitorStore,
        rescreen: Rescreen,
        *,
        after_version: Callable[[LoadedIndex], Awaitable[None]] | None = None,
        every: float = 1.0,
    ) -> None:
        self.store = store
        self.rescreen = rescreen
        self.after_version = after_version
        self.every = every
        self.owner = secrets.token_hex(8)
        self.handled = ""
        self.alerts_raised = 0

    async def follow(self, holder: IndexHolder, stop: asyncio.Event) -> None:
        warned = False
        while not stop.is_set():
            index = holder.current
            if index is not None and index.version != self.handled:
                try:
                    await self.handle(index)
                    warned = False
                except (redis.RedisError, OSError) as exc:
                    if not warned:
                        log.warning(
                            "monitoring re-screen postponed: Redis unreachable",
                            extra={"error": str(exc), "data_version": index.version},
                        )
                        warned = True
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=self.every)

    async def handle(self, index: LoadedIndex) -> None:
        version = index.version
        if await self.store.is_done(version):
            self.handled = version
            return
        if not await self.store.claim(version, self.owner):
            return  # another worker is at it; look again later
        raised = screened = 0
        async for page in self.store.scan():
            if not await self.store.renew(version, self.owner):
                log.warning("monitoring lease lost; another worker takes over")
                return
            for monitored in page:
                raised += await self._rescreen_one(monitored, index)
                screened += 1
                await asyncio.sleep(0)  # screening requests go first
        if self.after_version is not None:
            await self.after_version(index)
        await self.store.finish(version)
        self.handled = version
        self.alerts_raised += raised
        log.info(
            "monitored counterparties re-screened",
            extra={"data_version": version, "screened": screened, "alerts": raised},
        )

    async def _rescreen_one(self, monitored: Monitored, index: LoadedIndex) -> int:
        if monitored.data_version == index.version:
            return 0
        found = self.rescreen(monitored, index)
        known = set(monitored.known)
        fresh = [f for f in found if f.entity_id not in known]
        previous = monitored.data_version
        monitored.known = sorted(known | {f.entity_id for f in fresh})
        monitored.data_version = index.version
        alerts = [
            Alert(
                monitor_id=monitored.monitor_id,
                party=monitored.party,
                match=f.match.hex(),
                entity_id=f.entity_id,
                data_version=index.version,
                previous_version=previous,
                raised_at=now_iso(),
            )
            for f in fresh
        ]
        await self.store.raise_alerts(monitored, alerts)
        return len(alerts)
