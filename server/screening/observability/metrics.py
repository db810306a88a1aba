"""Prometheus metrics, correct across worker processes (prometheus-client multiprocess mode).

The supervisor points PROMETHEUS_MULTIPROC_DIR at a fresh directory before it starts the
workers; each worker writes its samples there and the supervisor serves the sum, with its
own refresh metrics and the publication age computed at scrape time.

Two families:
- the standard gRPC server metrics, with the names and labels of go-grpc-prometheus (what the
  stock Grafana gRPC dashboards query), recorded by runtime/grpc_metrics;
- screening metrics (`screening_*`), recorded through the small functions below so callers
  never handle label names.
"""

from __future__ import annotations

import asyncio
import bisect
import contextlib
import datetime as dt
import os
import shutil
import tempfile
import threading
from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import Any

from prometheus_client import (
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    multiprocess,
    values,
)
from prometheus_client.core import GaugeMetricFamily

# -- gRPC server metrics (go-grpc-prometheus names) ----------------------------------------

GRPC_LABELS = ("grpc_type", "grpc_service", "grpc_method")
# Finer than the Prometheus defaults below 25 ms: the latency objective is a 10 ms p99.
LATENCY_BUCKETS = (
    0.0005,
    0.001,
    0.0025,
    0.005,
    0.0075,
    0.01,
    0.025,
    0.05,
    0.1,
    0.25,
    0.5,
    1.0,
    2.5,
    5.0,
    10.0,
)

GRPC_STARTED = Counter(
    "grpc_server_started_total", "Total number of RPCs started on the server.", GRPC_LABELS
)
GRPC_HANDLED = Counter(
    "grpc_server_handled_total",
    "Total number of RPCs completed on the server, regardless of success or failure.",
    (*GRPC_LABELS, "grpc_code"),
)
GRPC_HANDLING_SECONDS = Histogram(
    "grpc_server_handling_seconds",
    "Histogram of response latency (seconds) of gRPC that had been application-level "
    "handled by the server.",
    GRPC_LABELS,
    buckets=LATENCY_BUCKETS,
)
GRPC_MSG_RECEIVED = Counter(
    "grpc_server_msg_received_total",
    "Total number of RPC stream messages received on the server.",
    GRPC_LABELS,
)
GRPC_MSG_SENT = Counter(
    "grpc_server_msg_sent_total",
    "Total number of gRPC stream messages sent by the server.",
    GRPC_LABELS,
)

# -- screening -----------------------------------------------------------------------------

DECISIONS = Counter(
    "screening_decisions_total",
    "Screened parties by kind (party, shipment party, batch item) and decision",
    ["kind", "decision"],
)
MATCHES = Counter("screening_matches_total", "Matches returned, by list source", ["source"])
MATCH_SCORE = Histogram(
    "screening_match_score",
    "Scores of returned matches",
    buckets=(0.5, 0.6, 0.7, 0.75, 0.8, 0.85, 0.9, 0.95, 0.99, 1.0),
)
ENTITIES_LOADED = Gauge(
    "screening_entities_loaded",
    "Entities in the served index, by source",
    ["source"],
    multiprocess_mode="livemax",
)
# Per-worker gauges carry a `worker` label: a process only writes a labelled sample once it
# sets one, so the supervisor (which imports this module too) adds no stray zeros.
INDEX_BUILD_SECONDS = Gauge(
    "screening_index_build_seconds",
    "Time the worker took to build its current index",
    ["worker"],
    multiprocess_mode="livemax",
)
INDEX_LOADED = Gauge(
    "screening_index_loaded_timestamp_seconds",
    "When the worker swapped in its current index",
    ["worker"],
    multiprocess_mode="livemax",
)
RESULT_CACHE = Counter(
    "screening_result_cache_requests_total",
    "Result-cache lookups by result: local_hit (worker memory), redis_hit, miss, "
    "skipped (Redis unavailable)",
    ["result"],
)
REDIS_ERRORS = Counter(
    "screening_redis_errors_total", "Failed Redis operations, by operation", ["operation"]
)
REDIS_UP = Gauge(
    "screening_redis_up",
    "1 when the worker's last Redis operation succeeded, 0 when it failed",
    ["worker"],
    multiprocess_mode="livemin",
)

REFRESH_OUTCOMES = frozenset({"published", "unchanged", "rejected", "failed", "skipped"})
FLUSH_SECONDS = 1.0
_worker = "0"


class BufferedCount:
    """A counter child counted in process memory and added to Prometheus on flush.

    In multiprocess mode every increment takes a lock, a getpid() system call and an mmap
    write; per request that added up to a tenth of a cached screening's CPU time. Workers
    flush every FLUSH_SECONDS, so a scrape lags by at most that much. Not thread-safe: count
    from the event loop thread only.
    """

    __slots__ = ("_child", "pending")

    def __init__(self, child: Counter) -> None:
        self._child = child
        self.pending = 0

    def inc(self, amount: int = 1) -> None:
        self.pending += amount

    def flush(self) -> None:
        if self.pending:
            amount, self.pending = self.pending, 0
            self._child.inc(amount)


