"""What a list format is, and how a directory of published files becomes publications."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from screening.model.entities import Entity
from screening.sources.limits import ParseContext


@dataclass(frozen=True)
class FileSet:
    """The files of one publication of one source: the main file first, then companions."""

    source: str
    format: str
    publication_date: str
    paths: tuple[Path, ...]

    @property
    def main(self) -> Path:
        return self.paths[0]


@dataclass(frozen=True)
class ListFormat:
    """One published format of one source.

    detect(path, head) says whether `path` (first bytes `head`) is a main file of this format;
    companions(main, siblings) picks the companion files from the same directory;
    publication_date(main, head) reads the date when the file name carries none;
    parse(fileset, ctx) returns the entities, raising ParseError on a malformed or truncated
    file; ctx carries the caps and collects what the parse noticed.
    """

    name: str
    source: str
    title: str
    url: str
    dates_are_official: bool
    detect: Callable[[Path, bytes], bool]
    parse: Callable[[FileSet, ParseContext], list[Entity]]
    companions: Callable[[Path, list[Path]], list[Path]] = lambda main, siblings: []
    publication_date: Callable[[Path, bytes], str] = lambda main, head: ""
    # Production download URLs of the companion files, by the file name they are saved as.
    companion_urls: dict[str, str] = field(default_factory=dict)
    # Lowest plausible entity count for a full publication (sanity check on refresh).
    min_entities: int = 1
    # File name a download of `url` is saved as (detect() must accept it).
    download_name: str = ""
    # Refresh fetches this format for its source by default (one format per source).
    refresh: bool = False
    # Two formats of one publication (same source and date): the lower preference is taken.
    preference: int = 50
