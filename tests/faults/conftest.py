"""Fault tests report their figures (screenings, audit records, failures) at the end of the
run, in the terminal summary, so CI logs show them (tests/conftest.py prints them, from the
test reports, as xdist workers send them to the controller).

Fault tests are `serial` (tests/run.sh runs them one at a time with nothing beside them):
they load the service while they kill, stop or starve its processes and count the calls that
failed meanwhile, or time calls, so a busy machine could fail them. The exceptions below run
beside other tests: each has a Redis (or an embedded one) and ports of its own, kills only
its own processes, and asserts what was ingested, rejected, refused, bound or recorded, never
how fast or how many calls failed (their bounds in time, such as a hostile file rejected
within 60 s or records shipped within 30 s, are generous beside the seconds it takes). An
exception is a module or one test of a module."""

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
    "test_embedded_restart.py",
    "test_list_files_hostile.py",
    "test_list_text_strict.py",
    "test_metrics_port.py",
    "test_monitor_scope.py",
    "test_refresh_bad_source.py",
    "test_shrink_on_empty_redis.py",
    # No load and no timing: a start refused on a taken port; workers gone within 30 s of
    # their idle supervisor's death.
    "test_supervisor_killed.py::test_a_new_instance_refuses_a_port_someone_still_serves",
    "test_supervisor_killed.py::test_workers_exit_when_the_supervisor_dies_before_they_serve",
}


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    here = Path(__file__).parent
    for item in items:
        exempt = {item.path.name, f"{item.path.name}::{item.originalname}"} & NOT_SERIAL
        if here in item.path.parents and not exempt:
            item.add_marker(pytest.mark.serial)
