"""An index written to the host's index file and read back is the index that was built:
same entities, same prepared names, same lookups, same answers."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from screening.index.files import MAGIC, IndexFiles
from screening.matching.matcher import MatchIndex
from screening.matching.types import Query
from screening.model.entities import Entity
from screening.sources.registry import discover, parse_fileset
from screening.store.snapshots import Manifest
from tests.conftest import LISTS_DIR


def _comparable(value: object) -> object:
    if hasattr(value, "offsets"):  # packed postings
        return (value.offsets.tolist(), value.names.tolist())  # type: ignore[attr-defined]
    if isinstance(value, np.ndarray):
        return value.tolist()
    return value


MANIFEST = Manifest(version="v1", created_at="2026-01-01T00:00:00+00:00", sources={})


@pytest.fixture(scope="module")
def entities() -> list[Entity]:
    if not LISTS_DIR.is_dir():
        pytest.fail(f"shared list files not found at {LISTS_DIR}")
    return [
        entity
        for fileset in discover(LISTS_DIR)
        if fileset.source in ("un", "us-bis-dpl") and "2025-04" not in fileset.main.name
        for entity in parse_fileset(fileset).entities
    ]


@pytest.fixture(scope="module")
def built(entities: list[Entity]) -> MatchIndex:
    return MatchIndex(entities)


def test_an_index_read_from_its_file_is_the_index_built(
    tmp_path: Path, entities: list[Entity], built: MatchIndex
) -> None:
    files = IndexFiles(tmp_path)
    manifest = MANIFEST
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


def test_its_arrays_and_tables_stay_in_the_file(tmp_path: Path, built: MatchIndex) -> None:
    """Mapped read-only from the file (one copy in the page cache for every worker), not
    copied into the reading process."""
    files = IndexFiles(tmp_path)
    files.write(MANIFEST, built)
    read = files.read(MANIFEST)
    assert read is not None
    for array in (read.name_type, read.candidates.name_entity, read.candidates._variant_hash):
        assert not array.flags.writeable and not array.flags.owndata
    assert read.entities._blob.readonly and read.candidates.names._blob.readonly


@pytest.mark.parametrize("damage", ["truncated", "magic", "header", "stream"])
def test_a_damaged_file_reads_as_none(tmp_path: Path, built: MatchIndex, damage: str) -> None:
    """The holder then builds it again (index/holder.py)."""
    files = IndexFiles(tmp_path)
    path = files.write(MANIFEST, built)
    data = bytearray(path.read_bytes())
    if damage == "truncated":
        data = data[: len(data) // 2]
    elif damage == "magic":
        data[:8] = b"garbage!"
    elif damage == "header":
        data[len(MAGIC) + 8 : len(MAGIC) + 12] = b"{{{{"
    else:  # the pickle stream, just after the header
        header = int.from_bytes(data[len(MAGIC) : len(MAGIC) + 8], "little")
        start = -(-(len(MAGIC) + 8 + header) // 64) * 64
        data[start : start + 64] = bytes(range(64))
    path.write_bytes(bytes(data))
    assert files.read(MANIFEST) is None
    path.write_bytes(b"")
    assert files.read(MANIFEST) is None
