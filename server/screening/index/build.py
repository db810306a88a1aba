"""Build the match index of a snapshot into the host's index file, in a process of its own:
a worker that needs an index no one on the host has built yet starts this and keeps
answering calls meanwhile; the build's memory goes away with the process. With index files
shared through Redis (index/shared.py), another host's copy is fetched instead of built.

    python -m screening.index.build --redis-url URL --prefix P --version V --dir DIR

The caller holds the file's build lock (index/files.py).
"""

from __future__ import annotations

import argparse
import contextlib
import ctypes
import gc
import logging
import multiprocessing
import os
import signal
import sys
import threading
import time
from collections.abc import Callable
from multiprocessing.connection import Connection
from pathlib import Path
from typing import TypeVar, cast

from screening.collector import collector_paused
from screening.index.files import IndexFiles
from screening.index.shared import SHARE_KEY_ENV, IndexCopies
from screening.store.snapshots import ListStore, Manifest

log = logging.getLogger(__name__)

T = TypeVar("T")
R = TypeVar("R")


def obtain_file(
    store: ListStore,
    manifest: Manifest,
    files: IndexFiles,
    split: OtherProcess | None = None,
    shared: IndexCopies | None = None,
) -> Path:
    """Write the host's index file of `manifest`, which it lacks or has damaged (the caller
    holds its lock): with `shared`, the copy another host put in Redis, if there is one
    that checks; else built here (and then shared). `split`: as for build_file."""
    path = files.path(manifest)
    if shared is not None:
        started = time.perf_counter()
        if shared.fetch(path):
            if split is not None:
                split.close()
            files.prune(keep=path)
            log.info(
                "index file fetched from redis",
                extra={
                    "data_version": manifest.version,
                    "seconds": round(time.perf_counter() - started, 2),
                    "file": str(path),
                },
            )
            return path
    build_file(store, manifest, files, split=split)
    if shared is not None:
        offer_file(path, shared)
    return path


def offer_file(path: Path, shared: IndexCopies) -> None:
    """Share the host's index file `path` unless Redis has a copy."""
    if not shared.has(path.name):
        shared.share(path)


def build_file(
    store: ListStore, manifest: Manifest, files: IndexFiles, split: OtherProcess | None = None
) -> Path:
    """Build and write the index of `manifest` (the caller holds its lock). `split`: the
    helper process, when the caller started it ahead of the build (it is closed here)."""
    from screening.matching.matcher import MatchIndex  # heavy: imported when needed

    started = time.perf_counter()
    done = threading.Event()
    ticker = threading.Thread(
        target=_say_building, args=(manifest.version, started, done), daemon=True
    )
    ticker.start()
    try:
        # Millions of long-lived objects: a collection pass over them would only cost time.
        with collector_paused():
            entities = store.entities(manifest)
            if split is None and len(entities) >= MIN_SPLIT_ENTITIES:
                split = OtherProcess()
            matcher = MatchIndex(entities, split=split)
            path = files.write(manifest, matcher)
    finally:
        if split is not None:
            split.close()
        done.set()
    log.info(
        "index file built",
        extra={
            "data_version": manifest.version,
            "entities": len(entities),
            "seconds": round(time.perf_counter() - started, 2),
            "file": str(path),
        },
    )
    return path


# Lists shorter than this are not worth another process's time.
MIN_SPLIT = 2048
# Nor is a snapshot this small: starting the process (its imports, about a second of CPU)
# would cost more than the half of the build it takes.
MIN_SPLIT_ENTITIES = 5000
_SEED_PROBE = "screening-index seed probe"


def _seed_probe() -> int:
    return hash(_SEED_PROBE)


PR_SET_PDEATHSIG = 1


def _warm_up(parent_pid: int) -> int:
    """The helper's first task: end with the process it helps (else a helper of a build
    killed midway, or of a process that exits without waiting for it, would wait for work
    forever), import what the build's work needs (so that it is done by the time the build
    hands it work), then say its hash seed."""
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    if os.getppid() != parent_pid:  # gone before the request above
        os._exit(0)
    # Ctrl-C at a terminal reaches every process of the group: the process it helps
    # decides when this one stops.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    import screening.matching.candidates  # noqa: F401

    return _seed_probe()


