"""Handlers called in process, with the Deps a worker builds (real Redis, real index, no
server and no port): the answer, and the domain error the servicer maps to a status."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from screening.api import data_rpcs, party_rpcs
from screening.config import Settings
from screening.index.holder import IndexHolder
from screening.model.errors import Invalid, NotFound
from screening.runtime.wiring import build_deps
from screening.sources.ingest import ingest_directory
from screening.store.connection import connect
from screening.store.snapshots import ListStore
from screening.v1 import screening_pb2 as pb


async def test_handlers_answer_in_process(redis_server, prefix, lists_dir, tmp_path: Path):
    subset = tmp_path / "un"
    subset.mkdir()
    shutil.copy(lists_dir / "un" / "UN_consolidated_2025-04-19.xml", subset)
    store = ListStore(connect(redis_server.url), prefix)
    ingest_directory(store, subset)
    holder = IndexHolder(store)
    loaded = holder.load_sync()
    assert loaded is not None
    holder.swap(loaded)
    deps = build_deps(Settings(), holder, store)
    entity = next(e for e in loaded.entities.values() if len(e.name.split()) >= 3)

    request = pb.ScreenPartyRequest(party=pb.Party(name=entity.name))
    response = await party_rpcs.screen_party(deps, request, None)
    assert isinstance(response, pb.ScreenPartyResponse)
    assert entity.id in [m.entity_id for m in response.matches]
    assert response.decision == pb.DECISION_BLOCK

    found = await data_rpcs.get_entity(deps, pb.GetEntityRequest(entity_id=entity.id), None)
    assert found.entity.entity_id == entity.id
    with pytest.raises(NotFound, match="no entry un:nothing"):
        await data_rpcs.get_entity(deps, pb.GetEntityRequest(entity_id="un:nothing"), None)
    with pytest.raises(Invalid) as refused:
        await party_rpcs.screen_party(deps, pb.ScreenPartyRequest(), None)
    assert refused.value.violations == [("party", "is required")]
