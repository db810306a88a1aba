"""How tests/run.sh's parallel stage hands test modules to its xdist workers (--dist loadfile):
the costliest modules first, each to the first worker that is free, so no worker is left with
a long module at the end while the others wait (longest processing time first).

xdist on its own orders modules by their number of tests (a module of one 50 s test comes
last) and gives a worker its next module while two of its tests are still to run, which can
queue a module behind a long test while another worker sits idle. Here a worker gets its
next module only when it holds the last test of the previous one (an xdist worker runs a test
once it knows the next), and modules come in order of their seconds in the latest run (in
.pytest_cache) or, on a fresh clone, in MODULE_SECONDS_FILE (refresh it from a run with
`python -m tests.scheduling`). A few long modules whose tests each start services of their
own (sharing at most a redis-server per module) are handed out test by test (SPLIT_MODULES).
The tests themselves and their outcomes do not depend on it.
Only tests/run.sh's parallel stage records (RECORD_ENV set): a run of a few tests would
record parts of modules.
"""

from __future__ import annotations

import json
import os
import sys
from collections import defaultdict
from pathlib import Path
from typing import Any

import pytest

MODULE_SECONDS_FILE = Path(__file__).with_name("module_seconds.json")
CACHE_KEY = "screening/module-seconds"
RECORD_ENV = "SCREENING_TEST_RECORD_SECONDS"
# A module in neither record: a few seconds, like most.
UNKNOWN_SECONDS = 5.0


# Modules handed out test by test: their tests share no service, only a module's cheap
# redis-server, which each worker that runs one of them starts for itself.
SPLIT_MODULES = {
    "tests/faults/test_list_files_hostile.py",
    "tests/e2e/test_lifecycle.py",
    "tests/integration/test_store.py",
    "tests/e2e/test_safe_defaults.py",
}


def module_of(nodeid: str) -> str:
    return nodeid.split("::", 1)[0]


def unit_of(nodeid: str) -> str:
    """What a worker is handed at once: the test in SPLIT_MODULES, else its module."""
    return nodeid if module_of(nodeid) in SPLIT_MODULES else module_of(nodeid)


def known_seconds(config: pytest.Config) -> dict[str, float]:
    seconds: dict[str, float] = {}
    if MODULE_SECONDS_FILE.exists():
        seconds.update(json.loads(MODULE_SECONDS_FILE.read_text()))
    cache = getattr(config, "cache", None)  # None under -p no:cacheprovider
    if cache is not None:
        seconds.update(cache.get(CACHE_KEY, {}))
    return seconds


def order_by_cost(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Items grouped by unit (unit_of), costliest first (ties: collection order)."""
    seconds = known_seconds(config)
    first_index: dict[str, int] = {}
    tests_in_module: dict[str, int] = defaultdict(int)
    for index, item in enumerate(items):
        first_index.setdefault(unit_of(item.nodeid), index)
        tests_in_module[module_of(item.nodeid)] += 1

    def cost(nodeid: str) -> float:
        unit, module = unit_of(nodeid), module_of(nodeid)
        if unit in seconds:
            return seconds[unit]
        if module in seconds:  # a module split since it was recorded
            return seconds[module] / tests_in_module[module]
        return UNKNOWN_SECONDS

    items.sort(key=lambda item: (-cost(item.nodeid), first_index[unit_of(item.nodeid)]))


def make_scheduler(config: pytest.Config, log: Any) -> Any:
    from xdist.scheduler import LoadFileScheduling

    class CostOrderedFileScheduling(LoadFileScheduling):  # type: ignore[misc]
        def __init__(self, config: pytest.Config, log: Any = None) -> None:
            super().__init__(config, log)
            # Keep the workers' collection order (order_by_cost), not xdist's by test count.
            config.option.loadscopereorder = False

        def _split_scope(self, nodeid: str) -> str:
            return unit_of(nodeid)

        def _reschedule(self, node: Any) -> None:
            if node.shutting_down:
                return
            if not self.workqueue:
                node.shutdown()
                return
            # One pending test: the worker holds the last test of its modules, waiting to
            # know the next before it runs it.
            if self._pending_of(self.assigned_work[node]) > 1:
                return
            self._assign_work_unit(node)

    return CostOrderedFileScheduling(config, log)


class ModuleSeconds:
    """The controller's record of each module's seconds on its worker (set-up, call and
    tear-down of its tests), less each worker's last tear-down: that one holds the end of
    the worker's session (a session service waiting for the other workers)."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = defaultdict(float)
        self.last_teardown: dict[str, tuple[str, float]] = {}

    def add(self, report: pytest.TestReport) -> None:
        module = unit_of(report.nodeid)
        self.seconds[module] += report.duration
        worker = getattr(getattr(report, "node", None), "gateway", None)
        if report.when == "teardown" and worker is not None:
            self.last_teardown[worker.id] = (module, report.duration)

    def save(self, config: pytest.Config) -> None:
        cache = getattr(config, "cache", None)
        if cache is None or not self.seconds or not os.environ.get(RECORD_ENV):
            return
        for module, duration in self.last_teardown.values():
            self.seconds[module] -= duration
        recorded = dict(cache.get(CACHE_KEY, {}))
        recorded.update({m: round(max(s, 0.0), 1) for m, s in self.seconds.items()})
        cache.set(CACHE_KEY, recorded)


def main() -> None:
    """Write MODULE_SECONDS_FILE from the seconds the latest parallel run recorded."""
    cache = Path(__file__).resolve().parent.parent / ".pytest_cache" / "v" / CACHE_KEY
    if not cache.exists():
        sys.exit(f"no recorded seconds at {cache}: run ./tests/run.sh first")
    recorded = json.loads(cache.read_text())
    # A split module's own total is stale: its tests are recorded one by one.
    recorded = {unit: s for unit, s in recorded.items() if unit not in SPLIT_MODULES}
    ordered = dict(sorted(recorded.items(), key=lambda kv: -kv[1]))
    MODULE_SECONDS_FILE.write_text(json.dumps(ordered, indent=1) + "\n")
    print(f"{len(ordered)} modules written to {MODULE_SECONDS_FILE}")


if __name__ == "__main__":
    main()
