"""Build the match index of a snapshot into the host's index file, in a process of its own:
a worker that needs an index no one on the host has built yet starts this and keeps
answering calls meanwhile; the build's memory goes away with the process.

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
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import TypeVar

from screening.index.files import IndexFiles
from screening.store.snapshots import ListStore, Manifest

log = logging.getLogger(__name__)

T = TypeVar("T")
R = TypeVar("R")


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
    # Millions of long-lived objects: a collection pass over them would only cost time.
    gc.disable()
    try:
        entities = store.entities(manifest)
        if split is None and len(entities) >= MIN_SPLIT_ENTITIES:
            split = OtherProcess()
        matcher = MatchIndex(entities, split=split)
        path = files.write(manifest, matcher)
    finally:
        if split is not None:
            split.close()
        gc.enable()
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
    first steps."""

    def __init__(self) -> None:
        self._pool: ProcessPoolExecutor | None = ProcessPoolExecutor(
            max_workers=1, mp_context=multiprocessing.get_context("spawn")
        )
        self._probe = self._pool.submit(_warm_up, os.getpid())

    def __call__(self, func: Callable[[list[T]], list[R]], items: list[T]) -> list[R]:
        return self._start(func, items, theirs=0.5)()

    def start_hashed(
        self, func: Callable[[list[T]], list[R]], items: list[T], theirs: float
    ) -> Callable[[], list[R]]:
        # The other process hashes str as this one does only under the same seed (the
        # supervisor's PYTHONHASHSEED); else every hash is made here.
        try:
            same_seed = self._probe.result() == _seed_probe()
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
        if self._pool is None or len(items) < MIN_SPLIT:
            return lambda: func(items)
        cut = len(items) - int(len(items) * theirs)
        future = self._pool.submit(func, items[cut:])

        def rest() -> list[R]:
            ours = func(items[:cut])
            try:
                return ours + future.result()
            except Exception as exc:  # the process died (killed, out of memory): done here
                log.warning("index build helper failed", extra={"error": repr(exc)})
                self.close()
                return ours + func(items[cut:])

        return rest

    def close(self) -> None:
        if self._pool is not None:
            pool, self._pool = self._pool, None
            # Not waited for: the process's exit (freeing its share of the build) would
            # hold the index file's lock, which the workers wait on, for half a second. (If
            # this process exits first, the helper is killed with it: _warm_up.)
            pool.shutdown(wait=False, cancel_futures=True)


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
    store = ListStore(connect(args.redis_url), args.prefix)
    manifest = store.manifest(args.version)
    if manifest is None:
        log.error("no such snapshot", extra={"data_version": args.version})
        return 2
    build_file(store, manifest, IndexFiles(args.dir))
    return 0


if __name__ == "__main__":
    sys.exit(main())
