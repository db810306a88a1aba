"""An index written to the host's index file and read back is the index that was built:
same entities, same prepared names, same lookups, same answers."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from screening.index.files import IndexFiles
from screening.matching.matcher import MatchIndex
from screening.matching.types import Query
from screening.sources.registry import discover, parse_fileset
from screening.store.snapshots import Manifest
from tests.conftest import LISTS_DIR


def _comparable(value: object) -> object:
    if hasattr(value, "offsets"):  # packed postings
        return (value.offsets.tolist(), value.names.tolist())  # type: ignore[attr-defined]
    if isinstance(value, np.ndarray):
        return value.tolist()
    return value


def test_an_index_read_from_its_file_is_the_index_built(tmp_path: Path) -> None:
    if not LISTS_DIR.is_dir():
        pytest.fail(f"shared list files not found at {LISTS_DIR}")
    entities = [
        entity
        for fileset in discover(LISTS_DIR)
        if fileset.source in ("un", "us-bis-dpl") and "2025-04" not in fileset.main.name
        for entity in parse_fileset(fileset).entities
    ]
    built = MatchIndex(entities)
    files = IndexFiles(tmp_path)
    manifest = Manifest(version="v1", created_at="2026-01-01T00:00:00+00:00", sources={})
    files.write(manifest, built)
    read = files.read(manifest)

    assert read is not None and read is not built
    assert read.entities == built.entities and len(read.entities) > 1000
    assert read.candidates.names == built.candidates.names
    for name, value in vars(built.candidates).items():
        assert _comparable(getattr(read.candidates, name)) == _comparable(value), name
    for name, value in vars(built).items():
        if name not in ("candidates", "entities"):
            assert _comparable(getattr(read, name)) == _comparable(value), name
    for entity in entities[:: len(entities) // 25]:
        query = Query(names=[entity.name], entity_type=entity.entity_type)
        found = read.screen(query)
        assert found == built.screen(query)
        assert entity.id in {match.entity.id for match in found}
