"""A worker's view of how old the data behind its answers is (store/freshness.py).

Ages move by the day, and a refresh that finds nothing newer (recorded in Redis by whichever
replica ran it) makes a source current again, so the view is recomputed at most every
`interval` seconds, and whenever the index changes. Reading the refresh records never holds
up a screening: it runs in the background and the previous view serves meanwhile.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from screening.store.freshness import SourceAge, source_ages
from screening.store.snapshots import ListStore, Manifest

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class DataAges:
    """The ages of every source of one data version, as of one moment."""

    version: str
    ages: dict[str, SourceAge]
    computed_at: float = field(default_factory=time.monotonic)
    # What answers computed on this view share: the data version, the day and the stale
    # sources. A cached answer is served only under the same stamp, so the age it carries is
    # never a day behind (a view lasts a minute at most). Made once: every call reads it.
    stamp: str = field(init=False, default="")

    def __post_init__(self) -> None:
        stale = ",".join(sorted(name for name, age in self.ages.items() if age.stale))
        day = dt.datetime.now(dt.UTC).date().isoformat()
        object.__setattr__(self, "stamp", f"{self.version}@{day}:{stale}")

    def of(self, sources: list[str] | tuple[str, ...] = ()) -> list[SourceAge]:
        """The ages of `sources` (empty: every source)."""
        if not sources:
            return list(self.ages.values())
        return [self.ages[s] for s in sources if s in self.ages]


class DataAgeWatch:
    def __init__(
        self, store: ListStore, max_age_days: Callable[[str], float], interval: float = 60.0
    ) -> None:
        self.store = store
        self.max_age_days = max_age_days
        self.interval = interval
        self._refreshes: dict[str, dict[str, str]] = {}
        self._view: DataAges | None = None
        self._reading: asyncio.Task[None] | None = None

    def current(self, manifest: Manifest) -> DataAges:
        """The ages for `manifest`'s data (recomputed when due; never waits on Redis)."""
        view = self._view
        now = time.monotonic()
        if view is not None and view.version == manifest.version:
            if now - view.computed_at < self.interval:
                return view
            self._read_refreshes(list(manifest.sources))
        view = DataAges(manifest.version, source_ages(manifest, self.max_age_days, self._refreshes))
        self._view = view
        return view

    def _read_refreshes(self, names: list[str]) -> None:
        if self._reading is not None and not self._reading.done():
            return
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            return
        self._reading = loop.create_task(self._read(names))

    async def _read(self, names: list[str]) -> None:
        try:
            self._refreshes = {
                name: await asyncio.to_thread(self.store.refresh_status, name) for name in names
            }
        except Exception as exc:  # Redis away: the last records known still hold
            log.debug("refresh records unreadable", extra={"error": str(exc)})
        else:
            self._view = None  # recompute with them on the next call

    async def prime(self, manifest: Manifest) -> DataAges:
        """Read the refresh records now (a worker's first view, GetDataStatus)."""
        await self._read(list(manifest.sources))
        return self.current(manifest)
