"""The audit trail on a real redis-server: journal first, shipped in order, stored once;
spooled while Redis is away; sent again when Redis comes back empty; orphans adopted. A stop
ends its idle wait, and the alert feed's blocking read, at once."""

from __future__ import annotations

import asyncio
import datetime as dt
import fcntl
import hashlib
import io
import json
import os
import re
import shutil
from pathlib import Path

import pytest

from screening.api.recording import request_sha256
from screening.casework import watching
from screening.casework.audit.export import export
from screening.casework.audit.journal import Journal, JournalUnavailable, WriterJournal
from screening.casework.audit.records import AuditRecord, now_iso
from screening.casework.audit.trail import AuditTrail, audit_stream_key
from screening.casework.monitoring import MonitorStore
from screening.casework.watching import AlertFeed
from screening.store.connection import connect_async
from screening.store.keys import Keys
from screening.v1 import screening_pb2 as pb
from tests.conftest import RedisServer, start_redis


def record(i: int, when: str = "") -> AuditRecord:
    return AuditRecord(
        screening_id=f"s{i:05d}",
        kind="party",
        time=when or dt.datetime.now(dt.UTC).isoformat(timespec="milliseconds"),
        client="test",
        request_sha256="0" * 64,
        decision="CLEAR",
        risk_score=0,
        data_version="v1",
        policy_version="p1",
    )


def journal(directory: Path, max_bytes: int = 10**8) -> Journal:
    return Journal(
        directory, max_unshipped_bytes=max_bytes, retain_seconds=3600, retain_bytes=10**8
    ).open()


def trail(j: Journal, url: str, prefix: str) -> AuditTrail:
    return AuditTrail(j, connect_async(url), Keys(prefix), check_seconds=0.1)


def stream_ids(server: RedisServer, prefix: str) -> list[str]:
    entries = server.client().xrange(audit_stream_key(Keys(prefix)))
    return [json.loads(fields[b"r"])["screening_id"] for _, fields in entries]


async def test_records_ship_in_order_and_once(redis_server, prefix, tmp_path):
    t = trail(journal(tmp_path), redis_server.url, prefix)
    for i in range(10):
        t.record(record(i))
    await t.ship_all()
    assert stream_ids(redis_server, prefix) == [f"s{i:05d}" for i in range(10)]
    # A reply lost after Redis stored the batch: the writer sends it all again.
    t.journal.own.cursor, t.journal.own.acked_seq = 0, 0
    await t.ship_all()
    assert len(stream_ids(redis_server, prefix)) == 10
    t.close()


async def test_spooled_while_redis_is_away_and_resent_after_an_empty_restart(prefix, tmp_path):
    server = start_redis()
    t = trail(journal(tmp_path), server.url, prefix)
    stop = asyncio.Event()
    runner = asyncio.create_task(t.run(stop))
    try:
        for i in range(5):
            t.record(record(i))
        await _until(lambda: len(stream_ids(server, prefix)) == 5)
        server.stop()  # killed: everything it held is gone
        for i in range(5, 8):
            t.record(record(i))  # screening goes on: the journal takes them
        await asyncio.sleep(0.5)
        assert t.journal.own.unshipped > 0
        server = start_redis(server.port)  # back, empty
        await _until(lambda: len(stream_ids(server, prefix)) == 8)
        assert stream_ids(server, prefix) == [f"s{i:05d}" for i in range(8)]
        assert t.resent == 5 and t.lost == 0
        await asyncio.sleep(0.5)  # idle checks must not send anything twice
        assert len(stream_ids(server, prefix)) == 8
    finally:
        stop.set()
        await runner
        t.close()
        server.stop()
        shutil.rmtree(server.workdir, ignore_errors=True)


