"""Ingest list files into Redis: discover, parse, check, publish a snapshot.

Only one replica ingests at a time (a Redis lock with expiry). Files are parsed in child
processes under caps (sources/sandbox.py), one per core, side by side; a file whose content
the store already holds (the live publication, or one applied before as history) is not
parsed again. A file that fails in any way is rejected whole and reported; the other sources
publish, and the last good data of its source stays live (from Redis, or from the copy kept
on disk when Redis is empty).
"""

from __future__ import annotations

import contextlib
import logging
import os
import queue
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from redis.lock import Lock

from screening.collector import collector_paused
from screening.model.entities import Publication
from screening.sources.common import display_name, sha256_files
from screening.sources.last_good import LastGoodStore
from screening.sources.limits import ParseLimits
from screening.sources.registry import FileSet, UnreadableFile, discover_all
from screening.sources.sandbox import ParseOutcome, ParseSandbox
from screening.store.snapshots import ListStore, Manifest, SourceState, StageOutcome

log = logging.getLogger(__name__)

LOCK_TIMEOUT_SECONDS = 900
# The source of a file that could not even be identified (in reports and metrics).
UNIDENTIFIED = "unidentified"
# Told after each publication parsed (or rejected): (done, total, "<source> <file>").
Progress = Callable[[int, int, str], None]


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
    peak_rss_bytes: int = 0  # of the parsing process, for this file


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
    limits: ParseLimits | None = None,
    last_good: LastGoodStore | None = None,
    progress: Progress | None = None,
) -> IngestResult:
    unreadable: list[UnreadableFile] = []
    filesets, skipped = discover_all(lists_dir, unreadable)
    with ingest_lock(store, wait_for_lock):
        result = apply_filesets(
            store,
            filesets,
            max_drop_share=max_drop_share,
            describe_dates=describe_dates,
            limits=limits,
            last_good=last_good,
            progress=progress,
        )
    for item in skipped:
        result.files.append(
            FileOutcome(
                source=item.fileset.source,
                format=item.fileset.format,
                file=display_name(item.fileset.main),
                publication_date=item.fileset.publication_date,
                entities=0,
                outcome="skipped",
                detail=f"same publication as {display_name(item.kept.main)} ({item.kept.format})",
            )
        )
    for bad in unreadable:
        file = display_name(bad.path)
        message = f"{UNIDENTIFIED} {file}: rejected: {bad.reason}"
        result.rejected.append(message)
        result.notes.append(message)
        result.files.append(
            FileOutcome(UNIDENTIFIED, "", file, "", 0, "rejected", f"not identified: {bad.reason}")
        )
    return result


def ingest_filesets(
    store: ListStore,
    filesets: list[FileSet],
    *,
    max_drop_share: float = 0.2,
    wait_for_lock: float = 60.0,
    limits: ParseLimits | None = None,
    last_good: LastGoodStore | None = None,
) -> IngestResult:
    with ingest_lock(store, wait_for_lock):
        return apply_filesets(
            store, filesets, max_drop_share=max_drop_share, limits=limits, last_good=last_good
        )


