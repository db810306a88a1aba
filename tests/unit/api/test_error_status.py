"""The error table (api/error_status.py): each domain error answered with one status and message."""

from __future__ import annotations

import grpc
import pytest

from screening.api.error_status import ERRORS, status_of
from screening.model import errors


@pytest.mark.parametrize(
    ("error", "code", "message"),
    [
        (errors.NotReady("no list data loaded yet"), "UNAVAILABLE", "no list data loaded yet"),
        (
            errors.Unavailable("accept-list unavailable: x"),
            "UNAVAILABLE",
            "accept-list unavailable: x",
        ),
        (
            errors.AuditUnavailable("spool full"),
            "UNAVAILABLE",
            "screening not recorded: spool full",
        ),
        (errors.NotFound("no acceptance a-1"), "NOT_FOUND", "no acceptance a-1"),
        (errors.Conflict("acceptance a-1 is revoked, not active"), "FAILED_PRECONDITION", None),
        (errors.Exhausted("too many streams"), "RESOURCE_EXHAUSTED", "too many streams"),
    ],
)
def test_each_domain_error_has_one_status(error, code, message):
    status, text = status_of(error)
    assert status == getattr(grpc.StatusCode, code)
    assert text == (message if message is not None else str(error))


def test_every_domain_error_but_invalid_is_in_the_table():
    kinds = {errors.NotReady, errors.Unavailable, errors.AuditUnavailable}
    kinds |= {errors.NotFound, errors.Conflict, errors.Exhausted}
    kinds |= {errors.DeadlineExceeded, errors.Cancelled}
    assert set(ERRORS) == kinds
