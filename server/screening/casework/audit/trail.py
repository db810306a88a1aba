"""The audit trail of one worker: records go to the local journal at once (no Redis on the
screening path), and a background task ships them, in order, to the Redis stream.

Redis keeps, per writer, the highest `seq` it holds (`{prefix}:audit:writers`); one Lua call
appends a batch and moves that mark, skipping any record at or below it, so a batch sent again
after a lost reply is stored once. Each call also says how far the writer believes Redis is;
if Redis holds less (it restarted empty, or failed over to a replica that lagged), nothing is
appended, the writer rewinds its journal to the oldest retained record, and ships again.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
import time
from pathlib import Path
from typing import Any

import redis

from screening.casework.audit.journal import Journal, JournalUnavailable, WriterJournal
from screening.casework.audit.records import AuditRecord
from screening.model.errors import AuditUnavailable
from screening.store.connection import AsyncRedis
from screening.store.keys import Keys

log = logging.getLogger(__name__)

# ARGV: writer, the seq the writer believes Redis holds, the batch's seqs (space-separated)
# and its records (one JSON line each, in the same order): one string each, so a batch of
# hundreds of records is four arguments to encode rather than two per record.
APPEND_SCRIPT = """
local held = tonumber(redis.call('HGET', KEYS[2], ARGV[1]) or '0')
if held < tonumber(ARGV[2]) then
  return {0, held}