# The publications decoded, compared and written here are hundreds of thousands of acyclic
# objects: the collections their allocations trigger walk them again and free nothing (1.6 ->
# 0.9 s of the preparing process's CPU with every shared list). Reference counting frees them.
@collector_paused()
def apply_filesets(
    store: ListStore,
    filesets: list[FileSet],
    *,
    max_drop_share: float = 0.2,
    describe_dates: bool = False,
    limits: ParseLimits | None = None,
    last_good: LastGoodStore | None = None,
    progress: Progress | None = None,
    processes: int = 0,
) -> IngestResult:
    """Parse (in child processes, under `limits`; `processes` of them side by side, 0: one
    per core), stage and publish. The caller holds the ingest lock. A publication that fails
    in any way is rejected alone: the other files and sources go on, and the source keeps
    its live data (or its last good one on disk). Each source is staged as soon as its files
    are parsed; files the store already holds are not parsed."""
    result = IngestResult(manifest=None)
    base = store.manifest()
    sources = dict(base.sources) if base else {}
    by_source: dict[str, list[FileSet]] = {}
    for fs in filesets:
        by_source.setdefault(fs.source, []).append(fs)
    # What each source reports, in source order whatever order the parses finish in.
    reports: dict[str, SourceReport] = {source: SourceReport() for source in by_source}
    todo: list[FileSet] = []
    for source, group in by_source.items():
        live = sources.get(source)
        held = store.held_hashes(source) | {live.sha256} if live is not None else set()
        for fs in group:
            sha = sha256_files(fs.paths) if held else ""
            if sha and sha in held:
                assert live is not None
                reports[source].files.append(_unchanged(fs, live if sha == live.sha256 else None))
            else:
                todo.append(fs)
    waiting = {source: sum(fs.source == source for fs in todo) for source in by_source}
    parsed: dict[str, list[ParseOutcome]] = {source: [] for source in by_source}
    attempted = len(filesets) - len(todo)
    for source in sorted(by_source):
        if not waiting[source]:
            _stage_source(store, source, [], sources, base, max_drop_share, last_good, reports)
    for outcome in parse_side_by_side(todo, limits, processes):
        fs = outcome.fileset
        report_parse(outcome)
        attempted += 1
        if progress is not None:
            progress(attempted, len(filesets), f"{fs.source} {display_name(fs.main)}")
        parsed[fs.source].append(outcome)
        waiting[fs.source] -= 1
        if not waiting[fs.source]:
            _stage_source(
                store,
                fs.source,
                parsed.pop(fs.source),
                sources,
                base,
                max_drop_share,
                last_good,
                reports,
            )
    for source in sorted(reports):
        report = reports[source]
        result.notes += report.notes
        result.rejected += report.rejected
        result.files += report.files
    result.manifest = store.publish(sources) or store.manifest()
    if last_good is not None:
        last_good.remember(store, result.manifest)
    if describe_dates:
        _describe_dates(store, result)
    return result


@dataclass
class SourceReport:
    notes: list[str] = field(default_factory=list)
    rejected: list[str] = field(default_factory=list)
    files: list[FileOutcome] = field(default_factory=list)


def _stage_source(
    store: ListStore,
    source: str,
    outcomes: list[ParseOutcome],
    sources: dict[str, SourceState],
    base: Manifest | None,
    max_drop_share: float,
    last_good: LastGoodStore | None,
    reports: dict[str, SourceReport],
) -> None:
    """Stage the parsed publications of one source into `sources` (not yet published)."""
    report = reports[source]
    publications: list[Publication] = []
    parsed: dict[str, ParseOutcome] = {}
    for outcome in sorted(outcomes, key=lambda o: str(o.fileset.main)):
        fs = outcome.fileset
        if outcome.publication is None:
            message = f"{source} {display_name(fs.main)}: rejected: {outcome.error}"
            report.rejected.append(message)
            report.notes.append(message)
            report.files.append(
                FileOutcome(
                    source=source,
                    format=fs.format,
                    file=display_name(fs.main),
                    publication_date=fs.publication_date,
                    entities=0,
                    outcome="rejected",
                    detail=outcome.error,
                    seconds=outcome.seconds,
                    peak_rss_bytes=outcome.peak_rss_bytes,
                )
            )
            continue
        publications.append(outcome.publication)
        parsed[outcome.publication.files[0]] = outcome
    kept = last_good.load(source) if last_good and source not in sources else None
    if not publications and kept is None:
        return
    staged = store.stage(publications, sources, base, max_drop_share=max_drop_share, last_good=kept)
    for staged_outcome, pub in zip(staged, _by_date(publications), strict=True):
        report.notes.append(staged_outcome.note)
        if staged_outcome.outcome == "rejected":
            report.rejected.append(staged_outcome.note)
        report.files.append(_file_outcome(staged_outcome, parsed.get(pub.files[0])))
    if kept is not None and not any(o.outcome == "live" for o in staged):
        note = (
            f"{source} {kept[0].publication_date}: the last good publication kept "
            "on disk stays live"
        )
        report.notes.append(note)
        log.warning(
            "last good publication restored from disk",
            extra={"source": source, "publication": kept[0].publication_date},
        )


