"""The host's index built with part of its work in another process is the index built in
one: same words, postings, keys and skeletons, with the other process's str hashes used
only under the same hash seed."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
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
