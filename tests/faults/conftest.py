"""Fault tests report their figures (screenings, audit records, failures) at the end of the
run, in the terminal summary, so CI logs show them. Every fault test is `serial`: they kill
and restart processes and time what follows, so tests/run.sh runs them one at a time with
nothing beside them."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

_REPORT: list[str] = []


@pytest.fixture
def fault_report(request: pytest.FixtureRequest) -> Callable[..., None]:
    def report(**figures: object) -> None:
        text = ", ".join(f"{k}={v}" for k, v in figures.items())
        _REPORT.append(f"{request.node.name}: {text}")

    return report


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    here = Path(__file__).parent
    for item in items:
        if here in item.path.parents:
            item.add_marker(pytest.mark.serial)


def pytest_terminal_summary(terminalreporter) -> None:  # type: ignore[no-untyped-def]
    if _REPORT:
        terminalreporter.section("fault test figures")
        for line in _REPORT:
            terminalreporter.write_line(line)
