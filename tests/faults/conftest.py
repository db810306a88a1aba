"""Fault tests report their figures (screenings, audit records, failures) at the end of the
run, in the terminal summary, so CI logs show them (tests/conftest.py prints them, from the
test reports, as xdist workers send them to the controller).

Fault tests are `serial` (tests/run.sh runs them one at a time with nothing beside them):
they kill and restart processes, hold ports, load the service and time what follows. The
exceptions below run beside other tests: each has a Redis (or an embedded one) of its own,
kills nothing, and asserts what was ingested, rejected or refused, not how fast (their one
bound in time, a hostile file rejected within 60 s, is generous beside the seconds it takes)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from tests.conftest import FAULT_FIGURES


@pytest.fixture
def fault_report(request: pytest.FixtureRequest) -> Callable[..., None]:
    def report(**figures: object) -> None:
        text = ", ".join(f"{k}={v}" for k, v in figures.items())
        request.node.user_properties.append((FAULT_FIGURES, f"{request.node.name}: {text}"))

    return report


NOT_SERIAL = {
    "test_list_files_hostile.py",
    "test_list_text_strict.py",
    "test_monitor_scope.py",
    "test_refresh_bad_source.py",
    "test_shrink_on_empty_redis.py",
}


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    here = Path(__file__).parent
    for item in items:
        if here in item.path.parents and item.path.name not in NOT_SERIAL:
            item.add_marker(pytest.mark.serial)