async def test_stop_ends_the_idle_wait_and_ships_what_is_left(redis_server, prefix, tmp_path):
    # An idle check an hour long: a stopping worker must not wait it out (its supervisor
    # would wait for it, and a restart would too), and what was journaled still ships.
    t = AuditTrail(
        journal(tmp_path), connect_async(redis_server.url), Keys(prefix), check_seconds=3600
    )
    stop = asyncio.Event()
    runner = asyncio.create_task(t.run(stop))
    await asyncio.sleep(0.2)  # in its idle wait
    t.journal.append(record(1))  # journaled without waking it: the final flush ships it
    stop.set()
    await asyncio.wait_for(runner, timeout=10)
    assert stream_ids(redis_server, prefix) == ["s00001"]
    t.close()


async def test_stop_ends_the_alert_feeds_blocking_read(redis_server, prefix, monkeypatch):
    # A client whose socket timeout does not end the read first.
    store = MonitorStore(connect_async(redis_server.url, timeout=120), Keys(prefix))
    feed = AlertFeed(store, max_streams=4, max_per_client=4)
    stop = asyncio.Event()
    monkeypatch.setattr(watching, "WATCH_BLOCK_MS", 3_600_000)  # a read blocking for an hour
    runner = asyncio.create_task(feed.run(stop))
    await asyncio.sleep(0.5)
    stop.set()
    await asyncio.wait_for(runner, timeout=10)
    # Its client still answers after the cancelled read.
    assert await store.redis.ping()
    await store.redis.aclose()


async def test_a_dead_writers_journal_is_adopted(redis_server, prefix, tmp_path):
    dead = journal(tmp_path)
    for i in range(4):
        dead.append(record(i))
    # The process dies: its descriptors close, the lock is free, the files stay.
    os.close(dead._fd)
    os.close(dead._lock_fd)
    heir = journal(tmp_path)
    assert dead.writer in heir.adopted
    t = trail(heir, redis_server.url, prefix)
    t.record(record(100))
    await t.ship_all()
    assert sorted(stream_ids(redis_server, prefix)) == [f"s{i:05d}" for i in (0, 1, 2, 3, 100)]
    heir.retain_seconds = 0
    heir.prune()
    assert dead.writer not in heir.adopted
    assert not list(tmp_path.glob(f"{dead.writer}*"))
    t.close()


def test_a_writer_opening_beside_another_is_never_taken_for_a_stopped_one(tmp_path, monkeypatch):
    """Two workers start together: one looks for stopped writers' journals while the other
    opens its own. The opening writer's lock is never there to be taken."""
    first = journal(tmp_path)
    opening = Journal(tmp_path, max_unshipped_bytes=10**8, retain_seconds=3600, retain_bytes=10**8)
    real_flock = fcntl.flock
    looked: list[int] = []

    def flock_after_a_look(fd: int, operation: int) -> None:
        if not looked:  # the other writer looks just before this one locks
            looked.append(fd)
            first.adopt_orphans()
        real_flock(fd, operation)

    monkeypatch.setattr(fcntl, "flock", flock_after_a_look)
    opening.open()
    assert looked and opening.writer not in first.adopted
    monkeypatch.undo()
    assert not list(tmp_path.glob("*.lock-new"))
    opening.close()
    first.close()


async def test_a_full_spool_refuses_records(redis_server, prefix, tmp_path):
    j = journal(tmp_path, max_bytes=2000)
    with pytest.raises(JournalUnavailable):
        for i in range(100):
            j.append(record(i))
    assert not j.accepting
    t = trail(j, redis_server.url, prefix)
    await t.ship_all()
    assert j.accepting
    t.close()


async def test_export_filters_on_record_time(redis_server, prefix, tmp_path):
    t = trail(journal(tmp_path), redis_server.url, prefix)
    for day in (1, 2, 3):
        t.record(record(day, f"2026-03-0{day}T12:00:00.000+00:00"))
    await t.ship_all()
    out = io.BytesIO()
    count = export(
        redis_server.client(),
        prefix,
        out,
        since=dt.datetime(2026, 3, 2, tzinfo=dt.UTC),
        until=dt.datetime(2026, 3, 3, tzinfo=dt.UTC),
    )
    rows = [json.loads(line) for line in out.getvalue().splitlines()]
    assert count == 1 and rows[0]["screening_id"] == "s00002" and rows[0]["stream_id"]
    t.close()


