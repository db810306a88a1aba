"""What ties a worker to its supervisor, both ways.

- Parent death: a worker asks the kernel for SIGTERM when the supervisor dies
  (prctl PR_SET_PDEATHSIG), so it drains and exits rather than keep the port as an orphan;
  a watch thread also notices the supervisor gone (the signal follows the thread that started
  the worker, and a supervisor may die before the worker asked) and ends the process if it
  has not ended within the drain time.
- Heartbeat: the worker's event loop writes the time into a shared double every fraction of
  the timeout; the supervisor kills and restarts a worker whose beat is older than that
  (stopped with SIGSTOP, a hung loop). A loop that answers calls beats; one that does not,
  does not.
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import logging
import os
import signal
import threading
import time
from typing import Any

log = logging.getLogger(__name__)

PR_SET_PDEATHSIG = 1
# Beats per timeout: a beat late by a scheduling hiccup is not a missed heartbeat.
BEATS_PER_TIMEOUT = 6


def die_with_parent(parent_pid: int, drain_seconds: float) -> None:
    """Call first thing in a worker process: SIGTERM when `parent_pid` dies, and a hard exit
    `drain_seconds` after that if the graceful stop does not end the process."""
    with contextlib.suppress(OSError, AttributeError):
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0)
    if os.getppid() != parent_pid:  # died before the request above
        os.kill(os.getpid(), signal.SIGTERM)

    def watch() -> None:
        while os.getppid() == parent_pid:
            time.sleep(0.5)
        log.error("supervisor gone; this worker stops", extra={"supervisor_pid": parent_pid})
        os.kill(os.getpid(), signal.SIGTERM)
        time.sleep(drain_seconds)
        log.error("worker did not stop after its supervisor died; exiting")
        os._exit(70)

    threading.Thread(target=watch, name="lifeline", daemon=True).start()


async def beat(heartbeat: Any, missed_after: float) -> None:
    """Write the monotonic clock (the same for every process of the machine) into
    `heartbeat` (a shared double) until cancelled, several times per `missed_after`."""
    period = max(0.05, missed_after / BEATS_PER_TIMEOUT)
    while True:
        heartbeat.value = time.monotonic()
        await asyncio.sleep(period)


def missed(heartbeat: Any, timeout: float, started: float, start_timeout: float) -> float:
    """Seconds a worker is late (0: on time). Before its first beat it has `start_timeout`
    from `started` (imports, connecting to Redis)."""
    last = heartbeat.value
    now = time.monotonic()
    if last <= 0:
        return max(0.0, now - started - start_timeout)
    return max(0.0, now - last - timeout)
