"""GetEntity, GetDataStatus, ListChanges: what the worker's list data holds, and how it
came to be (publications, refreshes, changes)."""

from __future__ import annotations

import asyncio

import grpc
import redis

from screening.api import convert
from screening.api.deps import Deps
from screening.model.errors import Invalid, NotFound, Unavailable
from screening.store.freshness import source_ages
from screening.store.snapshots import ListStore
from screening.v1 import screening_pb2 as pb


async def get_entity(
    deps: Deps, request: pb.GetEntityRequest, context: grpc.aio.ServicerContext
) -> pb.GetEntityResponse:
    index = deps.index()
    entity_id = request.entity_id.strip()
    if not entity_id or ":" not in entity_id or len(entity_id) > 200:
        raise Invalid([("entity_id", "must be '<source>:<list id>', e.g. 'ofac-sdn:47956'")])
    entity = index.entities.get(entity_id)
    if entity is None:
        raise NotFound(f"no entry {entity_id} in data version {index.version}")
    state = index.manifest.sources.get(entity.source)
    return pb.GetEntityResponse(
        entity=convert.entity_pb(entity, state.version if state else ""),
        data_version=index.version,
    )


async def get_data_status(
    deps: Deps, request: pb.GetDataStatusRequest, context: grpc.aio.ServicerContext
) -> pb.GetDataStatusResponse:
    index = deps.index()
    refreshes = await _refresh_statuses(deps.store, sorted(index.manifest.sources))
    ages = source_ages(index.manifest, deps.ages.watch.max_age_days, refreshes)
    return pb.GetDataStatusResponse(
        data_version=index.version,
        sources=[
            convert.source_status_pb(state, ages[name])
            for name, state in sorted(index.manifest.sources.items())
        ],
        index_loaded_at=convert.timestamp(index.loaded_at),
        entity_count=len(index.entities),
        data_age=convert.data_age_pb(ages.values()),
    )


async def _refresh_statuses(store: ListStore, names: list[str]) -> dict[str, dict[str, str]]:
    """Last refresh per source, from Redis; empty when Redis is away (status still answers)."""
    try:
        return {name: await asyncio.to_thread(store.refresh_status, name) for name in names}
    except redis.RedisError:
        return {}


async def list_changes(
    deps: Deps, request: pb.ListChangesRequest, context: grpc.aio.ServicerContext
) -> pb.ListChangesResponse:
    index = deps.index()
    known = set(index.manifest.sources)
    source = request.source.strip().lower()
    violations = []
    if source and source not in known:
        violations.append(("source", f"unknown source {request.source!r}"))
    if not 0 <= request.limit <= 100:
        violations.append(("limit", "must be between 0 and 100"))
    if violations:
        raise Invalid(violations)
    limit = request.limit or 10
    try:
        reports = []
        for name in [source] if source else sorted(known):
            reports += await asyncio.to_thread(deps.store.change_reports, name, limit)
    except redis.RedisError as exc:
        raise Unavailable(f"change history unavailable: {exc}") from exc
    reports.sort(key=lambda r: r.ingested_at, reverse=True)
    return pb.ListChangesResponse(
        publications=[convert.publication_changes_pb(report) for report in reports[:limit]]
    )
