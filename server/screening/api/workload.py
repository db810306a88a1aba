"""Where a call's matching runs, and within what budget, so that one call never starves the
others.

Every call's matching runs within a budget (matching/budget.py): at most `cpu_seconds` of
CPU, stopped at the caller's deadline or when the caller cancels. Small requests (the
characters of their names up to `inline_characters`, nearly every real call) are matched on
the event loop: a few milliseconds, no hand-over. Larger ones go to one matching thread per
worker, one at a time, so the event loop keeps answering the ordinary calls meanwhile (the
thread yields the interpreter every `switch interval`: a worker sets it short); a few more
wait their turn, and past `max_waiting` the worker refuses (RESOURCE_EXHAUSTED).
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import os
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

from screening.matching.budget import Budget, limited
from screening.model.errors import Exhausted

T = TypeVar("T")
# Niceness of the matching thread, relative to the worker.
MATCHING_NICE = 10


class Workload:
    def __init__(self, cpu_seconds: float, inline_characters: int, max_waiting: int) -> None:
        self.cpu_seconds = cpu_seconds
        self.inline_characters = inline_characters
        self.max_waiting = max_waiting
        self._executor: ThreadPoolExecutor | None = None
        self._waiting = 0
        # id(call context) -> set when the call ends (cancelled, or done): one per call,
        # however many items of a stream are matched under it.
        self._ends: dict[int, threading.Event] = {}

    def budget(self, context: Any = None) -> Budget:
        """The budget of one call: its CPU allowance, its deadline, its cancellation."""
        deadline = float("inf")
        ended = None
        if context is not None:
            remaining = context.time_remaining()
            if remaining is not None:
                deadline = time.monotonic() + remaining
            ended = self._end_of(context)
        return Budget(self.cpu_seconds, deadline, ended)

    def _end_of(self, context: Any) -> threading.Event:
        key = id(context)
        ended = self._ends.get(key)
        if ended is None:
            ended = self._ends[key] = threading.Event()

            def done(_call: object, ended: threading.Event = ended) -> None:
                ended.set()
                self._ends.pop(key, None)

            context.add_done_callback(done)
        return ended

    async def run(self, work: Callable[[], T], characters: int, context: Any = None) -> T:
        """`work()` (the matcher calls of one request) within the call's budget."""
        budget = self.budget(context)
        if characters <= self.inline_characters:
            with limited(budget):
                return work()
        if self._waiting >= self.max_waiting:
            raise Exhausted(
                f"{self._waiting} large requests are already waiting on this worker: "
                "retry later, or send fewer or shorter names"
            )
        if self._executor is None:
            self._executor = ThreadPoolExecutor(
                max_workers=1, thread_name_prefix="matching", initializer=_yield_to_the_loop
            )
        self._waiting += 1
        try:
            return await asyncio.get_running_loop().run_in_executor(
                self._executor, contextvars.copy_context().run, _within, budget, work
            )
        finally:
            self._waiting -= 1

    def run_now(self, work: Callable[[], T]) -> T:
        """`work()` here and now, within the CPU allowance (background jobs: no caller)."""
        with limited(Budget(self.cpu_seconds)):
            return work()

    def close(self) -> None:
        if self._executor is not None:
            self._executor.shutdown(wait=False, cancel_futures=True)


def _yield_to_the_loop() -> None:
    """The matching thread runs at a lower scheduling priority than the event loop (Linux
    takes a thread id here): when the CPU is short, ordinary calls go first."""
    with contextlib.suppress(OSError, AttributeError):
        os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), MATCHING_NICE)


def _within(budget: Budget, work: Callable[[], T]) -> T:
    with limited(budget):
        return work()
