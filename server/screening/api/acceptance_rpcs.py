"""AcceptMatch, RevokeAcceptance, ListAcceptances: the accept-list over gRPC (admin)."""

from __future__ import annotations

import datetime as dt

import grpc

from screening.api import convert
from screening.api.auth import client_of
from screening.api.deps import Deps
from screening.api.validation import Violations, check_text, party_to_query
from screening.casework import accepting
from screening.casework.acceptlist import now_utc
from screening.model.errors import Invalid
from screening.v1 import screening_pb2 as pb

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


async def accept_match(
    deps: Deps, request: pb.AcceptMatchRequest, context: grpc.aio.ServicerContext
) -> pb.AcceptMatchResponse:
    index = deps.index()
    cache = accepting.configured(deps.casework.acceptances)
    errors = Violations()
    if not request.HasField("party"):
        errors.add("party", "is required")
    else:
        party_to_query(request.party, "party", errors, deps.limits)
    entity_id = check_entity_id(request.entity_id, "entity_id", errors)
    analyst = check_text(
        request.analyst, "analyst", errors, limit=MAX_ANALYST_LENGTH, required=True
    )
    reason = check_text(request.reason, "reason", errors, limit=MAX_REASON_LENGTH, required=True)
    expires = check_future(request, "expires_at", errors, deps.accept_max_days)
    if errors or expires is None:
        raise Invalid(errors.items)
    acceptance = await accepting.accept(
        cache,
        index,
        counterparty=convert.counterparty(request.party),
        party=request.party.SerializeToString().hex(),
        entity_id=entity_id,
        analyst=analyst,
        client=client_of(context),
        reason=reason,
        expires=expires,
    )
    return pb.AcceptMatchResponse(acceptance=convert.acceptance_pb(acceptance))


async def revoke_acceptance(
    deps: Deps, request: pb.RevokeAcceptanceRequest, context: grpc.aio.ServicerContext
) -> pb.RevokeAcceptanceResponse:
    cache = accepting.configured(deps.casework.acceptances)
    errors = Violations()
    acceptance_id = check_text(
        request.acceptance_id, "acceptance_id", errors, limit=MAX_ID_LENGTH, required=True
    )
    analyst = check_text(
        request.analyst, "analyst", errors, limit=MAX_ANALYST_LENGTH, required=True
    )
    reason = check_text(request.reason, "reason", errors, limit=MAX_REASON_LENGTH, required=True)
    if errors:
        raise Invalid(errors.items)
    revoked = await accepting.revoke(cache, acceptance_id, reason=reason, analyst=analyst)
    return pb.RevokeAcceptanceResponse(acceptance=convert.acceptance_pb(revoked))


async def list_acceptances(
    deps: Deps, request: pb.ListAcceptancesRequest, context: grpc.aio.ServicerContext
) -> pb.ListAcceptancesResponse:
    cache = accepting.configured(deps.casework.acceptances)
    errors = Violations()
    entity_id = ""
    if request.entity_id:
        entity_id = check_entity_id(request.entity_id, "entity_id", errors)
    if not 0 <= request.limit <= 1000:
        errors.add("limit", "must be between 0 and 1000")
    if errors:
        raise Invalid(errors.items)
    found = await accepting.acceptances(
        cache,
        entity_id=entity_id,
        include_inactive=request.include_inactive,
        limit=request.limit or 100,
    )
    return pb.ListAcceptancesResponse(acceptances=[convert.acceptance_pb(a) for a in found])
