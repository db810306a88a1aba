"""Parse list files in a child process, so that a hostile file costs that process only.

The parsers bound what they read (sources/limits.py), but only a separate process bounds
everything: the child runs under an address-space cap (RLIMIT_AS), and the parent waits at
most `max_seconds` for each publication, then kills the child. Any failure inside, a
ParseError, a parser bug, MemoryError or a crash, comes back as the rejection of that one
publication, with its reason; the next publication gets a fresh child if the last one died.

One child serves a whole ingest or refresh round (starting one costs about half a second).
"""

from __future__ import annotations

import contextlib
import gc
import logging
import multiprocessing
import multiprocessing.connection
import multiprocessing.process
import resource
import signal
import time
import traceback
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType

import msgspec

from screening.collector import collector_paused
from screening.model.entities import Publication
from screening.observability.logging import setup_logging
from screening.sources.base import FileSet
from screening.sources.common import ParseError, display_name, printable
from screening.sources.limits import ParseContext, ParseLimits

_PUBLICATION_DECODER = msgspec.msgpack.Decoder(Publication)
STARTUP_SECONDS = 60


@dataclass
class ParseOutcome:
    """One publication parsed (`publication`), or rejected (`error` says why)."""

    fileset: FileSet
    publication: Publication | None = None
    error: str = ""
    seconds: float = 0.0
    peak_rss_bytes: int = 0  # the parsing process's peak resident memory for this file
    decode_fallbacks: dict[str, str] = field(default_factory=dict)
    control_fields: int = 0


class ParseSandbox:
    """A parsing child process, started on first use and stopped by `close()`."""

    def __init__(self, limits: ParseLimits | None = None) -> None:
        self.limits = limits or ParseLimits()
        self._ctx = multiprocessing.get_context("spawn")  # no fork: the caller has threads
        self._proc: multiprocessing.process.BaseProcess | None = None
        self._conn: multiprocessing.connection.Connection | None = None

    def __enter__(self) -> ParseSandbox:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def parse(self, fileset: FileSet) -> ParseOutcome:
        """Parse one publication; never raises for what the files hold."""
        outcome = ParseOutcome(fileset)
        name = display_name(fileset.main)
        started = time.perf_counter()
        try:
            conn = self._start()
            started = time.perf_counter()
            conn.send(fileset)
            if not conn.poll(self.limits.max_seconds):
                self._kill()
                raise ParseError(
                    f"{name}: parsing took longer than {self.limits.max_seconds:g} s; stopped"
                )
            try:
                reply = conn.recv()
            except (EOFError, OSError):
                raise ParseError(f"{name}: the parsing process died ({self._reap()})") from None
        except ParseError as exc:
            outcome.error = str(exc)
            outcome.seconds = time.perf_counter() - started
            return outcome
        outcome.seconds = time.perf_counter() - started
        kind, payload, outcome.peak_rss_bytes, fallbacks, controls, fatal = reply
        outcome.decode_fallbacks, outcome.control_fields = fallbacks, controls
        if kind == "ok":
            outcome.publication = _PUBLICATION_DECODER.decode(payload)
        else:
            outcome.error = payload
            if fatal:  # the child may be left in a bad state (MemoryError, a bug)
                self._kill()
        return outcome

    def close(self) -> None:
        if self._conn is not None:
            with contextlib.suppress(OSError):
                self._conn.send(None)
        if self._proc is not None:
            self._proc.join(5)
        self._kill()

    def _start(self) -> multiprocessing.connection.Connection:
        if self._proc is not None and self._proc.is_alive() and self._conn is not None:
            return self._conn
        self._kill()
        parent, child = self._ctx.Pipe()
        proc = self._ctx.Process(
            target=_serve,
            args=(child, self.limits, logging.getLogger().getEffectiveLevel()),
            name="screening-list-parser",
            daemon=True,
        )
        proc.start()
        child.close()
        self._proc, self._conn = proc, parent
        # The time cap counts parsing only: wait for the child to be ready first.
        try:
            ready = parent.poll(STARTUP_SECONDS) and parent.recv() == "ready"
        except (EOFError, OSError):
            ready = False
        if not ready:
            reason = self._reap()
            raise ParseError(f"the parsing process did not start ({reason})")
        return parent

    def _kill(self) -> None:
        if self._proc is not None:
            if self._proc.is_alive():
                self._proc.kill()
            self._proc.join(5)
        if self._conn is not None:
            self._conn.close()
        self._proc = self._conn = None

    def _reap(self) -> str:
        proc = self._proc
        if proc is not None:
            proc.join(5)
        code = proc.exitcode if proc is not None else None
        self._kill()
        if code is not None and code < 0:
            return f"killed by {signal.Signals(-code).name}"
        return f"exit code {code}"


