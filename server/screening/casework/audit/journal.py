"""The local audit journal: every record is appended here before it is shipped to Redis.

Each worker process is one *writer*. It appends its records, in order and numbered (`seq`),
as JSON lines to segment files `<writer>.<n>.jsonl` in the spool directory and holds an
exclusive lock (`flock`) on `<writer>.lock` for as long as it lives. The shipper reads the
segments from a cursor and sends them to the Redis stream; Redis keeps, per writer, the highest
`seq` it holds, so a record sent twice is stored once.

A record reaches the journal before its screening is answered, so neither a Redis outage nor
the death of the worker loses it: a lock that can be taken belongs to a dead writer, and a
live writer adopts that journal and ships what is left of it.

Bounds and what happens at them (see docs/operations.md, "Audit trail"):
- unshipped records (Redis away) may fill `max_unshipped_bytes`; past that the worker refuses
  new screenings (UNAVAILABLE) rather than answer one it cannot record;
- shipped segments are kept `retain_seconds` / `retain_bytes` so that records a Redis lost
  (restarted empty, failed over to a replica that lagged) can be sent again.
"""

from __future__ import annotations

import contextlib
import fcntl
import functools
import logging
import os
import re
import secrets
import socket
import time
from dataclasses import dataclass, field
from pathlib import Path

import msgspec

from screening.casework.audit.records import AuditRecord

log = logging.getLogger(__name__)

_SEGMENT = re.compile(r"^(?P<writer>[A-Za-z0-9_.-]+)\.(?P<n>\d{6})\.jsonl$")
_UNSAFE = re.compile(r"[^A-Za-z0-9_-]")


class JournalUnavailable(Exception):
    """The journal cannot take more records (full, or the disk failed)."""


class _Seq(msgspec.Struct):
    seq: int = 0


_SEQ_DECODER = msgspec.json.Decoder(_Seq)
_ENCODER = msgspec.json.Encoder()


@dataclass
class Segment:
    path: Path
    number: int
    base: int  # offset of its first byte among all of the writer's bytes
    size: int
    created: float

    @property
    def end(self) -> int:
        return self.base + self.size


@dataclass(slots=True)
class Lines:
    """Complete journal lines read from the cursor: their seqs and their text (without the
    newline), in order, and the offset just after the last line looked at."""

    seqs: list[int]
    data: list[bytes]
    end: int


@dataclass
class WriterJournal:
    """The segments of one writer: this process's own, or those of a dead one."""

    writer: str
    directory: Path
    segments: list[Segment] = field(default_factory=list)
    cursor: int = 0  # absolute offset of the next byte to ship
    acked_seq: int = 0  # highest seq the Redis stream is known to hold
    own: bool = False
    synced: bool = False  # acked_seq has been read from Redis (adopted journals)

    @functools.cached_property
    def line_head(self) -> bytes:
        """How every line of this writer starts: the encoder writes `writer` and `seq` first."""
        return b'{"writer":' + _ENCODER.encode(self.writer) + b',"seq":'

    @property
    def written(self) -> int:
        return self.segments[-1].end if self.segments else 0

    @property
    def unshipped(self) -> int:
        return self.written - self.cursor

    def read(self, max_lines: int, max_bytes: int) -> Lines:
        """Complete lines from the cursor (unreadable lines are skipped, and logged)."""
        seqs: list[int] = []
        data: list[bytes] = []
        position = self.cursor
        budget = max_bytes
        for segment in self.segments:
            if segment.end <= position:
                continue
            start = position - segment.base
            with open(segment.path, "rb") as handle:
                handle.seek(start)
                chunk = handle.read(max(0, min(budget, segment.size - start)))
            reached_end = start + len(chunk) >= segment.size
            if self.own:
                run = self._consecutive(chunk, max_lines - len(seqs))
                if run is not None:
                    run_seqs, run_data, consumed = run
                    seqs += run_seqs
                    data += run_data
                    position += consumed
                    budget -= consumed
                    if len(seqs) >= max_lines or budget <= 0:
                        return Lines(seqs, data, position)
                    chunk = chunk[consumed:]
            for raw in chunk.splitlines(keepends=True):
                if not raw.endswith(b"\n"):
                    if reached_end and not self.own and segment is self.segments[-1]:
                        # A dead writer's torn last line (killed in the middle of a write).
                        log.error(
                            "audit journal ends in a torn line; skipped",
                            extra={"writer": self.writer, "segment": segment.path.name},
                        )
                        position = segment.end
                    break  # else a line cut by the byte budget: read again next time
                position += len(raw)
                budget -= len(raw)
                try:
                    seq = self._seq_of(raw)
                except (msgspec.DecodeError, ValueError):
                    log.error(
                        "audit journal line unreadable; skipped",
                        extra={"writer": self.writer, "segment": segment.path.name},
                    )
                    continue
                seqs.append(seq)
                data.append(raw.rstrip(b"\n"))
                if len(seqs) >= max_lines or budget <= 0:
                    return Lines(seqs, data, position)
            if position < segment.end or budget <= 0:
                break
        return Lines(seqs, data, position)

    def _consecutive(self, chunk: bytes, room: int) -> tuple[list[int], list[bytes], int] | None:
        """The complete lines at the head of `chunk` (at most `room`) when their seqs run one
        by one, as this process's own appends do: only the first and last are parsed. None
        when they do not (the line-by-line reading then sorts it out)."""
        cut = chunk.rfind(b"\n")
        if cut < 0 or room <= 0:
            return None
        data = chunk[:cut].split(b"\n")
        if len(data) > room:
            del data[room:]
        try:
            first, last = self._seq_of(data[0]), self._seq_of(data[-1])
        except (msgspec.DecodeError, ValueError):
            return None
        if last - first != len(data) - 1:
            return None
        return list(range(first, last + 1)), data, sum(map(len, data)) + len(data)

    def _seq_of(self, raw: bytes) -> int:
        """A line's seq. The journal writes `writer` and `seq` first, so the number is read
        after that known prefix; any other line is decoded whole."""
        prefix = self.line_head
        if raw.startswith(prefix):
            start = len(prefix)
            return int(raw[start : raw.index(b",", start)])
        return _SEQ_DECODER.decode(raw).seq

    def first_seq(self) -> int:
        """The seq of the oldest line kept (0: none)."""
        saved = self.cursor
        self.cursor = self.segments[0].base if self.segments else 0
        try:
            lines = self.read(1, 64 * 1024)
        finally:
            self.cursor = saved
        return lines.seqs[0] if lines.seqs else 0


