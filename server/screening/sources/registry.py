"""Every known list format, and discovery of publications in a directory tree."""

from __future__ import annotations

import datetime as dt
import logging
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from screening.model.entities import Publication
from screening.sources.base import FileSet, ListFormat
from screening.sources.ca_sema import CA_SEMA_XML
from screening.sources.common import (
    ParseError,
    date_in_name,
    display_name,
    printable,
    sha256_files,
)
from screening.sources.eu_fsf import EU_FSF_XML
from screening.sources.limits import ParseContext, scrub_entities
from screening.sources.ofac_advanced import OFAC_CONS_ADVANCED, OFAC_SDN_ADVANCED
from screening.sources.ofac_csv import OFAC_CONS_CSV, OFAC_SDN_CSV
from screening.sources.ofac_xml import OFAC_CONS_XML, OFAC_SDN_XML
from screening.sources.uk_ofsi import UK_OFSI_CSV, UK_OFSI_XLSX
from screening.sources.uk_sanctions_list import UK_SANCTIONS_LIST_ODS
from screening.sources.un_xml import UN_XML
from screening.sources.us_bis_dpl import US_BIS_DPL
from screening.sources.us_csl import US_CSL_CSV, US_CSL_JSON

log = logging.getLogger(__name__)

FORMATS: list[ListFormat] = [
    OFAC_SDN_CSV,
    OFAC_SDN_XML,
    OFAC_SDN_ADVANCED,
    OFAC_CONS_CSV,
    OFAC_CONS_XML,
    OFAC_CONS_ADVANCED,
    UN_XML,
    UK_OFSI_CSV,
    UK_OFSI_XLSX,
    UK_SANCTIONS_LIST_ODS,
    CA_SEMA_XML,
    US_BIS_DPL,
    US_CSL_CSV,
    US_CSL_JSON,
    EU_FSF_XML,
]
FORMATS_BY_NAME = {f.name: f for f in FORMATS}
_HEAD_BYTES = 4096


@dataclass(frozen=True)
class SkippedFileSet:
    """A publication found in two formats: this copy was left out for `kept`."""

    fileset: FileSet
    kept: FileSet


def sources() -> dict[str, list[ListFormat]]:
    """Source id -> its formats."""
    out: dict[str, list[ListFormat]] = {}
    for fmt in FORMATS:
        out.setdefault(fmt.source, []).append(fmt)
    return out


def refresh_formats() -> list[ListFormat]:
    """The format refresh downloads for each source, by default."""
    return [f for f in FORMATS if f.refresh]


def detect(path: Path) -> ListFormat | None:
    with path.open("rb") as fh:
        head = fh.read(_HEAD_BYTES)
    for fmt in FORMATS:
        if fmt.detect(path, head):
            return fmt
    return None


def fileset_for(fmt: ListFormat, paths: list[Path], date: str = "") -> FileSet:
    """A FileSet of `fmt` from a main file and its companions (e.g. fresh downloads)."""
    main = paths[0]
    with main.open("rb") as fh:
        head = fh.read(_HEAD_BYTES)
    date = date_in_name(main) or fmt.publication_date(main, head) or date or _mtime_date(main)
    companions = [p for p in fmt.companions(main, paths) if p != main]
    return FileSet(fmt.source, fmt.name, date, (main, *companions))


@dataclass(frozen=True)
class UnreadableFile:
    """A file discovery could not even identify (it is reported, never parsed)."""

    path: Path
    reason: str


