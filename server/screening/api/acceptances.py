"""AcceptMatch, RevokeAcceptance, ListAcceptances: the accept-list over gRPC (admin)."""

from __future__ import annotations

import datetime as dt
import logging

import grpc
import redis

from screening.api import convert
from screening.api.auth import client_of
from screening.api.errors import abort, abort_invalid
from screening.api.trust import Trust
from screening.api.validation import Limits, Violations, check_text, party_to_query
from screening.casework.acceptlist import (
    ACTIVE,
    EXPIRED,
    REVOKED,
    VOIDED,
    Acceptance,
    AcceptCache,
    entity_fingerprint,
    new_acceptance_id,
    now_utc,
    party_key,
)
from screening.config import Settings
from screening.index.holder import LoadedIndex
from screening.v1 import screening_pb2 as pb

log = logging.getLogger(__name__)

STATUS_PB = {
    ACTIVE: pb.ACCEPTANCE_STATUS_ACTIVE,
    EXPIRED: pb.ACCEPTANCE_STATUS_EXPIRED,
    REVOKED: pb.ACCEPTANCE_STATUS_REVOKED,
    VOIDED: pb.ACCEPTANCE_STATUS_VOIDED,
}
MAX_ANALYST_LENGTH = 128
MAX_REASON_LENGTH = 2000
MAX_ID_LENGTH = 200


def check_entity_id(value: str, path: str, errors: Violations) -> str:
    entity_id = value.strip()
    if not entity_id or ":" not in entity_id or len(entity_id) > MAX_ID_LENGTH:
        errors.add(path, "must be '<source>:<list id>', e.g. 'ofac-sdn:47956'")
    return entity_id


def check_future(
    stamp: pb.AcceptMatchRequest, path: str, errors: Violations, max_days: int
) -> dt.datetime | None:
    if not stamp.HasField("expires_at"):
        errors.add(path, "is required: an acceptance must expire")
        return None
    try:
        when = stamp.expires_at.ToDatetime(tzinfo=dt.UTC)
    except (ValueError, OverflowError, OSError):
        errors.add(path, "is not a valid timestamp")
        return None
    now = now_utc()
    if when <= now:
        errors.add(path, "must be in the future")
    elif when > now + dt.timedelta(days=max_days):
        errors.add(path, f"must be within {max_days} days")
    return when


def acceptance_pb(acceptance: Acceptance) -> pb.Acceptance:
    out = pb.Acceptance(
        acceptance_id=acceptance.acceptance_id,
        party=pb.Party.FromString(bytes.fromhex(acceptance.party)),
        counterparty_key=acceptance.counterparty_key,
        entity_id=acceptance.entity_id,
        entity_name=acceptance.entity_name,
        entity_fingerprint=acceptance.entity_fingerprint,
        data_version=acceptance.data_version,
        analyst=acceptance.analyst,
        client=acceptance.client,
        reason=acceptance.reason,
        status=STATUS_PB.get(acceptance.state(now_utc()), pb.ACCEPTANCE_STATUS_UNSPECIFIED),
        status_reason=acceptance.status_reason,
        status_changed_by=acceptance.status_changed_by,
    )
    out.accepted_at.FromDatetime(dt.datetime.fromisoformat(acceptance.accepted_at))
    out.expires_at.FromDatetime(dt.datetime.fromisoformat(acceptance.expires_at))
    if acceptance.status_changed_at:
        out.status_changed_at.FromDatetime(dt.datetime.fromisoformat(acceptance.status_changed_at))
    return out


