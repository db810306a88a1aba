"""A worker that finds the host's index file damaged builds it again (index/holder.py),
against a real Redis and a real builder process: before, it read the damaged file in a
loop forever."""

from __future__ import annotations

import json
import os
import subprocess
import sys

from screening.sources.ingest import ingest_directory
from screening.store.connection import connect
from screening.store.snapshots import ListStore
from tests.integration.test_store import lists_subset

# Run where the worker and its builder process hash alike, as under the supervisor.
SCENARIO = """
import asyncio, json, sys
from pathlib import Path
from screening.index.files import MAGIC, IndexFiles
from screening.index.holder import IndexHolder
from screening.store.connection import connect
from screening.store.snapshots import ListStore

url, prefix, directory, damage = sys.argv[1:]
store = ListStore(connect(url), prefix)
files = IndexFiles(Path(directory))
manifest = store.manifest()
path = files.path(manifest)
path.parent.mkdir(parents=True, exist_ok=True)
path.write_bytes(MAGIC + b"\\x00" * 64 if damage == "header" else MAGIC[:5])
holder = IndexHolder(store, files=files, redis_url=url)
asyncio.run(asyncio.wait_for(holder.refresh(), 120))
read = files.read(manifest)
print(json.dumps({
    "serving": holder.current is not None and holder.current.version == manifest.version,
    "entities": len(holder.current.entities) if holder.current else 0,
    "file_readable": read is not None,
    "file_entities": len(read.entities) if read is not None else 0,
}))
"""


def test_a_damaged_index_file_is_built_again(redis_server, prefix, lists_dir, tmp_path):
    store = ListStore(connect(redis_server.url), prefix)
    manifest = ingest_directory(
        store, lists_subset(tmp_path, lists_dir, "ofac/sdn_2024-02-20.csv")
    ).manifest
    assert manifest is not None
    for damage in ("header", "truncated"):
        directory = tmp_path / f"index-{damage}"
        result = subprocess.run(
            [sys.executable, "-c", SCENARIO, redis_server.url, prefix, str(directory), damage],
            env={**os.environ, "PYTHONHASHSEED": "4242"},
            capture_output=True,
            text=True,
            timeout=180,
        )
        assert result.returncode == 0, result.stderr[-2000:]
        outcome = json.loads(result.stdout.strip().splitlines()[-1])
        assert outcome["serving"] and outcome["file_readable"], (damage, outcome)
        assert outcome["entities"] == outcome["file_entities"] > 10_000, (damage, outcome)
        assert "index file built" in result.stderr, result.stderr[-2000:]
