"""How old the list data is, source by source, and which sources are stale.

A source's publication date says when the authority published the data the service holds.
It is *stale* once the data was last known to be current longer ago than the source's
maximum age: known current on its publication date, and again whenever a refresh from the
official URL found nothing newer (outcome "published" or "unchanged"). A directory of files
(--lists-dir) says nothing about what was published since: only the date counts then.
Partial dates ("2021-07", "2025") count from their first day: the oldest the data can be.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from screening.store.snapshots import Manifest

DAY_SECONDS = 86400


@dataclass(frozen=True, slots=True)
class SourceAge:
    source: str
    publication_date: str
    entity_count: int
    # Whole days since the publication date (None: no readable date).
    age_days: int | None
    # Publication date or last successful refresh, whichever is later.
    current_as_of: dt.datetime | None
    max_age_days: float
    stale: bool
    last_refresh_at: dt.datetime | None = None
    last_refresh_outcome: str = ""

    @property
    def age_seconds(self) -> float:
        """Seconds since the data was last known current (publication or refresh)."""
        if self.current_as_of is None:
            return 0.0
        return max(0.0, (dt.datetime.now(dt.UTC) - self.current_as_of).total_seconds())


def publication_day(text: str) -> dt.date | None:
    """An ISO date, partial ones from their first day ('2021-07' -> 2021-07-01)."""
    try:
        year, month, day = ([int(p) for p in text.split("-")] + [1, 1])[:3]
        return dt.date(year, month, day)
    except (ValueError, TypeError):
        return None


def _instant(text: str) -> dt.datetime | None:
    try:
        value = dt.datetime.fromisoformat(text)
    except (ValueError, TypeError):
        return None
    return value if value.tzinfo else value.replace(tzinfo=dt.UTC)


def source_age(
    source: str,
    publication_date: str,
    entity_count: int,
    max_age_days: float,
    refresh: Mapping[str, str] | None = None,
    now: dt.datetime | None = None,
) -> SourceAge:
    now = now or dt.datetime.now(dt.UTC)
    refresh = refresh or {}
    day = publication_day(publication_date)
    published = dt.datetime.combine(day, dt.time(), dt.UTC) if day else None
    confirmed = _instant(refresh.get("last_success_at", ""))
    known = [t for t in (published, confirmed) if t is not None]
    current_as_of = max(known) if known else None
    stale = current_as_of is None or (now - current_as_of).total_seconds() > (
        max_age_days * DAY_SECONDS
    )
    return SourceAge(
        source=source,
        publication_date=publication_date,
        entity_count=entity_count,
        age_days=max(0, (now.date() - day).days) if day else None,
        current_as_of=current_as_of,
        max_age_days=max_age_days,
        stale=stale,
        last_refresh_at=_instant(refresh.get("last_attempt_at", "")),
        last_refresh_outcome=refresh.get("last_outcome", ""),
    )


def source_ages(
    manifest: Manifest,
    max_age_days: Callable[[str], float],
    refreshes: Mapping[str, Mapping[str, str]] | None = None,
    now: dt.datetime | None = None,
) -> dict[str, SourceAge]:
    """Every source of a snapshot, by name."""
    refreshes = refreshes or {}
    return {
        name: source_age(
            name,
            state.publication_date,
            state.entity_count,
            max_age_days(name),
            refreshes.get(name),
            now,
        )
        for name, state in sorted(manifest.sources.items())
    }


def describe_age(age: SourceAge) -> str:
    """One line for logs and the CLI: 'ofac-sdn: published 2024-05-03, 947 days old (limit 7)'."""
    days = "age unknown" if age.age_days is None else f"{age.age_days} days old"
    return (
        f"{age.source}: published {age.publication_date or '?'}, {days} "
        f"(limit {age.max_age_days:g} days)"
    )
