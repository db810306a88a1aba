"""What comes before the workers: the list files ingested (with --lists-dir) and the match
index of the current snapshot built once for the host (index/files.py), in a process of its
own, so the supervisor keeps none of that memory.

The process tells the supervisor when the snapshot is published and it holds the index's
build lock; the supervisor then starts the workers, which start up while the index is built
and read it when it is written.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from multiprocessing.connection import Connection
from pathlib import Path
from typing import TYPE_CHECKING

from screening.config import Settings

if TYPE_CHECKING:
    from screening.index.files import IndexFiles
    from screening.index.shared import IndexCopies
    from screening.store.snapshots import ListStore, Manifest

log = logging.getLogger(__name__)


def run_prepare(
    settings: Settings, redis_url: str, ready: Connection, host_has_index: bool = False
) -> None:
    """Process entry point (multiprocessing spawn target). Sends the snapshot version (or
    None) on `ready` once the workers may start. `host_has_index`: the supervisor found, as
    it started this, a current snapshot in Redis whose index file the host has."""
    from screening.config import log_level
    from screening.index.build import OtherProcess, obtain_file, offer_file
    from screening.index.files import IndexFiles
    from screening.index.shared import IndexCopies
    from screening.observability.logging import setup_logging
    from screening.store.connection import connect
    from screening.store.snapshots import ListStore

    setup_logging(log_level(settings.log_level))
    sent = False
    helper: OtherProcess | None = None
    try:
        client = connect(redis_url)
        store = ListStore(client, settings.redis_prefix)
        files = IndexFiles(settings.effective_index_dir)
        key = settings.index_share_key
        shared = IndexCopies(client, settings.redis_prefix, key) if key else None
        if settings.lists_dir is not None:
            if (
                not host_has_index
                and not _copy_shared(store, files, shared)
                and _large(settings.lists_dir)
            ):
                # An index will most likely be built once the ingest is done: its helper
                # process starts now, and has its imports done by then; the matcher's
                # modules are imported here while the ingest waits on its parsing
                # processes (not before it starts, nor after it ends).
                helper = OtherProcess()
                threading.Thread(target=_import_matcher, name="import-matcher", daemon=True).start()
            ingest(settings, store)
        manifest = store.manifest()
        if manifest is None:
            return
        try:
            with files.locked(manifest):
                ready.send(manifest.version)
                sent = True
                if not files.path(manifest).exists():
                    obtain_file(store, manifest, files, split=helper, shared=shared)
                elif shared is not None:
                    offer_file(files.path(manifest), shared)  # Redis may have lost its copy
        except OSError as exc:
            # The workers build their own (index/holder.py).
            log.warning("no index file for this host", extra={"error": str(exc)})
    finally:
        if helper is not None:
            helper.close()  # not needed after all (or closed already by the build)
        if not sent:
            ready.send(None)
        ready.close()


# List files from which a snapshot surely large enough for the build's helper process
# (index/build.py, MIN_SPLIT_ENTITIES) is built: a smaller set gets one only if its
# snapshot turns out large enough, started when the build begins.
EARLY_HELPER_BYTES = 8 << 20


def _large(lists_dir: Path) -> bool:
    total = 0
    with contextlib.suppress(OSError):
        for path in lists_dir.rglob("*"):
            with contextlib.suppress(OSError):
                total += path.stat().st_size if path.is_file() else 0
            if total >= EARLY_HELPER_BYTES:
                return True
    return False


def _copy_shared(store: ListStore, files: IndexFiles, shared: IndexCopies | None) -> bool:
    """Whether Redis has a shared copy of the current snapshot's index file: most likely
    fetched, not built, after the ingest (unless the files changed)."""
    if shared is None:
        return False
    manifest = store.manifest()
    return manifest is not None and shared.has(files.path(manifest).name)


def _import_matcher() -> None:
    import screening.matching.matcher  # noqa: F401


def ingest(settings: Settings, store: object) -> None:
    """Ingest --lists-dir (the start-up ingest of `screening serve`)."""
    from screening.sources.ingest import ingest_directory
    from screening.sources.last_good import LastGoodStore
    from screening.sources.limits import ParseLimits
    from screening.store.snapshots import ListStore

    assert isinstance(store, ListStore) and settings.lists_dir is not None
    started = time.perf_counter()
    before = store.manifest()
    result = ingest_directory(
        store,
        settings.lists_dir,
        max_drop_share=settings.max_drop_share,
        limits=ParseLimits.from_settings(settings),
        last_good=LastGoodStore(settings.effective_list_state_dir, settings.redis_prefix),
    )
    record_refresh_outcomes(before, store.manifest(), result.rejected)
    log.info(
        "ingest finished",
        extra={
            "seconds": round(time.perf_counter() - started, 2),
            "data_version": result.manifest.version if result.manifest else None,
            "notes": result.notes,
            "rejected": result.rejected,
        },
    )


def record_refresh_outcomes(
    before: Manifest | None, after: Manifest | None, rejected: list[str]
) -> None:
    """Refresh metrics for the start-up ingest of --lists-dir (a refresh from files): each
    live source published or unchanged, each rejected publication (noted as
    '<source> <file>: rejected: ...') rejected."""
    from screening.observability.metrics import record_refresh

    previous = before.sources if before else {}
    for source, state in (after.sources if after else {}).items():
        old = previous.get(source)
        same = old is not None and old.version == state.version
        record_refresh(source, "unchanged" if same else "published")
    for note in rejected:
        record_refresh(note.split(" ", 1)[0], "rejected")
