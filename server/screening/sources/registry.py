"""Every known list format, and discovery of publications in a directory tree."""

from __future__ import annotations

import datetime as dt
from collections import Counter
from pathlib import Path

from screening.model import Publication
from screening.sources.base import FileSet, ListFormat
from screening.sources.common import ParseError, date_in_name, sha256_files
from screening.sources.ofac_csv import OFAC_SDN_CSV
from screening.sources.un_xml import UN_XML

FORMATS: list[ListFormat] = [OFAC_SDN_CSV, UN_XML]
FORMATS_BY_NAME = {f.name: f for f in FORMATS}
_HEAD_BYTES = 4096


def sources() -> dict[str, list[ListFormat]]:
    """Source id -> its formats."""
    out: dict[str, list[ListFormat]] = {}
    for fmt in FORMATS:
        out.setdefault(fmt.source, []).append(fmt)
    return out


def detect(path: Path) -> ListFormat | None:
    with path.open("rb") as fh:
        head = fh.read(_HEAD_BYTES)
    for fmt in FORMATS:
        if fmt.detect(path, head):
            return fmt
    return None


def discover(root: Path) -> list[FileSet]:
    """Find every publication under `root`, oldest first within each source.

    Files in one directory are grouped: a main file takes the companions beside it.
    """
    if not root.is_dir():
        raise FileNotFoundError(f"lists directory not found: {root}")
    found: list[FileSet] = []
    for directory in sorted({p.parent for p in root.rglob("*") if p.is_file()}):
        siblings = sorted(p for p in directory.iterdir() if p.is_file())
        for path in siblings:
            fmt = detect(path)
            if fmt is None:
                continue
            with path.open("rb") as fh:
                head = fh.read(_HEAD_BYTES)
            date = date_in_name(path) or fmt.publication_date(path, head) or _mtime_date(path)
            companions = [p for p in fmt.companions(path, siblings) if p != path]
            found.append(FileSet(fmt.source, fmt.name, date, (path, *companions)))
    found.sort(key=lambda fs: (fs.source, fs.publication_date, str(fs.main)))
    return found


def _mtime_date(path: Path) -> str:
    return dt.datetime.fromtimestamp(path.stat().st_mtime, dt.UTC).date().isoformat()


def parse_fileset(fileset: FileSet) -> Publication:
    """Parse one publication; raises ParseError when it is malformed, truncated or implausible."""
    fmt = FORMATS_BY_NAME[fileset.format]
    entities = fmt.parse(fileset)
    if len(entities) < fmt.min_entities:
        raise ParseError(
            f"{fileset.main.name}: {len(entities)} entries, fewer than the "
            f"{fmt.min_entities} a full {fmt.title} publication has"
        )
    dupes = [k for k, n in Counter(e.id for e in entities).items() if n > 1]
    if dupes:
        raise ParseError(f"{fileset.main.name}: duplicate entry ids {dupes[:5]}")
    return Publication(
        source=fileset.source,
        publication_date=fileset.publication_date,
        files=[str(p) for p in fileset.paths],
        sha256=sha256_files(fileset.paths),
        entities=entities,
        dates_are_official=fmt.dates_are_official,
        url=fmt.url,
    )


__all__ = ["FORMATS", "FileSet", "ListFormat", "ParseError", "discover", "parse_fileset"]
