"""How old each source's data is, and when it is stale (store/freshness.py)."""

from __future__ import annotations

import datetime as dt

from screening.store.freshness import describe_age, publication_day, source_age

NOW = dt.datetime(2026, 12, 6, 12, 0, tzinfo=dt.UTC)


def test_partial_dates_count_from_their_first_day():
    assert publication_day("2021-07") == dt.date(2021, 7, 1)
    assert publication_day("2025") == dt.date(2025, 1, 1)
    assert publication_day("") is None


def test_age_and_staleness_from_the_publication_date():
    fresh = source_age("un", "2026-12-01", 1003, 7, now=NOW)
    assert (fresh.age_days, fresh.stale) == (5, False)
    old = source_age("un", "2026-11-20", 1003, 7, now=NOW)
    assert (old.age_days, old.stale) == (16, True)
    assert describe_age(old) == "un: published 2026-11-20, 16 days old (limit 7 days)"


def test_a_refresh_that_found_nothing_newer_makes_the_data_current():
    refresh = {
        "last_success_at": "2026-12-05T06:00:00+00:00",
        "last_attempt_at": "2026-12-05T06:00:00+00:00",
        "last_outcome": "unchanged",
    }
    age = source_age("ofac-sdn", "2026-10-01", 15000, 7, refresh, now=NOW)
    assert age.age_days == 66 and not age.stale
    assert age.current_as_of == dt.datetime(2026, 12, 5, 6, tzinfo=dt.UTC)
    assert age.last_refresh_outcome == "unchanged"
    failing = {"last_attempt_at": "2026-12-05T06:00:00+00:00", "last_outcome": "failed: 503"}
    assert source_age("ofac-sdn", "2026-10-01", 15000, 7, failing, now=NOW).stale


def test_no_readable_date_is_stale():
    assert source_age("x", "", 1, 30, now=NOW).stale