class AcceptanceRpcs:
    """Mixed into the servicer; uses its index, settings, limits and trust."""

    settings: Settings
    limits: Limits
    trust: Trust

    async def _index(self, context: grpc.aio.ServicerContext) -> LoadedIndex:
        raise NotImplementedError

    async def _accept_cache(self, context: grpc.aio.ServicerContext) -> AcceptCache:
        cache = self.trust.acceptances
        if cache is None:
            await abort(context, grpc.StatusCode.UNAVAILABLE, "the accept-list is not configured")
        return cache

    async def AcceptMatch(
        self, request: pb.AcceptMatchRequest, context: grpc.aio.ServicerContext
    ) -> pb.AcceptMatchResponse:
        index = await self._index(context)
        cache = await self._accept_cache(context)
        errors = Violations()
        if not request.HasField("party"):
            errors.add("party", "is required")
        else:
            party_to_query(request.party, "party", errors, self.limits)
        entity_id = check_entity_id(request.entity_id, "entity_id", errors)
        analyst = check_text(
            request.analyst, "analyst", errors, limit=MAX_ANALYST_LENGTH, required=True
        )
        reason = check_text(
            request.reason, "reason", errors, limit=MAX_REASON_LENGTH, required=True
        )
        expires = check_future(request, "expires_at", errors, self.settings.accept_max_days)
        if errors or expires is None:
            await abort_invalid(context, errors)
        entity = index.entities.get(entity_id)
        if entity is None:
            await abort(
                context,
                grpc.StatusCode.NOT_FOUND,
                f"no entry {entity_id} in data version {index.version}",
            )
        acceptance = Acceptance(
            acceptance_id=new_acceptance_id(),
            counterparty_key=party_key(convert.counterparty(request.party)),
            entity_id=entity.id,
            entity_name=entity.name,
            entity_fingerprint=entity_fingerprint(entity),
            data_version=index.version,
            analyst=analyst,
            client=client_of(context),
            reason=reason,
            accepted_at=now_utc().isoformat(timespec="seconds"),
            expires_at=expires.isoformat(timespec="seconds"),
            party=request.party.SerializeToString().hex(),
        )
        try:
            await cache.store.add(acceptance)
        except (redis.RedisError, OSError) as exc:
            await abort(context, grpc.StatusCode.UNAVAILABLE, f"accept-list unavailable: {exc}")
        cache.add_local(acceptance)
        log.info(
            "match accepted",
            extra={"acceptance_id": acceptance.acceptance_id, "entity_id": entity.id},
        )
        return pb.AcceptMatchResponse(acceptance=acceptance_pb(acceptance))

    async def RevokeAcceptance(
        self, request: pb.RevokeAcceptanceRequest, context: grpc.aio.ServicerContext
    ) -> pb.RevokeAcceptanceResponse:
        cache = await self._accept_cache(context)
        errors = Violations()
        acceptance_id = check_text(
            request.acceptance_id, "acceptance_id", errors, limit=MAX_ID_LENGTH, required=True
        )
        analyst = check_text(
            request.analyst, "analyst", errors, limit=MAX_ANALYST_LENGTH, required=True
        )
        reason = check_text(
            request.reason, "reason", errors, limit=MAX_REASON_LENGTH, required=True
        )
        if errors:
            await abort_invalid(context, errors)
        try:
            current = await cache.store.get(acceptance_id)
            if current is None:
                await abort(context, grpc.StatusCode.NOT_FOUND, f"no acceptance {acceptance_id}")
            changed = False
            if current.state(now_utc()) == ACTIVE:
                changed, revoked = await cache.store.set_status(
                    acceptance_id, REVOKED, reason, analyst
                )
                current = revoked or current
        except (redis.RedisError, OSError) as exc:
            await abort(context, grpc.StatusCode.UNAVAILABLE, f"accept-list unavailable: {exc}")
        if not changed:
            await abort(
                context,
                grpc.StatusCode.FAILED_PRECONDITION,
                f"acceptance {acceptance_id} is {current.state(now_utc())}, not active",
            )
        cache.remove_local(current)
        log.info("acceptance revoked", extra={"acceptance_id": acceptance_id})
        return pb.RevokeAcceptanceResponse(acceptance=acceptance_pb(current))

    async def ListAcceptances(
        self, request: pb.ListAcceptancesRequest, context: grpc.aio.ServicerContext
    ) -> pb.ListAcceptancesResponse:
        cache = await self._accept_cache(context)
        errors = Violations()
        entity_id = ""
        if request.entity_id:
            entity_id = check_entity_id(request.entity_id, "entity_id", errors)
        if not 0 <= request.limit <= 1000:
            errors.add("limit", "must be between 0 and 1000")
        if errors:
            await abort_invalid(context, errors)
        try:
            found = await cache.store.all()
        except (redis.RedisError, OSError) as exc:
            await abort(context, grpc.StatusCode.UNAVAILABLE, f"accept-list unavailable: {exc}")
        now = now_utc()
        found = [
            a
            for a in found
            if (not entity_id or a.entity_id == entity_id)
            and (request.include_inactive or a.state(now) == ACTIVE)
        ]
        found.sort(key=lambda a: (a.accepted_at, a.acceptance_id), reverse=True)
        return pb.ListAcceptancesResponse(
            acceptances=[acceptance_pb(a) for a in found[: request.limit or 100]]
        )