class Journal:
    """This process's journal, plus the journals of dead writers it adopted."""

    def __init__(
        self,
        directory: Path,
        *,
        max_unshipped_bytes: int,
        retain_seconds: float,
        retain_bytes: int,
        segment_bytes: int = 4 * 1024 * 1024,
        segment_seconds: float = 600.0,
    ) -> None:
        self.directory = directory
        self.max_unshipped_bytes = max_unshipped_bytes
        self.retain_seconds = retain_seconds
        self.retain_bytes = retain_bytes
        self.segment_bytes = segment_bytes
        self.segment_seconds = min(segment_seconds, max(1.0, retain_seconds / 4))
        host = _UNSAFE.sub("_", socket.gethostname())[:40]
        self.writer = f"{host}-{os.getpid()}-{int(time.time() * 1000):x}{secrets.token_hex(2)}"
        self.own = WriterJournal(self.writer, directory, own=True, synced=True)
        self.adopted: dict[str, WriterJournal] = {}
        self.failed: str = ""
        self._next_seq = 1
        self._fd = -1
        self._lock_fd = -1
        self._locks: dict[str, int] = {}

    # -- lifecycle -----------------------------------------------------------------------

    def open(self) -> Journal:
        self.directory.mkdir(parents=True, exist_ok=True, mode=0o700)
        # The lock file is locked before it is seen under its name: one seen unlocked would
        # be taken for a stopped writer's by a process adopting orphans at that moment (two
        # workers starting together), and this writer could not lock it.
        lock = self.directory / f"{self.writer}.lock"
        unseen = lock.with_name(f"{self.writer}.lock-new")
        fd = os.open(unseen, os.O_CREAT | os.O_EXCL | os.O_RDWR, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            os.rename(unseen, lock)
        except BaseException:
            os.close(fd)
            unseen.unlink(missing_ok=True)
            raise
        self._lock_fd = fd
        self._new_segment()
        self.adopt_orphans()
        return self

    def close(self) -> None:
        """Release the lock; a journal with records left is adopted by the next writer."""
        if self._fd >= 0:
            os.close(self._fd)
            self._fd = -1
        for fd in self._locks.values():
            os.close(fd)
        self._locks.clear()
        if self._lock_fd >= 0:
            if not self.own.unshipped:
                self._delete(self.own)
            os.close(self._lock_fd)
            self._lock_fd = -1
            with contextlib.suppress(OSError):
                self.directory.rmdir()  # only when no journal is left in it

    def journals(self) -> list[WriterJournal]:
        return [*self.adopted.values(), self.own]

    @property
    def unshipped(self) -> int:
        return sum(j.unshipped for j in self.journals())

    @property
    def accepting(self) -> bool:
        # Asked once per screening: adopted journals are rare, so the sum over all journals
        # is only made when there are some.
        unshipped = self.unshipped if self.adopted else self.own.unshipped
        return not self.failed and unshipped < self.max_unshipped_bytes

    # -- appending -----------------------------------------------------------------------

    def append(self, record: AuditRecord) -> int:
        """Append one record (sets its writer and seq); raises JournalUnavailable when the
        journal is full or the disk failed, so the caller can refuse to answer."""
        self._make_room()
        record.writer = self.writer
        record.seq = self._next_seq
        return self._write(_ENCODER.encode(record) + b"\n")

    def append_encoded(self, rest: bytes) -> int:
        """Append a record already encoded but for its writer and seq: `rest` is the rest of
        its JSON object, from the comma after those two to the closing brace (the record of
        a repeated answer, records.PartyRecordTemplate). Raises as `append` does."""
        self._make_room()
        head = self.own.line_head
        return self._write(b"".join((head, str(self._next_seq).encode(), rest, b"\n")))

    def _make_room(self) -> None:
        if self.failed:
            raise JournalUnavailable(f"audit journal failed: {self.failed}")
        # Runs once per screening: the segment's fields are read directly rather than
        # through the `unshipped` / `written` / `end` properties.
        current = self.own.segments[-1]
        unshipped = current.base + current.size - self.own.cursor
        if unshipped >= self.max_unshipped_bytes:
            raise JournalUnavailable(
                f"audit spool full ({unshipped} bytes not yet shipped to Redis)"
            )
        if current.size >= self.segment_bytes or (
            current.size and time.time() - current.created >= self.segment_seconds
        ):
            self._new_segment()

    def _write(self, data: bytes) -> int:
        try:
            written = os.write(self._fd, data)
            if written < len(data):  # a short write: rare, so the slicing is kept off the path
                view = memoryview(data)[written:]
                while view:
                    view = view[os.write(self._fd, view) :]
        except OSError as exc:
            self.failed = str(exc)
            log.critical(
                "audit journal write failed; refusing screenings", extra={"error": str(exc)}
            )
            raise JournalUnavailable(f"audit journal write failed: {exc}") from exc
        self.own.segments[-1].size += len(data)
        seq = self._next_seq
        self._next_seq += 1
        return seq

    def _new_segment(self) -> None:
        number = self.own.segments[-1].number + 1 if self.own.segments else 0
        path = self.directory / f"{self.writer}.{number:06d}.jsonl"
        fd = os.open(path, os.O_CREAT | os.O_WRONLY | os.O_APPEND, 0o600)
        if self._fd >= 0:
            os.close(self._fd)
        self._fd = fd
        self.own.segments.append(Segment(path, number, self.own.written, 0, time.time()))

    # -- orphans and retention -----------------------------------------------------------

    def adopt_orphans(self) -> list[str]:
        """Take over the journals of writers that died (their lock can be taken)."""
        taken = []
        for lock in sorted(self.directory.glob("*.lock")):
            writer = lock.stem
            if writer == self.writer or writer in self.adopted:
                continue
            try:
                fd = os.open(lock, os.O_RDWR)
            except FileNotFoundError:
                continue
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError:
                os.close(fd)  # its writer is alive
                continue
            journal = WriterJournal(writer, self.directory, segments=self._segments_of(writer))
            self._locks[writer] = fd
            self.adopted[writer] = journal
            taken.append(writer)
            log.info(
                "audit journal of a stopped writer adopted",
                extra={"from_writer": writer, "bytes": journal.written},
            )
        return taken

    def _segments_of(self, writer: str) -> list[Segment]:
        found = []
        for path in self.directory.glob(f"{writer}.*.jsonl"):
            m = _SEGMENT.match(path.name)
            if m and m["writer"] == writer:
                stat = path.stat()
                found.append((int(m["n"]), path, stat.st_size, stat.st_mtime))
        segments, base = [], 0
        for number, path, size, mtime in sorted(found):
            segments.append(Segment(path, number, base, size, mtime))
            base += size
        return segments

    def prune(self) -> None:
        """Delete shipped segments past retention; forget adopted journals left empty."""
        now = time.time()
        for journal in self.journals():
            done = [s for s in journal.segments if s.end <= journal.cursor]
            if journal.own and done and done[-1] is journal.segments[-1]:
                done.pop()  # the segment being written stays
            kept = sum(s.size for s in done)
            for segment in done:
                if now - segment.created < self.retain_seconds and kept <= self.retain_bytes:
                    break
                with contextlib.suppress(FileNotFoundError):
                    segment.path.unlink()
                journal.segments.remove(segment)
                kept -= segment.size
            if not journal.own and not journal.segments:
                self._delete(journal)
                self.adopted.pop(journal.writer, None)
                fd = self._locks.pop(journal.writer, -1)
                if fd >= 0:
                    os.close(fd)

    def _delete(self, journal: WriterJournal) -> None:
        for segment in journal.segments:
            with contextlib.suppress(FileNotFoundError):
                segment.path.unlink()
        with contextlib.suppress(FileNotFoundError):
            (self.directory / f"{journal.writer}.lock").unlink()

    def rewind(self, journal: WriterJournal, redis_holds: int) -> int:
        """Redis lost records it had confirmed (it holds up to `redis_holds` only): ship the
        retained segments again from the start. Returns how many records are gone for good
        (older than what the journal retains)."""
        believed = journal.acked_seq
        journal.cursor = journal.segments[0].base if journal.segments else 0
        journal.acked_seq = redis_holds
        first = journal.first_seq()
        return max(0, (first - 1 if first else believed) - redis_holds)
