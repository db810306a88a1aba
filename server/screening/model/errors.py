"""What the domain refuses, by kind. Code below api/ raises these and never sees a gRPC
context; api/error_status.py maps each kind to a status once, for every handler."""

from __future__ import annotations

from collections.abc import Sequence


class ScreeningError(Exception):
    """A request the service cannot answer; `str(exc)` is the message the caller reads."""


class NotReady(ScreeningError):
    """Not ready to answer: no list data loaded yet, or the feature is not configured here.
    Another worker or replica may be (retry)."""


class Unavailable(ScreeningError):
    """A store the answer needs is away (Redis)."""


class AuditUnavailable(Unavailable):
    """The audit record could not be kept: the screening must not be answered."""


class Exhausted(ScreeningError):
    """A limit of the service is reached (open streams of a client or a worker, the work
    one call may take): nothing was done; retry later, elsewhere, or with less."""


class DeadlineExceeded(ScreeningError):
    """The caller's deadline passed before the work was done: it was stopped."""


class Cancelled(ScreeningError):
    """The caller cancelled the call (or went away) before the work was done: it was
    stopped."""


class NotFound(ScreeningError):
    """The entry, acceptance or monitored party asked for does not exist."""


class Conflict(ScreeningError):
    """The thing asked for is not in a state that allows the change (e.g. not active)."""


class Invalid(ScreeningError):
    """Bad input: every bad field, as (field path, what is wrong) pairs."""

    def __init__(self, violations: Sequence[tuple[str, str]]) -> None:
        super().__init__("invalid request")
        self.violations = list(violations)
