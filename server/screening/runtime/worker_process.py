"""A worker process's entry point. Apart from the worker (runtime/worker.py) because the
supervisor names it as the target of the processes it starts, and naming a function imports
its module: the worker's stack (grpc's server, the API, the matcher, numpy) would be
imported in the supervisor, about 0.6 s of CPU at start-up and memory it never uses."""

from __future__ import annotations

import signal
import sys
from typing import Any

from screening.config import Settings

# A large request matched on the worker's matching thread hands the interpreter back to the
# event loop within this (default 5 ms): ordinary calls keep their latency beside it.
SWITCH_INTERVAL_SECONDS = 0.0005


def wait_for_go(go: Any) -> None:
    """Wait for the supervisor's word that the data is prepared. Ctrl-C is the supervisor's
    to handle: it stops its workers with SIGTERM, which ends this wait (as it does when the
    supervisor dies: die_with_parent)."""
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        go.wait()
    finally:
        signal.signal(signal.SIGINT, previous)


def run_worker(
    settings: Settings,
    redis_url: str,
    worker_id: int,
    supervisor_pid: int | None = None,
    heartbeat: Any = None,
    go: Any = None,
) -> None:
    """Process entry point (multiprocessing spawn target). The worker's imports come first,
    while the supervisor prepares the data; with `go` (an Event), it then waits for the
    supervisor's word that the data is ready before it touches Redis."""
    from screening.config import log_level
    from screening.observability.logging import setup_logging
    from screening.runtime.lifeline import die_with_parent
    from screening.runtime.worker import run_event_loop, serve_worker

    setup_logging(log_level(settings.log_level))
    sys.setswitchinterval(SWITCH_INTERVAL_SECONDS)
    if supervisor_pid is not None:
        die_with_parent(supervisor_pid, settings.grace_seconds + 10)
    if go is not None:
        wait_for_go(go)
    run_event_loop(serve_worker(settings, redis_url, worker_id, heartbeat), settings.event_loop)