def test_request_hash_is_the_documented_canonical_json():
    request = pb.ScreenPartyRequest(
        party=pb.Party(
            name="  Ivan Petrov ", entity_type=pb.ENTITY_TYPE_PERSON, aliases=["E\u0301"]
        ),
        client_ref="r1",
    )
    canonical = {
        "client_ref": "r1",
        "party": {"aliases": ["É"], "entity_type": "ENTITY_TYPE_PERSON", "name": "Ivan Petrov"},
    }
    text = json.dumps(canonical, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    assert request_sha256(request) == hashlib.sha256(text.encode()).hexdigest()


async def _until(check, within: float = 15.0) -> None:  # type: ignore[no-untyped-def]
    deadline = asyncio.get_running_loop().time() + within
    while not check():
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError("condition not met in time")
        await asyncio.sleep(0.1)


def test_request_hash_is_remembered_per_message_not_per_bytes_alone():
    # The digest is kept by message type and serialization: the same bytes of another
    # message type, or a changed field, get their own digest.
    party = pb.ScreenPartyRequest(party=pb.Party(name="Ivan Petrov"), client_ref="r1")
    first = request_sha256(party)
    assert request_sha256(pb.ScreenPartyRequest.FromString(party.SerializeToString())) == first
    party.client_ref = "r2"
    assert request_sha256(party) != first
    # Field 1 is a string in both; the same bytes mean `entity_id` in one, `shipment_ref` in
    # the other, and their canonical JSON (so their digests) differ.
    entity = pb.GetEntityRequest(entity_id="x")
    shipment = pb.ScreenShipmentRequest.FromString(entity.SerializeToString())
    assert shipment.shipment_ref == "x"
    assert request_sha256(entity) != request_sha256(shipment)


def test_record_time_is_the_iso_form_to_the_millisecond():
    before = dt.datetime.now(dt.UTC)
    text = now_iso()
    after = dt.datetime.now(dt.UTC)
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}\+00:00", text)
    when = dt.datetime.fromisoformat(text)
    assert before - dt.timedelta(milliseconds=1) <= when <= after


def test_journal_read_gives_seqs_and_lines_in_order(tmp_path):
    j = journal(tmp_path)
    for i in range(7):
        j.append(record(i))
    own = j.own
    lines = own.read(5, 10**6)
    assert lines.seqs == [1, 2, 3, 4, 5]
    assert [json.loads(d)["screening_id"] for d in lines.data] == [f"s{i:05d}" for i in range(5)]
    own.cursor = lines.end
    rest = own.read(100, 10**6)
    assert rest.seqs == [6, 7] and rest.end == own.written
    # A byte budget that cuts a line leaves it for the next read.
    own.cursor = 0
    cut = own.read(100, len(lines.data[0]) + 5)
    assert cut.seqs == [1] and cut.end == len(lines.data[0]) + 1
    j.close()


def test_journal_read_line_by_line_when_seqs_do_not_run_one_by_one(tmp_path):
    j = journal(tmp_path)
    for i in range(3):
        j.append(record(i))
    segment = j.own.segments[-1]
    data = segment.path.read_bytes().splitlines(keepends=True)
    # A gap (line 2 gone): the seqs are read one by one.
    gapped = data[0] + data[2]
    segment.path.write_bytes(gapped)
    segment.size = len(gapped)
    lines = j.own.read(100, 10**6)
    assert lines.seqs == [1, 3] and lines.end == len(gapped)
    # A dead writer's journal is always read line by line: an unreadable line is skipped.
    garbled = data[0] + b"not json\n" + data[2]
    segment.path.write_bytes(garbled)
    other = WriterJournal("dead", tmp_path, segments=[segment])
    segment.size = len(garbled)
    lines = other.read(100, 10**6)
    assert lines.seqs == [1, 3] and lines.end == len(garbled)
    j.close()
