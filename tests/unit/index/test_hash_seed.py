"""The host's str hash seed: kept in the index directory, so that a restarted service keys
its lookups as the index files of the host were keyed, and reads them instead of building."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from pathlib import Path

from screening.index.files import HASH_SEED_FILE, code_format, host_hash_seed


def test_the_seed_is_kept_and_read_back(tmp_path: Path) -> None:
    first = host_hash_seed(tmp_path / "index")
    assert 1 <= int(first) < 2**32
    assert host_hash_seed(tmp_path / "index") == first
    mode = stat.S_IMODE((tmp_path / "index" / HASH_SEED_FILE).stat().st_mode)
    assert mode == 0o600  # the seed defends dicts against chosen collisions: private


def test_another_host_draws_its_own(tmp_path: Path) -> None:
    seeds = {host_hash_seed(tmp_path / f"host{n}") for n in range(5)}
    assert len(seeds) > 1


def test_a_seed_already_kept_wins(tmp_path: Path) -> None:
    (tmp_path / HASH_SEED_FILE).write_text("12345\n")
    assert host_hash_seed(tmp_path) == "12345"


def test_an_unwritable_directory_gives_a_fresh_seed(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("")
    seed = host_hash_seed(blocker / "index")  # a file where the directory would be
    assert 1 <= int(seed) < 2**32


def _format_under(seed: str) -> str:
    code = "from screening.index.files import code_format; print(code_format())"
    env = {**os.environ, "PYTHONHASHSEED": seed}
    return subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True
    ).stdout.strip()


def test_index_files_are_named_by_the_seed() -> None:
    # Two processes under the kept seed name the same file; under another seed, another.
    assert _format_under("777") == _format_under("777")
    assert _format_under("777") != _format_under("778")
    assert code_format()