def _unchanged(fs: FileSet, live: SourceState | None) -> FileOutcome:
    """A file whose content the store holds: the live publication, or one applied before."""
    return FileOutcome(
        source=fs.source,
        format=fs.format,
        file=display_name(fs.main),
        publication_date=fs.publication_date,
        entities=live.entity_count if live is not None else 0,
        outcome="unchanged",
        detail=("live; " if live is not None else "")
        + "content already ingested, not parsed again",
    )


def parse_side_by_side(
    filesets: list[FileSet], limits: ParseLimits | None, processes: int = 0
) -> Iterator[ParseOutcome]:
    """Each publication parsed (or rejected), as it is done: `processes` parsing children
    side by side (0: one per core), each fed by a thread of this process, largest files
    first."""
    workers = min(processes or os.cpu_count() or 1, len(filesets))
    if workers <= 1:
        with ParseSandbox(limits) as sandbox:
            for fs in filesets:
                yield sandbox.parse(fs)
        return
    todo: queue.SimpleQueue[FileSet] = queue.SimpleQueue()
    for fs in sorted(filesets, key=_size, reverse=True):
        todo.put(fs)
    done: queue.SimpleQueue[ParseOutcome] = queue.SimpleQueue()

    def feed() -> None:
        with ParseSandbox(limits) as sandbox:
            while True:
                try:
                    fs = todo.get_nowait()
                except queue.Empty:
                    return
                try:
                    done.put(sandbox.parse(fs))
                except Exception as exc:  # the sandbox itself failed: this file only
                    done.put(ParseOutcome(fs, error=f"{display_name(fs.main)}: {exc}"))

    threads = [threading.Thread(target=feed, name=f"parse-{n}") for n in range(workers)]
    for thread in threads:
        thread.start()
    try:
        for _ in filesets:
            yield done.get()
    finally:
        for thread in threads:
            thread.join()


def _size(fs: FileSet) -> int:
    total = 0
    for path in fs.paths:
        with contextlib.suppress(OSError):
            total += path.stat().st_size
    return total


def report_parse(outcome: ParseOutcome) -> None:
    """Log one parse, and count what it noticed (decoding fallbacks, control characters)."""
    from screening.observability import metrics

    fs = outcome.fileset
    extra = {
        "source": fs.source,
        "format": fs.format,
        "file": display_name(fs.main),
        "publication": fs.publication_date,
        "seconds": round(outcome.seconds, 2),
        "peak_rss_mb": round(outcome.peak_rss_bytes / 2**20, 1),
    }
    for file, encoding in outcome.decode_fallbacks.items():
        metrics.record_list_decode_fallback(fs.source, encoding)
        log.warning(
            "list file is not UTF-8; decoded as a legacy encoding",
            extra={**extra, "file": file, "encoding": encoding},
        )
    if outcome.control_fields:
        metrics.record_list_control_characters(fs.source, outcome.control_fields)
        log.warning(
            "control characters removed from list entries",
            extra={**extra, "fields": outcome.control_fields},
        )
    if outcome.publication is None:
        log.warning("list file rejected", extra={**extra, "reason": outcome.error})
    else:
        entities = len(outcome.publication.entities)
        log.info("list file parsed", extra={**extra, "entities": entities})


def _by_date(publications: list[Publication]) -> list[Publication]:
    return sorted(publications, key=lambda p: p.publication_date)


def _file_outcome(outcome: StageOutcome, parsed: ParseOutcome | None) -> FileOutcome:
    return FileOutcome(
        source=outcome.source,
        format=outcome.format,
        file=outcome.files[0] if outcome.files else "",
        publication_date=outcome.publication_date,
        entities=outcome.entities,
        outcome=outcome.outcome,
        detail=outcome.detail or f"+{outcome.added} -{outcome.removed} ~{outcome.changed}",
        seconds=parsed.seconds if parsed else 0.0,
        peak_rss_bytes=parsed.peak_rss_bytes if parsed else 0,
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