class BufferedHistogram:
    """A histogram child observed in process memory and added to Prometheus on flush, for
    the reason BufferedCount gives: a multiprocess observation is two locked mmap writes
    and two getpid() calls, which per match and per call cost more than the rest of the
    metrics together. Flushing reaches into the child's bucket and sum values (stable
    prometheus-client internals); without them it observes directly."""

    __slots__ = ("_bounds", "_child", "_counts", "_sum", "_total")

    def __init__(self, child: Histogram) -> None:
        self._child = child
        bounds: Any = getattr(child, "_upper_bounds", None)
        buckets: Any = getattr(child, "_buckets", None)
        direct = bounds is None or buckets is None or len(bounds) != len(buckets)
        self._bounds: tuple[float, ...] = () if direct else tuple(bounds)
        self._counts = [0] * len(self._bounds)
        self._sum = 0.0
        self._total = 0

    def observe(self, value: float) -> None:
        if not self._bounds:
            self._child.observe(value)
            return
        # Prometheus buckets hold `value <= upper bound`; the last bound is +Inf.
        self._counts[bisect.bisect_left(self._bounds, value)] += 1
        self._sum += value
        self._total += 1

    def flush(self) -> None:
        if not self._total:
            return
        counts, total_sum = self._counts, self._sum
        self._counts, self._sum, self._total = [0] * len(self._bounds), 0.0, 0
        buckets = self._child._buckets
        for bucket, count in zip(buckets, counts, strict=True):
            if count:
                bucket.inc(count)
        self._child._sum.inc(total_sum)


_BUFFERED: list[BufferedCount | BufferedHistogram] = []


def buffered(child: Counter) -> BufferedCount:
    count = BufferedCount(child)
    _BUFFERED.append(count)
    return count


def buffered_histogram(child: Histogram) -> BufferedHistogram:
    histogram = BufferedHistogram(child)
    _BUFFERED.append(histogram)
    return histogram


def flush_buffered() -> None:
    for count in _BUFFERED:
        count.flush()


async def flush_periodically(stop: asyncio.Event, interval: float = FLUSH_SECONDS) -> None:
    """Flush buffered counts until `stop` is set, then once more."""
    while not stop.is_set():
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), timeout=interval)
        flush_buffered()


_DECISION_COUNTS: dict[tuple[str, str], BufferedCount] = {}
_MATCH_SCORES = buffered_histogram(MATCH_SCORE)
_MATCH_COUNTS: dict[str, BufferedCount] = {}
_CACHE_COUNTS: dict[str, BufferedCount] = {}


def identify_worker(worker_id: int) -> None:
    """Name this process's worker in per-worker gauges (call once at worker start)."""
    global _worker
    _worker = str(worker_id)


CACHE_RESULTS = ("local_hit", "redis_hit", "miss", "skipped")
REDIS_OPERATIONS = ("cache_get", "cache_set", "ping")
DECISION_NAMES = ("clear", "review", "block")


def init_worker_series(kinds: Iterable[str] = ("party",)) -> None:
    """Known label values start at 0 in every worker, so rates and ratios have data (and
    absence means something) before the first event."""
    for kind in kinds:
        for decision in DECISION_NAMES:
            _decision_count(kind, decision)
    for result in CACHE_RESULTS:
        _cache_count(result)
    for operation in REDIS_OPERATIONS:
        REDIS_ERRORS.labels(operation)


def _decision_count(kind: str, decision: str) -> BufferedCount:
    count = _DECISION_COUNTS.get((kind, decision))
    if count is None:
        count = _DECISION_COUNTS[(kind, decision)] = buffered(DECISIONS.labels(kind, decision))
    return count


def _cache_count(result: str) -> BufferedCount:
    count = _CACHE_COUNTS.get(result)
    if count is None:
        count = _CACHE_COUNTS[result] = buffered(RESULT_CACHE.labels(result))
    return count


def record_screening(kind: str, decision: str, matches: Iterable[tuple[str, float]]) -> None:
    """One screened party: its decision and the (source, score) of each returned match."""
    _decision_count(kind, decision).inc()
    for source, score in matches:
        per_source = _MATCH_COUNTS.get(source)
        if per_source is None:
            per_source = _MATCH_COUNTS[source] = buffered(MATCHES.labels(source))
        per_source.inc()
        _MATCH_SCORES.observe(score)


