"""The last good publication of each source, kept on disk beside Redis.

With the embedded default, Redis starts empty at every start: without a memory of its own,
ingest would have nothing to guard against (a publication dropping most entries would go
live) and nothing to keep live when a source's new file is rejected. After each publish,
the live state and entities of every source are written here (one JSON state and one blob,
exactly as published); an ingest or refresh that finds a source missing from Redis stages
against this copy: the shrink guard compares with it, first-seen history carries on from
it, and it goes live again when no new publication of the source passes.

Only what was published is written. Disk trouble never stops an ingest: it is logged and
the guard falls back to Redis alone.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import os
import re
import tempfile
from pathlib import Path

import msgspec

from screening.model.entities import Entity
from screening.store.snapshots import ListStore, Manifest, SourceState, decode_entities

log = logging.getLogger(__name__)

_STATE_DECODER = msgspec.json.Decoder(SourceState)


class LastGoodStore:
    """Per Redis key prefix, a directory of `<source>.json` (state) and `<source>.blob`."""

    def __init__(self, directory: Path, prefix: str) -> None:
        self.directory = directory / re.sub(r"[^A-Za-z0-9_.-]", "_", prefix)

    def load(self, source: str) -> tuple[SourceState, list[Entity]] | None:
        """The last good publication of `source`, or None (none kept, or unreadable)."""
        state_path, blob_path = self._paths(source)
        try:
            state = _STATE_DECODER.decode(state_path.read_bytes())
            blob = blob_path.read_bytes()
            if hashlib.sha256(blob).hexdigest() != state.blob:
                raise ValueError("blob does not match its state")
            return state, decode_entities(blob)
        except FileNotFoundError:
            return None
        except (OSError, ValueError, msgspec.DecodeError) as exc:
            log.warning(
                "last good publication on disk unreadable; ignored",
                extra={"source": source, "dir": str(self.directory), "reason": str(exc)},
            )
            return None

    def remember(self, store: ListStore, manifest: Manifest | None) -> None:
        """Keep every source of the live snapshot that differs from what the disk holds."""
        if manifest is None:
            return
        for source, state in sorted(manifest.sources.items()):
            state_path, blob_path = self._paths(source)
            with contextlib.suppress(OSError, ValueError, msgspec.DecodeError):
                if _STATE_DECODER.decode(state_path.read_bytes()).blob == state.blob:
                    continue
            try:
                blob = store.blobs(manifest, source)[source]
                self.directory.mkdir(parents=True, exist_ok=True)
                # Blob first, then the state naming it: a crash between leaves the old pair
                # readable or a state whose blob check fails (ignored), never a mix.
                _write_atomic(blob_path, blob)
                _write_atomic(state_path, msgspec.json.encode(state))
            except (OSError, LookupError) as exc:
                log.warning(
                    "could not keep the last good publication on disk",
                    extra={"source": source, "dir": str(self.directory), "reason": str(exc)},
                )
                continue
            log.info(
                "last good publication kept on disk",
                extra={
                    "source": source,
                    "publication": state.publication_date,
                    "entities": state.entity_count,
                    "dir": str(self.directory),
                },
            )

    def _paths(self, source: str) -> tuple[Path, Path]:
        safe = re.sub(r"[^A-Za-z0-9_.-]", "_", source)
        return self.directory / f"{safe}.json", self.directory / f"{safe}.blob"


def _write_atomic(path: Path, data: bytes) -> None:
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
