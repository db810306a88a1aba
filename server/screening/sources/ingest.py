"""Ingest list files into Redis: discover, parse, check, publish a snapshot.

Only one replica ingests at a time (a Redis lock with expiry). A file that fails to parse is
rejected whole and reported; the last good data of its source stays live. Publications are
parsed side by side in worker processes, and a file whose content the store already holds
(the live publication, or one applied before as history) is not parsed again.
"""

from __future__ import annotations

import contextlib
import logging
import multiprocessing
import os
import time
from collections.abc import Iterator
from concurrent.futures import Future, ProcessPoolExecutor, as_completed
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from pathlib import Path

import msgspec
from redis.lock import Lock

from screening.model.entities import Publication
from screening.sources.common import ParseError, sha256_files
from screening.sources.registry import FileSet, discover_all, parse_fileset
from screening.store.snapshots import ListStore, Manifest, SourceState, StageOutcome

log = logging.getLogger(__name__)

LOCK_TIMEOUT_SECONDS = 900
# Parsed publications travel from the parsing processes as msgpack (faster than pickle).
_PUBLICATION_DECODER = msgspec.msgpack.Decoder(Publication)


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
    processes: int = 0,
) -> IngestResult:
    """Parse, stage and publish. The caller holds the ingest lock. `processes`: parsing
    processes (0: one per core); each source is staged as soon as its files are parsed."""
    result = IngestResult(manifest=None)
    base = store.manifest()
    sources = dict(base.sources) if base else {}
    by_source: dict[str, list[FileSet]] = {}
    for fs in filesets:
        by_source.setdefault(fs.source, []).append(fs)
    todo: list[FileSet] = []
    for source, group in sorted(by_source.items()):
        live = sources.get(source)
        held = store.held_hashes(source) | {live.sha256} if live is not None else set()
        for fs in group:
            sha = sha256_files(fs.paths)
            if sha in held:
                assert live is not None
                result.files.append(_unchanged(fs, live if sha == live.sha256 else None))
            else:
                todo.append(fs)
    remaining = {source: sum(fs.source == source for fs in todo) for source in by_source}
    parsed: dict[str, list[tuple[FileSet, Publication, float]]] = {}
    for fs, outcome, seconds in _parse_all(todo, processes):
        source = fs.source
        if isinstance(outcome, Publication):
            parsed.setdefault(source, []).append((fs, outcome, seconds))
        else:
            message = f"{source} {fs.main.name}: rejected: {outcome}"
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
                    detail=str(outcome),
                    seconds=seconds,
                )
            )
            log.warning(
                "list file rejected",
                extra={"source": source, "file": fs.main.name, "reason": str(outcome)},
            )
        remaining[source] -= 1
        if remaining[source] == 0 and parsed.get(source):
            _stage_source(store, parsed.pop(source), sources, base, max_drop_share, result)
    result.manifest = store.publish(sources) or store.manifest()
    if describe_dates:
        _describe_dates(store, result)
    return result


def _unchanged(fs: FileSet, live: SourceState | None) -> FileOutcome:
    """A file whose content the store holds: the live publication, or one applied before."""
    return FileOutcome(
        source=fs.source,
        format=fs.format,
        file=fs.main.name,
        publication_date=fs.publication_date,
        entities=live.entity_count if live is not None else 0,
        outcome="unchanged",
        detail=("live; " if live is not None else "")
        + "content already ingested, not parsed again",
    )


def _stage_source(
    store: ListStore,
    parsed: list[tuple[FileSet, Publication, float]],
    sources: dict[str, SourceState],
    base: Manifest | None,
    max_drop_share: float,
    result: IngestResult,
) -> None:
    publications = [pub for _, pub, _ in parsed]
    timings = {pub.files[0]: seconds for _, pub, seconds in parsed}
    outcomes = store.stage(publications, sources, base, max_drop_share=max_drop_share)
    for outcome, pub in zip(outcomes, _by_date(publications), strict=True):
        result.notes.append(outcome.note)
        if outcome.outcome == "rejected":
            result.rejected.append(outcome.note)
        result.files.append(_file_outcome(outcome, timings.get(pub.files[0], 0.0)))


def _parse_timed(fs: FileSet) -> tuple[bytes | str, float]:
    """Parse one publication in a parsing process: (msgpack of it, or the error; seconds)."""
    started = time.perf_counter()
    try:
        encoded: bytes | str = msgspec.msgpack.encode(parse_fileset(fs))
    except (ParseError, OSError) as exc:
        encoded = str(exc)
    return encoded, time.perf_counter() - started


def _parse_all(
    filesets: list[FileSet], processes: int
) -> Iterator[tuple[FileSet, Publication | str, float]]:
    """(fileset, its publication or the reason it was rejected, seconds), as each is done:
    side by side in `processes` spawned processes (0: one per core), largest files first.
    Where processes cannot be started, in this one."""
    workers = min(processes or os.cpu_count() or 1, len(filesets))
    done: set[int] = set()
    if workers > 1:
        largest_first = sorted(range(len(filesets)), key=lambda i: -_size(filesets[i]))
        context = multiprocessing.get_context("spawn")
        try:
            with ProcessPoolExecutor(workers, mp_context=context) as pool:
                futures: dict[Future[tuple[bytes | str, float]], int] = {
                    pool.submit(_parse_timed, filesets[i]): i for i in largest_first
                }
                for future in as_completed(futures):
                    encoded, seconds = future.result()
                    done.add(futures[future])
                    outcome = (
                        _PUBLICATION_DECODER.decode(encoded)
                        if isinstance(encoded, bytes)
                        else encoded
                    )
                    yield filesets[futures[future]], outcome, seconds
            return
        except (BrokenProcessPool, OSError) as exc:
            log.warning("parsing in this process: no parsing processes", extra={"error": str(exc)})
    for i, fs in enumerate(filesets):
        if i in done:
            continue
        started = time.perf_counter()
        try:
            yield fs, parse_fileset(fs), time.perf_counter() - started
        except (ParseError, OSError) as exc:
            yield fs, str(exc), time.perf_counter() - started


def _size(fs: FileSet) -> int:
    total = 0
    for path in fs.paths:
        with contextlib.suppress(OSError):
            total += path.stat().st_size
    return total


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