class OtherProcess:
    """candidates.SplitWork: part of each list run by one spawned process, the rest here,
    side by side (a build is mostly pure work per name and per word, and a host
    has more than one core). The process starts at once: its start overlaps the build's
    first steps.

    Work and results go over one pipe, in order (the build hands over one task at a time
    and reads its result before the next). No executor: its queues hold named semaphores,
    which a build stopped by SIGTERM (the supervisor stopping a start) leaves for
    multiprocessing's resource tracker to clean up with a bare warning line on the
    service's log."""

    def __init__(self) -> None:
        ctx = multiprocessing.get_context("spawn")
        ours, theirs = ctx.Pipe()
        self._proc: multiprocessing.process.BaseProcess | None = ctx.Process(
            target=_serve_helper,
            args=(theirs, os.getpid()),
            name="screening-index-helper",
            daemon=True,
        )
        self._conn: Connection | None = ours
        self._lock = threading.Lock()
        self._sent = 0  # tasks handed over, the first (the seed probe) included
        self._received = 0  # replies read
        self._replies: dict[int, tuple[bool, object]] = {}
        try:
            self._proc.start()
        except OSError as exc:
            log.warning("index build helper did not start", extra={"error": repr(exc)})
            self._proc = None
            self.close()
        theirs.close()
        self._probe = self._submitted()  # its first task: _warm_up, started by itself

    def __call__(self, func: Callable[[list[T]], list[R]], items: list[T]) -> list[R]:
        return self._start(func, items, theirs=0.5)()

    def start_hashed(
        self, func: Callable[[list[T]], list[R]], items: list[T], theirs: float
    ) -> Callable[[], list[R]]:
        # The other process hashes str as this one does only under the same seed (the
        # supervisor's PYTHONHASHSEED); else every hash is made here.
        try:
            same_seed = self._probe() == _seed_probe()
        except Exception:  # the process could not start: the work is done here
            same_seed = False
        if not same_seed:
            return lambda: func(items)
        return self._start(func, items, theirs)

    def _start(
        self, func: Callable[[list[T]], list[R]], items: list[T], theirs: float
    ) -> Callable[[], list[R]]:
        """Hand the other process the last `theirs` of `items` now; the returned call does
        the rest here and joins, in order."""
        conn = self._conn
        if conn is None or len(items) < MIN_SPLIT:
            return lambda: func(items)
        cut = len(items) - int(len(items) * theirs)
        # Handed over from a thread: the other process may still be importing, and the
        # share starts here meanwhile.
        failed: list[Exception] = []
        sending = threading.Thread(
            target=_send,
            args=(conn, (func, items[cut:]), failed),
            name="index-helper-send",
            daemon=True,  # never holds up this process's exit
        )
        sending.start()
        result = self._submitted()

        def rest() -> list[R]:
            ours = func(items[:cut])
            sending.join()
            try:
                if failed:
                    raise failed[0]
                return ours + cast("list[R]", result())
            except Exception as exc:  # the process died (killed, out of memory): done here
                log.warning("index build helper failed", extra={"error": repr(exc)})
                self.close()
                return ours + func(items[cut:])

        return rest

    def _submitted(self) -> Callable[[], object]:
        """The reply to the task just handed over, read when asked for (replies come in
        the order of the tasks)."""
        number = self._sent
        self._sent += 1
        return lambda: self._reply(number)

    def _reply(self, number: int) -> object:
        with self._lock:
            while number not in self._replies:
                if self._conn is None:
                    raise RuntimeError("the index build helper is closed")
                try:
                    self._replies[self._received] = self._conn.recv()
                except (EOFError, OSError) as exc:
                    raise RuntimeError("the index build helper died") from exc
                self._received += 1
            done, value = self._replies.pop(number)
        if not done:
            raise RuntimeError(f"index build helper: {value}")
        return value

    def close(self) -> None:
        # Not waited for: the process's exit (freeing its share of the build) would hold
        # the index file's lock, which the workers wait on, for half a second. It ends when
        # it reads the end of the pipe (and, if this process exits first, with it:
        # _warm_up).
        conn, self._conn = self._conn, None
        if conn is not None:
            conn.close()


def _send(conn: Connection, task: object, failed: list[Exception]) -> None:
    try:
        conn.send(task)
    except (OSError, ValueError) as exc:  # the process is gone, or the pipe closed
        failed.append(exc)


def _serve_helper(conn: Connection, parent_pid: int) -> None:
    """The helper process: `_warm_up`'s answer, then each task's, until the pipe ends."""
    conn.send((True, _warm_up(parent_pid)))
    # Its work makes and returns lists of tokens and keys, which hold no cycle: collections
    # would only walk them again. Its memory goes with the process.
    gc.disable()
    while True:
        try:
            func, items = conn.recv()
        except (EOFError, OSError):
            return
        try:
            reply: tuple[bool, object] = (True, func(items))
        except Exception as exc:
            reply = (False, repr(exc))
        try:
            conn.send(reply)
        except OSError:
            return


# Start-up progress while a build runs (minutes at a million entries): the workers wait
# for its file without a word of their own.
PROGRESS_SECONDS = 5.0


def _say_building(version: str, started: float, done: threading.Event) -> None:
    while not done.wait(PROGRESS_SECONDS):
        log.info(
            "building index",
            extra={"data_version": version, "seconds": round(time.perf_counter() - started, 1)},
        )


def main(argv: list[str] | None = None) -> int:
    from screening.config import log_level
    from screening.observability.logging import setup_logging
    from screening.store.connection import connect

    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--redis-url", required=True)
    parser.add_argument("--prefix", required=True)
    parser.add_argument("--version", required=True)
    parser.add_argument("--dir", type=Path, required=True)
    args = parser.parse_args(argv)
    setup_logging(log_level("INFO"))
    client = connect(args.redis_url)
    store = ListStore(client, args.prefix)
    manifest = store.manifest(args.version)
    if manifest is None:
        log.error("no such snapshot", extra={"data_version": args.version})
        return 2
    # The key comes in the environment (the worker's), never on a command line.
    key = os.environ.get(SHARE_KEY_ENV, "")
    shared = IndexCopies(client, args.prefix, key) if key else None
    obtain_file(store, manifest, IndexFiles(args.dir), shared=shared)
    return 0


if __name__ == "__main__":
    sys.exit(main())
