"""Where a screening's CPU time goes, stage by stage (decode, normalise, candidates, score,
decide, audit, encode): for the benchmark (`screening bench --stages`), off in a serving
worker.

The screening path calls `mark(stage)` as it leaves each stage; while a clock is running,
the thread CPU time since the previous mark is added to that stage, so the stages add up
to the whole call, whatever runs between two marks. Off (the default), a mark is one
global read.
"""

from __future__ import annotations

import time

STAGES = ("decode", "normalise", "candidates", "score", "decide", "audit", "encode")

_running = False
_last = 0
_spent: dict[str, int] = {}


def mark(stage: str) -> None:
    """The time since the previous mark was spent in `stage`."""
    if not _running:
        return
    global _last
    now = time.thread_time_ns()
    _spent[stage] = _spent.get(stage, 0) + now - _last
    _last = now


def start() -> None:
    """Start a call's clock: the marks that follow add up its stages."""
    global _running, _last
    _spent.clear()
    _running = True
    _last = time.thread_time_ns()


def stop() -> dict[str, int]:
    """Stop the clock: nanoseconds of thread CPU time per stage since start()."""
    global _running
    _running = False
    return dict(_spent)
