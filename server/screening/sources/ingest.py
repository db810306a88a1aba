"""Ingest list files into Redis: discover, parse, check, publish a snapshot.

Only one replica ingests at a time (a Redis lock with expiry). A file that fails to parse is
rejected whole and reported; the last good data of its source stays live.
"""

from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from redis.lock import Lock

from screening.model.entities import Publication
from screening.sources.common import ParseError
from screening.sources.registry import FileSet, discover_all, parse_fileset
from screening.store.snapshots import ListStore, Manifest, StageOutcome

log = logging.getLogger(__name__)

LOCK_TIMEOUT_SECONDS = 900


class LockBusy(TimeoutError):
    """Another replica holds the ingest lock."""


@dataclass
class FileOutcome:
    """One publication found in the files, and what became of it."""

    source: str
    format: str
    file: str
    publication_date: str
    entities: int
    outcome: str  # live, superseded, history, same publication, skipped, rejected
    detail: str = ""
    seconds: float = 0.0
    dates: str = ""  # official / first_seen / mixed counts, filled for the live publication


@dataclass
class IngestResult:
    manifest: Manifest | None
    notes: list[str] = field(default_factory=list)
    rejected: list[str] = field(default_factory=list)
    files: list[FileOutcome] = field(default_factory=list)


@contextlib.contextmanager
def ingest_lock(store: ListStore, wait: float) -> Iterator[Lock]:
    """Hold the replicas' shared ingest lock (it expires if this process dies).

    `wait` 0: fail at once (LockBusy) when another replica holds it.
    """
    lock = store.redis.lock(
        store.keys.ingest_lock, timeout=LOCK_TIMEOUT_SECONDS, blocking_timeout=wait
    )
    if not lock.acquire(blocking=wait > 0):
        raise LockBusy("another replica holds the ingest lock")
    try:
        yield lock
    finally:
        try:
            lock.release()
        except Exception:  # expired lock: another replica may own it now
            log.warning("ingest lock had expired before release")


def ingest_directory(
    store: ListStore,
    lists_dir: Path,
    *,
    max_drop_share: float = 0.2,
    wait_for_lock: float = 60.0,
    describe_dates: bool = False,
) -> IngestResult:
    filesets, skipped = discover_all(lists_dir)
    with ingest_lock(store, wait_for_lock):
        result = apply_filesets(
            store, filesets, max_drop_share=max_drop_share, describe_dates=describe_dates
        )
    for item in skipped:
        result.files.append(
            FileOutcome(
                source=item.fileset.source,
                format=item.fileset.format,
                file=item.fileset.main.name,
                publication_date=item.fileset.publication_date,
                entities=0,
                outcome="skipped",
                detail=f"same publication as {item.kept.main.name} ({item.kept.format})",
            )
        )
    return result


def ingest_filesets(
    store: ListStore,
    filesets: list[FileSet],
    *,
    max_drop_share: float = 0.2,
    wait_for_lock: float = 60.0,
) -> IngestResult:
    with ingest_lock(store, wait_for_lock):
        return apply_filesets(store, filesets, max_drop_share=max_drop_share)


def apply_filesets(
    store: ListStore,
    filesets: list[FileSet],
    *,
    max_drop_share: float = 0.2,
    describe_dates: bool = False,
) -> IngestResult:
    """Parse, stage and publish. The caller holds the ingest lock."""
    result = IngestResult(manifest=None)
    base = store.manifest()
    sources = dict(base.sources) if base else {}
    by_source: dict[str, list[FileSet]] = {}
    for fs in filesets:
        by_source.setdefault(fs.source, []).append(fs)
    for source, group in sorted(by_source.items()):
        publications: list[Publication] = []
        timings: dict[str, float] = {}
        for fs in group:
            started = time.perf_counter()
            try:
                publications.append(parse_fileset(fs))
                timings[str(fs.main)] = time.perf_counter() - started
            except (ParseError, OSError) as exc:
                message = f"{source} {fs.main.name}: rejected: {exc}"
                result.rejected.append(message)
                result.notes.append(message)
                result.files.append(
                    FileOutcome(
                        source=source,
                        format=fs.format,
                        file=fs.main.name,
                        publication_date=fs.publication_date,
                        entities=0,
                        outcome="rejected",
                        detail=str(exc),
                        seconds=time.perf_counter() - started,
                    )
                )
                log.warning(
                    "list file rejected",
                    extra={"source": source, "file": fs.main.name, "reason": str(exc)},
                )
        if not publications:
            continue
        outcomes = store.stage(publications, sources, base, max_drop_share=max_drop_share)
        for outcome, pub in zip(outcomes, _by_date(publications), strict=True):
            result.notes.append(outcome.note)
            if outcome.outcome == "rejected":
                result.rejected.append(outcome.note)
            result.files.append(_file_outcome(outcome, timings.get(pub.files[0], 0.0)))
    result.manifest = store.publish(sources) or store.manifest()
    if describe_dates:
        _describe_dates(store, result)
    return result


def _by_date(publications: list[Publication]) -> list[Publication]:
    return sorted(publications, key=lambda p: p.publication_date)


def _file_outcome(outcome: StageOutcome, seconds: float) -> FileOutcome:
    return FileOutcome(
        source=outcome.source,
        format=outcome.format,
        file=outcome.files[0] if outcome.files else "",
        publication_date=outcome.publication_date,
        entities=outcome.entities,
        outcome=outcome.outcome,
        detail=outcome.detail or f"+{outcome.added} -{outcome.removed} ~{outcome.changed}",
        seconds=seconds,
    )


def _describe_dates(store: ListStore, result: IngestResult) -> None:
    """Count the designation-date bases of each live source (for the ingest table)."""
    manifest = result.manifest
    if manifest is None:
        return
    for item in result.files:
        state = manifest.sources.get(item.source)
        if (
            item.outcome != "live"
            or state is None
            or state.publication_date != (item.publication_date)
        ):
            continue
        counts: dict[str, int] = {}
        for entity in store.entities(manifest, item.source):
            basis = str(entity.designation_date_basis) or "none"
            counts[basis] = counts.get(basis, 0) + 1
        item.dates = ", ".join(f"{k} {v}" for k, v in sorted(counts.items()))
