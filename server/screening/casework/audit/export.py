"""`screening audit export`: the audit stream as JSON lines, optionally for a time range.

Records are filtered on their own `time` (when the screening was answered), not on when they
reached Redis: a record spooled during an outage arrives later than it was made. Stream ids are
Redis arrival times, so the scan starts a margin before `since` and reads to the end.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import IO, Any

import msgspec

from screening.casework.audit.records import RECORD_DECODER
from screening.casework.audit.trail import audit_stream_key
from screening.store.connection import SyncRedis
from screening.store.keys import Keys

PAGE = 1000
# How far Redis's clock may be behind the workers' when a record is stored.
CLOCK_MARGIN = dt.timedelta(hours=1)


def parse_time(text: str) -> dt.datetime:
    """ISO 8601 date or date-time; naive values are UTC."""
    value = dt.datetime.fromisoformat(text)
    return value if value.tzinfo else value.replace(tzinfo=dt.UTC)


def iter_records(
    client: SyncRedis,
    prefix: str,
    since: dt.datetime | None = None,
    until: dt.datetime | None = None,
) -> Iterator[tuple[str, bytes]]:
    """(stream id, record JSON) of every record with since <= time < until, in stream order."""
    stream = audit_stream_key(Keys(prefix))
    start = "-"
    if since is not None:
        start = f"{max(0, int((since - CLOCK_MARGIN).timestamp() * 1000))}-0"
    while True:
        page: Any = client.xrange(stream, min=start, max="+", count=PAGE)
        if not page:
            return
        for raw_id, fields in page:
            stream_id = raw_id.decode() if isinstance(raw_id, bytes) else str(raw_id)
            data = fields.get(b"r") or fields.get("r")
            if not data:
                continue
            data = data if isinstance(data, bytes) else str(data).encode()
            if since is not None or until is not None:
                when = parse_time(RECORD_DECODER.decode(data).time)
                if (since is not None and when < since) or (until is not None and when >= until):
                    continue
            yield stream_id, data
        last = page[-1][0]
        last = last.decode() if isinstance(last, bytes) else str(last)
        start = f"({last}"


def export(
    client: SyncRedis,
    prefix: str,
    out: IO[bytes],
    since: dt.datetime | None = None,
    until: dt.datetime | None = None,
) -> int:
    """Write the records as JSON lines (each with its `stream_id`); returns how many."""
    count = 0
    for stream_id, data in iter_records(client, prefix, since, until):
        record = msgspec.json.decode(data)
        record["stream_id"] = stream_id
        out.write(msgspec.json.encode(record) + b"\n")
        count += 1
    return count