def discover_all(
    root: Path, unreadable: list[UnreadableFile] | None = None
) -> tuple[list[FileSet], list[SkippedFileSet]]:
    """Find every publication under `root`, oldest first within each source.

    Files in one directory are grouped: a main file takes the companions beside it. One
    publication (same source and date) found in several formats is taken once, in the
    format with the lowest `preference`; the other copies are returned as skipped. A file
    whose identification fails is left out, and added to `unreadable` when given.
    """
    if not root.is_dir():
        raise FileNotFoundError(f"lists directory not found: {root}")
    found: list[FileSet] = []
    for directory in sorted({p.parent for p in root.rglob("*") if p.is_file()}):
        siblings = sorted(p for p in directory.iterdir() if p.is_file())
        for path in siblings:
            try:
                fileset = _identify(path, siblings)
            except Exception as exc:  # hostile bytes or a detector bug: this file only
                reason = printable(f"{type(exc).__name__}: {exc}")
                log.warning(
                    "list file not identified",
                    extra={"file": display_name(path), "reason": reason},
                )
                if unreadable is not None:
                    unreadable.append(UnreadableFile(path, reason))
                continue
            if fileset is not None:
                found.append(fileset)
    groups: dict[tuple[str, str], list[FileSet]] = {}
    for fs in found:
        groups.setdefault((fs.source, fs.publication_date), []).append(fs)
    kept: list[FileSet] = []
    skipped: list[SkippedFileSet] = []
    for group in groups.values():
        best = min(group, key=lambda f: (FORMATS_BY_NAME[f.format].preference, str(f.main)))
        for fs in group:
            if fs.format == best.format:
                kept.append(fs)
                continue
            skipped.append(SkippedFileSet(fs, best))
            log.info(
                "same publication in another format; left out",
                extra={
                    "file": display_name(fs.main),
                    "kept": display_name(best.main),
                    "source": fs.source,
                },
            )
    kept.sort(key=lambda fs: (fs.source, fs.publication_date, str(fs.main)))
    return kept, skipped


def _identify(path: Path, siblings: list[Path]) -> FileSet | None:
    fmt = detect(path)
    if fmt is None:
        return None
    with path.open("rb") as fh:
        head = fh.read(_HEAD_BYTES)
    date = date_in_name(path) or fmt.publication_date(path, head) or _mtime_date(path)
    companions = [p for p in fmt.companions(path, siblings) if p != path]
    return FileSet(fmt.source, fmt.name, date, (path, *companions))


def discover(root: Path) -> list[FileSet]:
    return discover_all(root)[0]


def _mtime_date(path: Path) -> str:
    return dt.datetime.fromtimestamp(path.stat().st_mtime, dt.UTC).date().isoformat()


def parse_fileset(fileset: FileSet, ctx: ParseContext | None = None) -> Publication:
    """Parse one publication under the caps of `ctx`; raises ParseError when it is malformed,
    truncated, implausible or past a cap. What the parse noticed is left in `ctx`."""
    ctx = ctx or ParseContext()
    fmt = FORMATS_BY_NAME[fileset.format]
    name = display_name(fileset.main)
    for path in fileset.paths:
        if not path.is_file():
            raise ParseError(f"{display_name(path)}: not a regular file")
        ctx.check_size(path)
    entities = fmt.parse(fileset, ctx)
    if len(entities) > ctx.limits.max_rows:
        raise ParseError(f"{name}: {len(entities)} entries, more than {ctx.limits.max_rows}")
    if len(entities) < fmt.min_entities:
        raise ParseError(
            f"{name}: {len(entities)} entries, fewer than the "
            f"{fmt.min_entities} a full {fmt.title} publication has"
        )
    entities = scrub_entities(entities, ctx, name)
    dupes = [k for k, n in Counter(e.id for e in entities).items() if n > 1]
    if dupes:
        raise ParseError(f"{name}: duplicate entry ids {dupes[:5]}")
    return Publication(
        source=fileset.source,
        publication_date=fileset.publication_date,
        files=[printable(str(p)) for p in fileset.paths],
        sha256=sha256_files(fileset.paths),
        entities=entities,
        dates_are_official=fmt.dates_are_official,
        url=fmt.url,
        format=fmt.name,
    )


__all__ = [
    "FORMATS",
    "FileSet",
    "ListFormat",
    "ParseError",
    "SkippedFileSet",
    "UnreadableFile",
    "discover",
    "discover_all",
    "fileset_for",
    "parse_fileset",
    "refresh_formats",
]