# -- the child -----------------------------------------------------------------------------


def _serve(
    conn: multiprocessing.connection.Connection, limits: ParseLimits, log_level: int
) -> None:
    """The child's loop: parse each file set sent, answer, until told to stop (None/EOF)."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent decides when this stops
    # What a parser logs, as JSON lines like the parent's (Python's last-resort handler
    # would print the bare message).
    setup_logging(logging.getLevelName(log_level))
    import screening.sources.registry  # noqa: F401  (every parser, before the clock starts)

    cap = limits.max_memory_bytes
    if cap:
        resource.setrlimit(resource.RLIMIT_AS, (cap, cap))
    # The modules stay for the process's life: no collection needs to walk them again.
    gc.freeze()
    try:
        _answer_each(conn, limits)
    except (BrokenPipeError, ConnectionResetError):
        return  # the parent is gone (stopped midway): nobody waits for an answer


def _answer_each(conn: multiprocessing.connection.Connection, limits: ParseLimits) -> None:
    conn.send("ready")
    while True:
        try:
            fileset = conn.recv()
        except EOFError:
            return
        if fileset is None:
            return
        # A parse builds hundreds of thousands of objects and frees them at its end; the
        # collections they would trigger on the way cost a fifth of its time and find next
        # to nothing (no cycle in any parser's garbage; a few thousand objects for an xlsx,
        # openpyxl's): one pass after the answer instead.
        with collector_paused():
            reply = _parse_one(fileset, limits)
        conn.send(reply)
        del reply
        gc.collect()


def _parse_one(fileset: FileSet, limits: ParseLimits) -> tuple[object, ...]:
    from screening.sources.registry import parse_fileset

    _reset_peak_rss()
    ctx = ParseContext(limits)
    try:
        publication = parse_fileset(fileset, ctx)
        payload = msgspec.msgpack.encode(publication)
        del publication
        return ("ok", payload, _peak_rss(), ctx.decode_fallbacks, ctx.control_fields, False)
    except ParseError as exc:
        return ("error", str(exc), _peak_rss(), ctx.decode_fallbacks, ctx.control_fields, False)
    except MemoryError:
        cap = limits.max_memory_bytes
        reason = f"{display_name(fileset.main)}: parsing ran out of memory (cap {cap} bytes)"
        return ("error", reason, _peak_rss(), {}, 0, True)
    except Exception as exc:  # hostile input meeting a parser bug: this publication only
        frame = traceback.extract_tb(exc.__traceback__)[-1]
        where = f"{Path(frame.filename).name}:{frame.lineno}"
        reason = f"{display_name(fileset.main)}: {type(exc).__name__}: {exc} (at {where})"
        return ("error", printable(reason), _peak_rss(), {}, 0, True)


def _reset_peak_rss() -> None:
    """Start this file's peak memory count afresh (Linux: clear_refs 5 resets VmHWM)."""
    with contextlib.suppress(OSError):
        Path("/proc/self/clear_refs").write_text("5")


def _peak_rss() -> int:
    with contextlib.suppress(OSError, ValueError):
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
