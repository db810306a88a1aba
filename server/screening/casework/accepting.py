"""The accept-list's use cases: accept a match as a false positive, revoke an acceptance,
list them. Each keeps the store (Redis) and this worker's copy (casework/acceptlist.py) in
step, and says what went wrong as a domain error."""

from __future__ import annotations

import datetime as dt
import logging

import redis

from screening.casework.acceptlist import (
    ACTIVE,
    REVOKED,
    Acceptance,
    AcceptCache,
    Counterparty,
    entity_fingerprint,
    new_acceptance_id,
    now_utc,
    party_key,
)
from screening.index.holder import LoadedIndex
from screening.model.errors import Conflict, NotFound, NotReady, Unavailable

log = logging.getLogger(__name__)


def configured(cache: AcceptCache | None) -> AcceptCache:
    if cache is None:
        raise NotReady("the accept-list is not configured")
    return cache


async def accept(
    cache: AcceptCache,
    index: LoadedIndex,
    *,
    counterparty: Counterparty,
    party: str,
    entity_id: str,
    analyst: str,
    client: str,
    reason: str,
    expires: dt.datetime,
) -> Acceptance:
    """Clear `counterparty` of the entry `entity_id` until `expires` (`party`: the party
    as the request gave it, kept with the acceptance)."""
    entity = index.entities.get(entity_id)
    if entity is None:
        raise NotFound(f"no entry {entity_id} in data version {index.version}")
    acceptance = Acceptance(
        acceptance_id=new_acceptance_id(),
        counterparty_key=party_key(counterparty),
        entity_id=entity.id,
        entity_name=entity.name,
        entity_fingerprint=entity_fingerprint(entity),
        data_version=index.version,
        analyst=analyst,
        client=client,
        reason=reason,
        accepted_at=now_utc().isoformat(timespec="seconds"),
        expires_at=expires.isoformat(timespec="seconds"),
        party=party,
    )
    try:
        await cache.store.add(acceptance)
    except (redis.RedisError, OSError) as exc:
        raise Unavailable(f"accept-list unavailable: {exc}") from exc
    cache.add_local(acceptance)
    log.info(
        "match accepted",
        extra={"acceptance_id": acceptance.acceptance_id, "entity_id": entity.id},
    )
    return acceptance


async def revoke(
    cache: AcceptCache, acceptance_id: str, *, reason: str, analyst: str
) -> Acceptance:
    try:
        current = await cache.store.get(acceptance_id)
        if current is None:
            raise NotFound(f"no acceptance {acceptance_id}")
        changed = False
        if current.state(now_utc()) == ACTIVE:
            changed, revoked = await cache.store.set_status(acceptance_id, REVOKED, reason, analyst)
            current = revoked or current
    except (redis.RedisError, OSError) as exc:
        raise Unavailable(f"accept-list unavailable: {exc}") from exc
    if not changed:
        raise Conflict(f"acceptance {acceptance_id} is {current.state(now_utc())}, not active")
    cache.remove_local(current)
    log.info("acceptance revoked", extra={"acceptance_id": acceptance_id})
    return current


async def acceptances(
    cache: AcceptCache, *, entity_id: str, include_inactive: bool, limit: int
) -> list[Acceptance]:
    """The newest first; only active ones unless `include_inactive`."""
    try:
        found = await cache.store.all()
    except (redis.RedisError, OSError) as exc:
        raise Unavailable(f"accept-list unavailable: {exc}") from exc
    now = now_utc()
    found = [
        a
        for a in found
        if (not entity_id or a.entity_id == entity_id)
        and (include_inactive or a.state(now) == ACTIVE)
    ]
    found.sort(key=lambda a: (a.accepted_at, a.acceptance_id), reverse=True)
    return found[:limit]
