"""Match indexes built once per host: one file per snapshot content, which every worker of
the host reads instead of building its own.

A file is named by what it holds: a digest of the snapshot's entity blobs (the content, not
the version name: a snapshot republished under another version reuses it) and of the code
that shapes an index (FORMAT). It is written to a temporary name and renamed into place, so a
reader sees a whole file or none. One builder per file: whoever builds holds its lock (an
advisory lock on a file beside it, released by the kernel if the holder dies); the others
wait for the lock and read what it wrote. Old files are pruned.
"""

from __future__ import annotations

import contextlib
import fcntl
import functools
import hashlib
import json
import logging
import mmap
import os
import pickle
import secrets
import time
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

from screening.store.snapshots import Manifest

if TYPE_CHECKING:
    from screening.matching.matcher import MatchIndex

log = logging.getLogger(__name__)

MAGIC = b"screening-index 2\n"
# After the magic: the header's length (8 bytes) and the header, a JSON object whose "spans"
# are the (start, length) of the pickle stream and then of each of its out-of-band buffers
# (numpy arrays, the entities), from the first ALIGN boundary after the header.
ALIGN = 64


def _aligned(offset: int) -> int:
    """`offset` rounded up to the next ALIGN boundary."""
    return -(-offset // ALIGN) * ALIGN


def _body_start(header_size: int) -> int:
    """Where the parts' spans count from: the first boundary after the header."""
    return _aligned(len(MAGIC) + 8 + header_size)


# Index files kept per directory (the newest): a worker still serving an older snapshot
# keeps reading its file even after it is removed.
FILES_KEPT = 4


@functools.cache
def code_format() -> str:
    """A digest of the code that shapes an index: a file built by other code is not read."""
    package = Path(__file__).resolve().parents[1]
    digest = hashlib.sha256(MAGIC)
    sources = [
        *package.joinpath("matching").rglob("*"),
        package / "model" / "entities.py",
        package / "model" / "entity_table.py",
        package / "model" / "packed.py",
    ]
    for path in sorted(sources):
        if path.is_file() and path.suffix in (".py", ".tsv", ".gz", ".json"):
            digest.update(path.name.encode())
            digest.update(path.read_bytes())
    digest.update(Path(__file__).read_bytes())
    # The candidate index keys its lookups by str hash(), which differs between processes
    # unless they share PYTHONHASHSEED (the supervisor gives its children the host's). The
    # seed names the file, so that the supervisor, whose own hash is not its children's,
    # can tell whether the host has one; a process without a set seed names a file of its
    # own (its hash is its own).
    seed = os.environ.get("PYTHONHASHSEED", "")
    if not seed.isdigit():
        seed = f"process {hash('screening-index')}"
    digest.update(seed.encode())
    return digest.hexdigest()[:12]


HASH_SEED_FILE = "hash-seed"


def host_hash_seed(directory: Path) -> str:
    """This host's str hash seed (PYTHONHASHSEED for every process of the service): kept in
    the index directory, so that an index file built before a restart keys its lookups as the
    processes after it do and is read, not built again. Random per host and private to it
    (mode 0600), as hash randomisation wants; a fresh random one where it cannot be kept."""
    path = directory / HASH_SEED_FILE
    with contextlib.suppress(OSError, ValueError):
        return str(int(path.read_text().strip()))
    seed = str(secrets.randbelow(2**32 - 1) + 1)
    with contextlib.suppress(OSError):
        directory.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f"{HASH_SEED_FILE}.{os.getpid()}.tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        try:
            with os.fdopen(fd, "w") as fh:
                fh.write(seed)
            # Linked, not renamed: of two services starting at once, the first keeps its
            # seed and both read it.
            with contextlib.suppress(FileExistsError):
                os.link(tmp, path)
        finally:
            tmp.unlink(missing_ok=True)
        return str(int(path.read_text().strip()))
    return seed


def content_key(manifest: Manifest) -> str:
    """What an index of this snapshot holds: its sources' entity blobs."""
    digest = hashlib.sha256()
    for name, state in sorted(manifest.sources.items()):
        digest.update(f"{name}={state.blob};".encode())
    return digest.hexdigest()[:20]


class IndexFiles:
    """The index files of one host (a directory)."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory

    def path(self, manifest: Manifest) -> Path:
        return self.directory / f"{content_key(manifest)}-{code_format()}.idx"

    def _lock_path(self, manifest: Manifest) -> Path:
        return self.path(manifest).with_suffix(".lock")

    def _open_lock(self, manifest: Manifest) -> int:
        self.directory.mkdir(parents=True, exist_ok=True)
        return os.open(self._lock_path(manifest), os.O_RDWR | os.O_CREAT, 0o600)

    @contextlib.contextmanager
    def locked(self, manifest: Manifest) -> Iterator[None]:
        """Hold the file's build lock (blocking until it is free)."""
        fd = self._open_lock(manifest)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            yield
        finally:
            os.close(fd)

    def try_lock(self, manifest: Manifest) -> int | None:
        """The build lock's descriptor if it was free (close it to release), else None."""
        fd = self._open_lock(manifest)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            return None
        return fd

    def write(self, manifest: Manifest, matcher: MatchIndex) -> Path:
        """Write the index of `manifest` (the caller holds its lock)."""
        path = self.path(manifest)
        tmp = path.with_suffix(f".{os.getpid()}.tmp")
        buffers: list[pickle.PickleBuffer] = []
        stream = pickle.dumps(matcher, protocol=5, buffer_callback=buffers.append)
        parts = [memoryview(stream), *(buffer.raw() for buffer in buffers)]
        # Each part's place, after the header: the buffers aligned for any array's items.
        spans: list[tuple[int, int]] = []
        end = 0
        for part in parts:
            start = _aligned(end)
            spans.append((start, part.nbytes))
            end = start + part.nbytes
        header = json.dumps({"spans": spans}).encode()
        base = _body_start(len(header))
        with tmp.open("wb") as fh:
            fh.write(MAGIC + len(header).to_bytes(8, "little") + header)
            for (start, _), part in zip(spans, parts, strict=True):
                fh.seek(base + start)
                fh.write(part)
        tmp.rename(path)
        self.prune(keep=path)
        return path

    def read(self, manifest: Manifest) -> MatchIndex | None:
        """The index of `manifest` if this host has it (None if it has none, or a damaged
        one). Its arrays and entities stay in the file, mapped read-only: the page cache
        holds one copy for every worker of the host."""
        path = self.path(manifest)
        try:
            with path.open("rb") as fh:
                mapped = mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ)
        except (FileNotFoundError, ValueError):  # ValueError: an empty file
            return None
        view = memoryview(mapped)
        try:
            if view[: len(MAGIC)] != MAGIC:
                return None
            size = int.from_bytes(view[len(MAGIC) : len(MAGIC) + 8], "little")
            header = json.loads(bytes(view[len(MAGIC) + 8 : len(MAGIC) + 8 + size]))
            base = _body_start(size)
            spans = [(base + start, base + start + length) for start, length in header["spans"]]
            if any(end > len(view) for _, end in spans):
                return None  # truncated
            (first, last), *rest = spans
            matcher = pickle.loads(view[first:last], buffers=[view[a:b] for a, b in rest])
        except Exception as exc:  # a damaged pickle raises most anything
            log.warning(
                "index file unreadable", extra={"file": str(path), "error": type(exc).__name__}
            )
            return None
        with contextlib.suppress(OSError):
            os.utime(path)  # in use: pruned last
        from screening.matching.matcher import MatchIndex  # not in the supervisor: heavy

        assert isinstance(matcher, MatchIndex)
        return matcher

    def prune(self, keep: Path) -> None:
        """Remove all but the newest FILES_KEPT index files, and leftovers of dead builders."""
        now = time.time()
        try:
            entries = list(self.directory.iterdir())
        except OSError:
            return
        indexes = []
        for entry in entries:
            with contextlib.suppress(OSError):
                if entry.suffix == ".idx":
                    indexes.append((entry.stat().st_mtime, entry))
                elif entry.suffix == ".tmp" and now - entry.stat().st_mtime > 3600:
                    entry.unlink()
        indexes.sort(reverse=True)
        for _, entry in indexes[FILES_KEPT:]:
            if entry != keep:
                with contextlib.suppress(OSError):
                    entry.unlink()
                    entry.with_suffix(".lock").unlink(missing_ok=True)
