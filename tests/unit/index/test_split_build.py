"""The host's index built with part of its work in another process is the index built in
one: same words, postings, keys and skeletons, with the other process's str hashes used
only under the same hash seed."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from tests.conftest import LISTS_DIR

SCRIPT = textwrap.dedent(
    """
    import sys
    from pathlib import Path

    import numpy as np

    from screening.index import build
    from screening.matching.matcher import MatchIndex
    from screening.sources.registry import discover, parse_fileset


    def fields(index):
        out = {}
        for name, value in vars(index.candidates).items():
            if hasattr(value, "offsets"):  # packed postings
                value = (value.offsets.tolist(), value.names.tolist())
            elif isinstance(value, np.ndarray):
                value = value.tolist()
            out[name] = value
        return out


    if __name__ == "__main__":
        lists = Path(sys.argv[1])
        entities = []
        for fileset in discover(lists):
            if fileset.source == "un" and "2026" in fileset.main.name:
                entities.extend(parse_fileset(fileset).entities)
        build.MIN_SPLIT = 64
        split = build.OtherProcess()
        helped = MatchIndex(entities, split=split)
        split.close()
        alone = MatchIndex(entities)
        same = fields(helped) == fields(alone)
        print(len(entities), helped.name_count, same)
    """
)


@pytest.mark.parametrize("seed", ["7", None], ids=["same seed", "no seed: hashes made here"])
def test_split_build_is_the_build(tmp_path: Path, seed: str | None) -> None:
    if not LISTS_DIR.is_dir():
        pytest.fail(f"shared list files not found at {LISTS_DIR}")
    script = tmp_path / "split_build.py"
    script.write_text(SCRIPT)
    env = {k: v for k, v in os.environ.items() if k != "PYTHONHASHSEED"}
    if seed is not None:
        env["PYTHONHASHSEED"] = seed
    done = subprocess.run(
        [sys.executable, str(script), str(LISTS_DIR)],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    entities, names, same = done.stdout.split()
    assert int(entities) > 500 and int(names) > int(entities)
    assert same == "True"


OWNER = textwrap.dedent(
    """
    import os
    import sys
    import time
    from pathlib import Path

    from screening.index import build

    if __name__ == "__main__":
        split = build.OtherProcess()
        split.start_hashed(len, [], 0.5)  # waits for the helper's first task
        for entry in Path("/proc").iterdir():  # the helper: this process's child
            if entry.name.isdigit():
                try:
                    stat = (entry / "stat").read_text()
                except OSError:
                    continue
                if int(stat.rsplit(")", 1)[1].split()[1]) == os.getpid():
                    if "spawn_main" in (entry / "cmdline").read_text():
                        print(entry.name, flush=True)
        print("", flush=True)
        if sys.argv[1] == "exit":
            split.close()  # not waited for
            os._exit(0)  # as a multiprocessing child ends: no interpreter shutdown
        time.sleep(600)
    """
)


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


@pytest.mark.parametrize("end", ["killed", "exit"])
def test_the_helper_ends_with_its_build(tmp_path: Path, end: str) -> None:
    """A build killed midway, or ended without waiting for its helper, leaves no helper
    waiting for work forever."""
    script = tmp_path / "owner.py"
    script.write_text(OWNER)
    owner = subprocess.Popen([sys.executable, str(script), end], stdout=subprocess.PIPE, text=True)
    try:
        assert owner.stdout is not None
        helpers = [int(line) for line in iter(owner.stdout.readline, "\n")]
        assert len(helpers) == 1, helpers
        if end == "killed":
            owner.kill()
        owner.wait(timeout=30)
        deadline = time.monotonic() + 10
        while _alive(helpers[0]) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert not _alive(helpers[0]), f"helper {helpers[0]} outlived its build ({end})"
    finally:
        owner.kill()
        owner.wait()


def _doubled_here_only(items: list[int]) -> list[int]:
    """Doubles in the process that made the helper; fails in the helper (which has the
    environment of its start, and another pid)."""
    if os.getpid() != int(os.environ["SPLIT_TEST_OWNER"]):
        raise ValueError("failing in the helper")
    return [2 * item for item in items]


@pytest.mark.parametrize("fault", ["helper killed", "task fails there"])
def test_a_failing_helper_leaves_the_work_done_here(
    fault: str, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    from screening.index import build

    monkeypatch.setenv("SPLIT_TEST_OWNER", str(os.getpid()))
    split = build.OtherProcess()
    try:
        items = list(range(3 * build.MIN_SPLIT))
        assert split(_doubled_here_only, items[:10]) == [2 * i for i in range(10)]  # too few
        if fault == "helper killed":
            proc = split._proc
            assert proc is not None and proc.pid is not None
            os.kill(proc.pid, 9)
            proc.join(10)
        with caplog.at_level("WARNING", logger="screening.index.build"):
            assert split(_doubled_here_only, items) == [2 * i for i in items]
        assert any(r.getMessage() == "index build helper failed" for r in caplog.records)
        # Closed after the failure: the next work is done here alone, without a word.
        caplog.clear()
        assert split(_doubled_here_only, items) == [2 * i for i in items]
        assert not caplog.records
    finally:
        split.close()