def record_index(build_seconds: float, entities_by_source: Mapping[str, int]) -> None:
    """A worker swapped in a new index."""
    INDEX_BUILD_SECONDS.labels(_worker).set(build_seconds)
    INDEX_LOADED.labels(_worker).set_to_current_time()
    for source, count in entities_by_source.items():
        ENTITIES_LOADED.labels(source).set(count)


def record_refresh(source: str, outcome: str) -> None:
    """One refresh attempt of a source list: published, unchanged, rejected, failed, skipped."""
    if outcome not in REFRESH_OUTCOMES:
        raise ValueError(f"refresh outcome must be one of {sorted(REFRESH_OUTCOMES)}")
    REFRESHES.labels(source, outcome).inc()
    if outcome in ("published", "unchanged"):
        REFRESH_LAST_SUCCESS.labels(source).set_to_current_time()


def record_cache(result: str) -> None:
    _cache_count(result).inc()


def record_redis(operation: str, ok: bool) -> None:
    if ok:
        REDIS_UP.labels(_worker).set(1)
    else:
        REDIS_UP.labels(_worker).set(0)
        REDIS_ERRORS.labels(operation).inc()


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


def supervisor_registry() -> CollectorRegistry:
    """What the supervisor's metrics port serves: every worker's samples (multiprocess
    directory) and the supervisor's own (runtime/metrics_server.py serves it)."""
    registry = CollectorRegistry()
    multiprocess.MultiProcessCollector(registry)
    if values.ValueClass is values.MutexValue:
        # This process (the supervisor) keeps its own samples in memory, not in the shared
        # directory: serve its refresh metrics directly.
        registry.register(REFRESHES)
        registry.register(REFRESH_LAST_SUCCESS)
        registry.register(LIST_DECODE_FALLBACKS)
        registry.register(LIST_CONTROL_CHARACTERS)
    registry.register(PUBLICATION_AGE)
    return registry


# -- list ingest and refresh (the supervisor or the CLI runs them, not the workers) -------

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


LIST_DECODE_FALLBACKS = Counter(
    "screening_list_decode_fallback_total",
    "List files that were not UTF-8 and were decoded with a legacy encoding, by source",
    ["source", "encoding"],
)
LIST_CONTROL_CHARACTERS = Counter(
    "screening_list_control_characters_total",
    "Text fields of list entries from which control characters (NUL, ESC...) were removed",
    ["source"],
)


def record_list_decode_fallback(source: str, encoding: str) -> None:
    LIST_DECODE_FALLBACKS.labels(source, encoding).inc()


def record_list_control_characters(source: str, fields: int) -> None:
    LIST_CONTROL_CHARACTERS.labels(source).inc(fields)


class PublicationAgeCollector:
    """screening_list_publication_age_seconds{source}: computed at scrape time from the
    publication dates of the live snapshot (a gauge set once would stop ageing).

    With an age reader (the supervisor sets one), also, per source: how long the data has
    not been known current (publication or a refresh that found nothing newer),
    screening_list_data_age_seconds; the source's limit, screening_list_max_age_seconds;
    and screening_list_stale (1: past it), which the shipped alert rule fires on."""

    def __init__(self) -> None:
        self._dates: dict[str, dt.date] = {}
        self._lock = threading.Lock()
        # source -> (seconds since known current, maximum age in seconds, stale)
        self._read_ages: Callable[[], Mapping[str, tuple[float, float, bool]]] | None = None
        self._last_ages: Mapping[str, tuple[float, float, bool]] = {}

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

    def watch_ages(self, reader: Callable[[], Mapping[str, tuple[float, float, bool]]]) -> None:
        """Read the data ages at every scrape with `reader` (it may fail: the last ages
        read stand)."""
        self._read_ages = reader

    def _ages(self) -> Mapping[str, tuple[float, float, bool]]:
        if self._read_ages is None:
            return {}
        with contextlib.suppress(Exception):  # Redis away: the ages last read stand
            self._last_ages = self._read_ages()
        return self._last_ages

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
        ages = self._ages()
        if not ages:
            return
        data_age = GaugeMetricFamily(
            "screening_list_data_age_seconds",
            "Seconds since each source's data was last known current (its publication, or a "
            "refresh that found nothing newer)",
            labels=["source"],
        )
        limit = GaugeMetricFamily(
            "screening_list_max_age_seconds",
            "Each source's maximum data age (SCREENING_MAX_DATA_AGE_DAYS)",
            labels=["source"],
        )
        stale = GaugeMetricFamily(
            "screening_list_stale",
            "1 when a source's data is older than its maximum age, else 0",
            labels=["source"],
        )
        for source, (age, max_age, is_stale) in sorted(ages.items()):
            data_age.add_metric([source], age)
            limit.add_metric([source], max_age)
            stale.add_metric([source], 1.0 if is_stale else 0.0)
        yield data_age
        yield limit
        yield stale


PUBLICATION_AGE = PublicationAgeCollector()
