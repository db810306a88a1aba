"""Reading the last good publication kept on disk (sources/last_good.py)."""

from __future__ import annotations

import hashlib

import msgspec

from screening.model.entities import Entity, EntityType
from screening.sources.last_good import LastGoodStore
from screening.store.snapshots import SourceState, encode_entities


def _keep(store: LastGoodStore, blob: bytes, blob_hash: str) -> None:
    state = SourceState(
        source="ofac-sdn",
        publication_date="2024-05-03",
        version="2024-05-03/abc",
        sha256="abc",
        blob=blob_hash,
        entity_count=1,
        loaded_at="2024-05-03T00:00:00+00:00",
    )
    store.directory.mkdir(parents=True, exist_ok=True)
    (store.directory / "ofac-sdn.blob").write_bytes(blob)
    (store.directory / "ofac-sdn.json").write_bytes(msgspec.json.encode(state))


def test_a_kept_publication_reads_back(tmp_path):
    store = LastGoodStore(tmp_path, "{screening}")
    entity = Entity(
        id="ofac-sdn:36",
        source="ofac-sdn",
        source_ref="36",
        entity_type=EntityType.ORGANIZATION,
        name="AEROCARIBBEAN AIRLINES",
        first_seen="2024-02-20",
    )
    blob = encode_entities([entity])
    _keep(store, blob, hashlib.sha256(blob).hexdigest())
    kept = store.load("ofac-sdn")
    assert kept is not None
    state, entities = kept
    assert state.publication_date == "2024-05-03"
    assert entities == [entity]
    assert store.directory.name == "_screening_"  # the prefix, made a safe directory name


def test_nothing_kept_or_a_damaged_copy_reads_as_none(tmp_path):
    store = LastGoodStore(tmp_path, "screening")
    assert store.load("ofac-sdn") is None
    blob = encode_entities([])
    _keep(store, blob + b"damaged", hashlib.sha256(blob).hexdigest())
    assert store.load("ofac-sdn") is None
