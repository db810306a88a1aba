"""Prometheus metrics, correct across worker processes (prometheus-client multiprocess mode).

The supervisor points PROMETHEUS_MULTIPROC_DIR at a fresh directory before it starts the
workers; each worker writes its samples there and the supervisor serves the sum.
"""

from __future__ import annotations

import os
import shutil
import tempfile

from prometheus_client import (
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    multiprocess,
    start_http_server,
)

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
    start_http_server(port, addr=host, registry=registry)
