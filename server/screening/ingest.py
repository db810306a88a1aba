"""Ingest list files into Redis: discover, parse, check, publish a snapshot.

Only one replica ingests at a time (a Redis lock with expiry). A file that fails to parse is
rejected whole and reported; the last good data of its source stays live.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path

from screening.sources.common import ParseError
from screening.sources.registry import FileSet, discover, parse_fileset
from screening.store.snapshots import ListStore, Manifest

log = logging.getLogger(__name__)

LOCK_TIMEOUT_SECONDS = 900


@dataclass
class IngestResult:
    manifest: Manifest | None
    notes: list[str] = field(default_factory=list)
    rejected: list[str] = field(default_factory=list)


def ingest_directory(
    store: ListStore,
    lists_dir: Path,
    *,
    max_drop_share: float = 0.2,
    wait_for_lock: float = 60.0,
) -> IngestResult:
    filesets = discover(lists_dir)
    return ingest_filesets(
        store, filesets, max_drop_share=max_drop_share, wait_for_lock=wait_for_lock
    )


def ingest_filesets(
    store: ListStore,
    filesets: list[FileSet],
    *,
    max_drop_share: float = 0.2,
    wait_for_lock: float = 60.0,
) -> IngestResult:
    result = IngestResult(manifest=None)
    lock = store.redis.lock(
        store.keys.ingest_lock, timeout=LOCK_TIMEOUT_SECONDS, blocking_timeout=wait_for_lock
    )
    if not lock.acquire():
        raise TimeoutError("another replica holds the ingest lock")
    try:
        base = store.manifest()
        sources = dict(base.sources) if base else {}
        by_source: dict[str, list[FileSet]] = {}
        for fs in filesets:
            by_source.setdefault(fs.source, []).append(fs)
        for source, group in sorted(by_source.items()):
            publications = []
            for fs in group:
                try:
                    publications.append(parse_fileset(fs))
                except (ParseError, OSError) as exc:
                    message = f"{source} {fs.main.name}: rejected: {exc}"
                    result.rejected.append(message)
                    log.warning(
                        "list file rejected",
                        extra={"source": source, "file": fs.main.name, "reason": str(exc)},
                    )
            if not publications:
                continue
            notes = store.stage(publications, sources, base, max_drop_share=max_drop_share)
            result.notes.extend(notes)
            result.rejected.extend(n for n in notes if ": rejected:" in n)
        result.manifest = store.publish(sources)
    finally:
        try:
            lock.release()
        except Exception:  # expired lock: another replica may own it now
            log.warning("ingest lock had expired before release")
    if result.manifest is None:
        result.manifest = store.manifest()
    return result