end
local top = held
local lines = ARGV[4]
local start = 1
for text in string.gmatch(ARGV[3], '%d+') do
  local stop = string.find(lines, '\\n', start, true) or (#lines + 1)
  local seq = tonumber(text)
  if seq > top then
    redis.call('XADD', KEYS[1], '*', 'r', string.sub(lines, start, stop - 1))
    top = seq
  end
  start = stop + 1
end
if top > held then
  redis.call('HSET', KEYS[2], ARGV[1], top)
end
return {1, top}
"""

BATCH_RECORDS = 500
BATCH_BYTES = 512 * 1024
ADOPT_EVERY_SECONDS = 10.0


def audit_stream_key(keys: Keys) -> str:
    return f"{keys.tag}:audit"


def audit_writers_key(keys: Keys) -> str:
    return f"{keys.tag}:audit:writers"


def spool_directory(root: Path, redis_identity: str, prefix: str) -> Path:
    """One spool per Redis and prefix: a journal is only ever shipped where it belongs.
    `redis_identity` must stay the same across restarts (the URL of an external Redis; the
    data directory of the embedded one, whose socket path is not a name to rely on), so
    that a start finds, adopts and ships what an earlier one left."""
    namespace = hashlib.sha256(f"{redis_identity}|{prefix}".encode()).hexdigest()[:16]
    return root / f"{prefix}-{namespace}"


# How long a woken shipper waits for more records before it ships (one call per batch).
SHIP_LINGER_SECONDS = 0.05


class AuditTrail:
    def __init__(
        self,
        journal: Journal,
        client: AsyncRedis,
        keys: Keys,
        *,
        check_seconds: float = 2.0,
    ) -> None:
        self.journal = journal
        self.redis = client
        self.stream = audit_stream_key(keys)
        self.writers = audit_writers_key(keys)
        self.check_seconds = check_seconds
        self._script: Any = client.register_script(APPEND_SCRIPT)
        self._wake = asyncio.Event()
        self._outage_since = 0.0
        self.shipped = 0
        self.resent = 0
        self.lost = 0

    @property
    def accepting(self) -> bool:
        return self.journal.accepting

    def record(self, record: AuditRecord) -> None:
        """Keep one record (local journal, synchronous); raises AuditUnavailable if it
        cannot be kept."""
        try:
            self.journal.append(record)
        except JournalUnavailable as exc:
            raise AuditUnavailable(str(exc)) from exc
        self._wake.set()

    def record_encoded(self, rest: bytes) -> None:
        """Keep one record encoded but for its writer and seq (Journal.append_encoded)."""
        try:
            self.journal.append_encoded(rest)
        except JournalUnavailable as exc:
            raise AuditUnavailable(str(exc)) from exc
        self._wake.set()

    # -- shipping ------------------------------------------------------------------------

    async def run(self, stop: asyncio.Event, final_flush_seconds: float = 3.0) -> None:
        """Ship until `stop`, then try for a while to ship what is left."""
        backoff = 0.5
        last_adopt = time.monotonic()
        while not stop.is_set():
            # Cleared before shipping: a record journaled while a batch is on its way wakes
            # the next round.
            self._wake.clear()
            try:
                await self.ship_all()
                if self._outage_since:
                    log.info(
                        "audit trail reconnected; spooled records shipped",
                        extra={"outage_seconds": round(time.monotonic() - self._outage_since, 1)},
                    )
                    self._outage_since = 0.0
                backoff = 0.5
            except (redis.RedisError, OSError) as exc:
                if not self._outage_since:
                    self._outage_since = time.monotonic()
                    log.warning(
                        "audit trail: Redis unreachable; records are spooled locally",
                        extra={"error": str(exc), "unshipped_bytes": self.journal.unshipped},
                    )
                await _wait(stop, backoff)
                backoff = min(backoff * 2, 5.0)
                continue
            if time.monotonic() - last_adopt >= ADOPT_EVERY_SECONDS:
                last_adopt = time.monotonic()
                self.journal.adopt_orphans()
            self.journal.prune()
            await _woken_or_stopped(self._wake, stop, self.check_seconds)
            if self._wake.is_set():
                # Let records gather for a moment: one Redis call ships them all. They are
                # already kept in the local journal, so the wait risks nothing.
                await _wait(stop, SHIP_LINGER_SECONDS)
        with contextlib.suppress(redis.RedisError, OSError, TimeoutError):
            await asyncio.wait_for(self.ship_all(), timeout=final_flush_seconds)

    async def ship_all(self) -> None:
        """Ship every journal up to its end (and check, when idle, that Redis still holds
        what it confirmed)."""
        for journal in self.journal.journals():
            await self._ship(journal)

    async def _ship(self, journal: WriterJournal) -> None:
        if not journal.synced:
            # An adopted journal: Redis says how far its dead writer got.
            _, held = await self._script(
                keys=[self.stream, self.writers], args=[journal.writer, 0, "", ""]
            )
            journal.acked_seq, journal.synced = int(held), True
        checked = False
        while True:
            written = journal.written
            lines = journal.read(BATCH_RECORDS, BATCH_BYTES)
            end = lines.end
            # Records Redis already holds (a batch sent again) are left out.
            skip = 0
            while skip < len(lines.seqs) and lines.seqs[skip] <= journal.acked_seq:
                skip += 1
            fresh = len(lines.seqs) - skip
            if not fresh and (checked or not journal.own):
                journal.cursor = end
                return
            args = [
                journal.writer,
                journal.acked_seq,
                " ".join(map(str, lines.seqs[skip:])),
                b"\n".join(lines.data[skip:]),
            ]
            status, held = await self._script(keys=[self.stream, self.writers], args=args)
            checked = True
            if int(status) == 0:
                self._lost_by_redis(journal, int(held))
                continue
            journal.acked_seq = int(held)
            journal.cursor = end
            self.shipped += fresh
            if not lines.seqs or end >= written:
                # Caught up with what was written before this read: records written since
                # wait for the next wake and its linger, so that under load a call ships a
                # linger's worth of records rather than the few that arrived during the last.
                return

    def _lost_by_redis(self, journal: WriterJournal, held: int) -> None:
        believed = journal.acked_seq
        gone = self.journal.rewind(journal, held)
        self.resent += believed - held - gone
        self.lost += gone
        log.error(
            "audit trail: Redis lost confirmed records (restarted empty or failed over); "
            "sending them again from the local journal",
            extra={
                "writer": journal.writer,
                "redis_holds": held,
                "confirmed_before": believed,
                "gone_for_good": gone,
            },
        )

    def close(self) -> None:
        self.journal.close()


async def _woken_or_stopped(wake: asyncio.Event, stop: asyncio.Event, seconds: float) -> None:
    """Wait up to `seconds` for a record to ship, or for `stop`: a stopping worker ships
    what is left at once instead of waiting out the idle check."""
    waits = {asyncio.ensure_future(wake.wait()), asyncio.ensure_future(stop.wait())}
    try:
        await asyncio.wait(waits, timeout=seconds, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for waiting in waits:
            waiting.cancel()


async def _wait(stop: asyncio.Event, seconds: float) -> None:
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(stop.wait(), timeout=seconds)
