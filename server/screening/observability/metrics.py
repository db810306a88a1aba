"""Prometheus metrics, correct across worker processes (prometheus-client multiprocess mode).

The supervisor points PROMETHEUS_MULTIPROC_DIR at a fresh directory before it starts the
workers; each worker writes its samples there and the supervisor serves the sum.
"""

from __future__ import annotations

import datetime as dt
import os
import shutil
import tempfile
import threading
from collections.abc import Iterator

from prometheus_client import (
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    multiprocess,
    start_http_server,
    values,
)
from prometheus_client.core import GaugeMetricFamily

SCREENINGS = Counter(
    "screening_decisions_total", "Screenings by kind and decision", ["kind", "decision"]
)
MATCHES = Counter("screening_matches_total", "Matches returned, by list source", ["source"])
MATCH_SCORE = Histogram(
    "screening_match_score",
    "Scores of returned matches",
    buckets=(0.5, 0.6, 0.7, 0.75, 0.8, 0.85, 0.9, 0.95, 0.99, 1.0),
)
ENTITIES_LOADED = Gauge(
    "screening_entities_loaded",
    "Entities in the worker's index, by source",
    ["source"],
    multiprocess_mode="max",
)
INDEX_BUILD_SECONDS = Gauge(
    "screening_index_build_seconds", "Time to build the last index", multiprocess_mode="max"
)


def prepare_multiprocess_dir() -> str:
    """Create (or reuse) the shared samples directory; call before starting workers."""
    path = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    if not path:
        path = tempfile.mkdtemp(prefix="screening-metrics-")
        os.environ["PROMETHEUS_MULTIPROC_DIR"] = path
    return path


def cleanup_multiprocess_dir(path: str) -> None:
    shutil.rmtree(path, ignore_errors=True)


def mark_worker_dead(pid: int) -> None:
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        multiprocess.mark_process_dead(pid)


def serve_metrics(port: int, host: str = "0.0.0.0") -> None:
    registry = CollectorRegistry()
    multiprocess.MultiProcessCollector(registry)
    if values.ValueClass is values.MutexValue:
        # This process (the supervisor) keeps its own samples in memory, not in the shared
        # directory: serve its refresh metrics directly.
        registry.register(REFRESHES)
        registry.register(REFRESH_LAST_SUCCESS)
    registry.register(PUBLICATION_AGE)
    start_http_server(port, addr=host, registry=registry)


# -- list refresh (the supervisor or `screening refresh` runs it, not the workers) ---------

REFRESHES = Counter(
    "screening_refresh_total",
    "List refresh attempts by source and outcome (published, unchanged, rejected, failed)",
    ["source", "outcome"],
)
REFRESH_LAST_SUCCESS = Gauge(
    "screening_refresh_last_success_timestamp_seconds",
    "When a refresh of the source last succeeded (published or confirmed unchanged)",
    ["source"],
    multiprocess_mode="max",
)


class PublicationAgeCollector:
    """screening_list_publication_age_seconds{source}: computed at scrape time from the
    publication dates of the live snapshot (a gauge set once would stop ageing)."""

    def __init__(self) -> None:
        self._dates: dict[str, dt.date] = {}
        self._lock = threading.Lock()

    def update(self, publication_dates: dict[str, str]) -> None:
        parsed = {}
        for source, text in publication_dates.items():
            try:  # partial dates ('2025', '2025-06') count from their first day
                year, month, day = ([int(p) for p in text.split("-")] + [1, 1])[:3]
                parsed[source] = dt.date(year, month, day)
            except ValueError:
                continue
        with self._lock:
            self._dates = parsed

    def collect(self) -> Iterator[GaugeMetricFamily]:
        family = GaugeMetricFamily(
            "screening_list_publication_age_seconds",
            "Seconds since the live publication of each source was published",
            labels=["source"],
        )
        now = dt.datetime.now(dt.UTC)
        with self._lock:
            dates = dict(self._dates)
        for source, date in sorted(dates.items()):
            published = dt.datetime.combine(date, dt.time(), dt.UTC)
            family.add_metric([source], max(0.0, (now - published).total_seconds()))
        yield family


PUBLICATION_AGE = PublicationAgeCollector()
