"""Build the match index of a snapshot into the host's index file, in a process of its own:
a worker that needs an index no one on the host has built yet starts this and keeps
answering calls meanwhile; the build's memory goes away with the process.

    python -m screening.index.build --redis-url URL --prefix P --version V --dir DIR

The caller holds the file's build lock (index/files.py).
"""

from __future__ import annotations

import argparse
import gc
import logging
import sys
import threading
import time
from pathlib import Path

from screening.index.files import IndexFiles
from screening.matching.matcher import MatchIndex
from screening.store.snapshots import ListStore, Manifest

log = logging.getLogger(__name__)


def build_file(store: ListStore, manifest: Manifest, files: IndexFiles) -> Path:
    """Build and write the index of `manifest` (the caller holds its lock)."""
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
        matcher = MatchIndex(entities)
        path = files.write(manifest, matcher)
    finally:
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
