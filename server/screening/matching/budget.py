"""The work one call may do inside the matcher: CPU time of the thread doing it, the caller's
deadline, and whether the caller is still there. The matcher calls `spend()` between
candidates and between name pairs; a call past its budget stops there, raising the domain
error that says why (model/errors.py), instead of holding a worker for as long as its input
makes it take.

The budget of the running call is a context variable (set with `limited`), so the matcher's
signatures do not carry it and calls without one (tests, tools) cost one lookup per check.
"""

from __future__ import annotations

import contextlib
import contextvars
import threading
import time
from collections.abc import Iterator

from screening.model.errors import Cancelled, DeadlineExceeded, Exhausted

# Between two full checks (the thread's CPU clock is a system call; the wall clock is not):
# a unit of work costs 10 us to a few hundred ms.
CHECK_SECONDS = 0.005


class Budget:
    __slots__ = ("_cancelled", "_cpu_limit", "_cpu_start", "_next_check", "cpu_seconds", "deadline")

    def __init__(
        self,
        cpu_seconds: float,
        deadline: float = float("inf"),
        cancelled: threading.Event | None = None,
    ) -> None:
        self.cpu_seconds = cpu_seconds
        self.deadline = deadline  # time.monotonic()
        self._cancelled = cancelled
        self._next_check = 0.0
        self._cpu_start = -1.0
        self._cpu_limit = 0.0

    def start(self) -> None:
        """Start counting CPU time (of the calling thread, the one that will do the work)."""
        cpu = time.thread_time()
        self._cpu_start = cpu
        self._cpu_limit = cpu + self.cpu_seconds
        # The thread's CPU clock is a system call (about 2 us on a VM): read once here.
        self.check(cpu)

    @property
    def used(self) -> float:
        """CPU seconds spent since `start`."""
        return time.thread_time() - self._cpu_start if self._cpu_start >= 0 else 0.0

    def spend(self) -> None:
        if time.monotonic() >= self._next_check:
            self.check()

    def check(self, cpu: float | None = None) -> None:
        """Stop if cancelled, past the deadline or over the CPU allowance; `cpu`: the
        thread's CPU time when the caller has just read it."""
        now = time.monotonic()
        self._next_check = now + CHECK_SECONDS
        if self._cancelled is not None and self._cancelled.is_set():
            raise Cancelled("the caller cancelled the call")
        if now > self.deadline:
            raise DeadlineExceeded("the caller's deadline passed during matching")
        if self._cpu_start >= 0 and (time.thread_time() if cpu is None else cpu) > self._cpu_limit:
            raise Exhausted(
                f"this request needs more matching than one call may do "
                f"({self.cpu_seconds:g} s of CPU): send fewer or shorter names, or split it"
            )


_current: contextvars.ContextVar[Budget | None] = contextvars.ContextVar(
    "matching_budget", default=None
)


def spend() -> None:
    """One unit of matching work done (a candidate, a name pair): stop if over budget."""
    budget = _current.get()
    if budget is not None:
        budget.spend()


@contextlib.contextmanager
def limited(budget: Budget) -> Iterator[Budget]:
    """Run the matching in this block within `budget` (counted from here, in this thread)."""
    token = _current.set(budget)
    try:
        budget.start()
        yield budget
    finally:
        _current.reset(token)
