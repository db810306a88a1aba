"""The gRPC servicer: validate, screen against the worker's index, convert to proto."""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import random
import secrets
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass

import grpc
import redis

from screening.api import batch, convert
from screening.api.acceptances import AcceptanceRpcs
from screening.api.cache import ResultCache, code_fingerprint, request_digest
from screening.api.errors import abort, abort_invalid
from screening.api.monitoring import MonitoringRpcs
from screening.api.repeat import KnownAnswer
from screening.api.shipment import ShipmentScreener
from screening.api.trust import Trust
from screening.api.validation import (
    Limits,
    Violations,
    check_min_score,
    check_sources,
    check_text,
    party_to_query,
)
from screening.config import Settings
from screening.index.holder import IndexHolder, LoadedIndex
from screening.matching.types import MatchResult, Query
from screening.observability.metrics import record_screening
from screening.risk.party import PartyThresholds, decide_party
from screening.risk.policy import PolicyHolder
from screening.store.snapshots import ListStore
from screening.v1 import screening_pb2 as pb
from screening.v1 import screening_pb2_grpc as pb_grpc

log = logging.getLogger(__name__)


# Ids need uniqueness, not secrecy: a generator seeded from the OS once per process costs
# a fraction of a system call per id (workers are spawned, so each has its own seed).
_ID_RANDOM = random.Random(secrets.randbits(128))


def new_screening_id() -> str:
    """Time-ordered and unique across replicas: 12 hex digits of milliseconds, 16 random."""
    return f"{int(time.time() * 1000):012x}{_ID_RANDOM.getrandbits(64):016x}"


def _iso_to_date(value: str) -> dt.date | None:
    parts = value.split("-")
    try:
        return dt.date(
            int(parts[0]),
            int(parts[1]) if len(parts) > 1 else 1,
            int(parts[2]) if len(parts) > 2 else 1,
        )
    except (ValueError, IndexError):
        return None


@dataclass(frozen=True)
class PartyCheck:
    """A valid ScreenParty request, as the matcher takes it."""

    query: Query
    min_score: float
    sources: list[str]
    limit: int


def _exact_key(request: pb.ScreenPartyRequest) -> bytes:
    """The request as bytes, without the caller's reference (echoed, not screened)."""
    ref = request.client_ref
    if not ref:
        return request.SerializeToString(deterministic=True)
    request.client_ref = ""
    try:
        return request.SerializeToString(deterministic=True)
    finally:
        request.client_ref = ref


def _from_cache(request: pb.ScreenPartyRequest, answer: bytes) -> pb.ScreenPartyResponse:
    response = pb.ScreenPartyResponse.FromString(answer)
    response.screening_id = new_screening_id()
    # Set directly: Timestamp.FromNanoseconds is Python code, slower than the whole lookup.
    stamp = response.screened_at
    stamp.seconds, stamp.nanos = divmod(time.time_ns(), 1_000_000_000)
    response.client_ref = request.client_ref
    return response


class ScreeningServicer(AcceptanceRpcs, MonitoringRpcs, pb_grpc.ScreeningServiceServicer):
    def __init__(
        self,
        holder: IndexHolder,
        settings: Settings,
        store: ListStore,
        cache: ResultCache[KnownAnswer] | None = None,
        *,
        trust: Trust | None = None,
    ) -> None:
        self.holder = holder
        self.settings = settings
        self.store = store
        self.cache = cache
        # The code and settings that shape an answer are part of its cache key: replicas
        # running other code or configured differently never share answers.
        self._answer_settings = (
            code_fingerprint(),
            settings.alert_threshold,
            settings.review_threshold,
            settings.block_threshold,
            settings.max_results,
        )
        self.limits = Limits(
            max_name_length=settings.max_name_length,
            max_aliases=settings.max_aliases,
            max_identifiers=settings.max_identifiers,
        )
        self.thresholds = PartyThresholds(
            review=settings.review_threshold, block=settings.block_threshold
        )
        self.shipments = ShipmentScreener(settings, self.limits, PolicyHolder(settings.policy_file))
        # Accept-list, audit trail, monitoring (api/trust.py); without one: none of them.
        self.trust = trust or Trust(self.thresholds)
        self.shipments.trust = self.trust

    async def _index(self, context: grpc.aio.ServicerContext) -> LoadedIndex:
        index = self.holder.current
        if index is None:
            await abort(context, grpc.StatusCode.UNAVAILABLE, "no list data loaded yet")
        return index

    # -- ScreenParty ---------------------------------------------------------------------

    async def ScreenParty(
        self, request: pb.ScreenPartyRequest, context: grpc.aio.ServicerContext
    ) -> pb.ScreenPartyResponse | bytes:
        # The checks are awaited only when they refuse: a coroutine per check costs on the
        # path every repeat takes.
        index = self.holder.current or await self._index(context)
        if self.trust.refusing:
            await self.trust.check_recording(context)
        cache = self.cache
        exact = b""
        known = None
        if cache is not None and cache.enabled:
            exact = _exact_key(request)
            known = cache.get_exact(index.version, exact)
        if known is not None and self.trust.answers_again(known):
            # An exact repeat: answered serialized (runtime/interceptors.py lets a handler do so).
            screening_id = new_screening_id()
            refusal = self.trust.record_repeat(request, known, screening_id, context)
            if refusal:
                await abort(context, grpc.StatusCode.UNAVAILABLE, refusal)
            record_screening("party", known.decision_name, known.match_labels)
            return known.again(screening_id, request.client_ref)
        if known is not None:
            response = _from_cache(request, known.payload)
        else:
            response = await self._screen_party_cached(request, index, exact, context)
        # Acceptances and the audit record come after the cache: they are per call.
        response = await self.trust.settle_party(request, response, index, context)
        record_screening(
            "party",
            convert.DECISION_NAME.get(response.decision, "unspecified"),
            [(m.source, m.score) for m in response.matches],
        )
        return response

    async def _screen_party_cached(
        self,
        request: pb.ScreenPartyRequest,
        index: LoadedIndex,
        exact: bytes,
        context: grpc.aio.ServicerContext,
    ) -> pb.ScreenPartyResponse:
        """Validate and screen through the Redis tier of the result cache (`exact`, the
        request's bytes, is empty when the cache is off): a request any worker or replica
        answered on this data (after normalisation) costs one Redis GET. The answer is then
        kept in this worker's memory, ready for exact repeats (api/repeat.py)."""
        errors = Violations()
        check = self.check_party(request, index, errors)
        if check is None:
            await abort_invalid(context, errors)
        cache = self.cache
        if cache is None or not exact:
            return self._screen_checked(request, index, check)
        digest = request_digest(self._answer_settings, check)
        answer = await cache.get(index.version, digest)
        if answer is None:
            response = self._screen_checked(request, index, check)
            kept = pb.ScreenPartyResponse()
            kept.CopyFrom(response)
            kept.ClearField("screening_id")
            kept.ClearField("screened_at")
            kept.ClearField("client_ref")
            answer = kept.SerializeToString()
            cache.put(index.version, digest, answer)
        else:
            response = _from_cache(request, answer)
        template = self.trust.party_template(request, response)
        cache.put_exact(index.version, exact, KnownAnswer.of(answer, response, template))
        return response

    def screen_party(
        self, request: pb.ScreenPartyRequest, index: LoadedIndex, errors: Violations
    ) -> pb.ScreenPartyResponse:
        """Screen one party; on bad input fills `errors` and returns an empty response."""
        check = self.check_party(request, index, errors)
        if check is None:
            return pb.ScreenPartyResponse()
        return self._screen_checked(request, index, check)

    def check_party(
        self, request: pb.ScreenPartyRequest, index: LoadedIndex, errors: Violations
    ) -> PartyCheck | None:
        """Validate a ScreenParty request; on bad input fill `errors` and return None."""
        if not request.HasField("party"):
            errors.add("party", "is required")
            return None
        query = party_to_query(request.party, "party", errors, self.limits)
        min_score = check_min_score(request, self.settings.alert_threshold, errors)
        sources = check_sources(
            list(request.sources), set(index.matcher.sources), errors, self.limits
        )
        check_text(request.client_ref, "client_ref", errors, limit=self.limits.max_ref_length)
        if not 0 <= request.max_results <= 100:
            errors.add("max_results", "must be between 0 and 100")
        if errors:
            return None
        limit = request.max_results or self.settings.max_results
        return PartyCheck(query, min_score, sorted(set(sources)), limit)

    def _screen_checked(
        self, request: pb.ScreenPartyRequest, index: LoadedIndex, check: PartyCheck
    ) -> pb.ScreenPartyResponse:
        results = index.matcher.screen(
            check.query, min_score=check.min_score, sources=check.sources, limit=check.limit
        )
        return self._party_response(request, index, results, check.min_score)

    def _party_response(
        self,
        request: pb.ScreenPartyRequest,
        index: LoadedIndex,
        results: list[MatchResult],
        min_score: float,
    ) -> pb.ScreenPartyResponse:
        decision, risk_score = decide_party([r.score for r in results], self.thresholds)
        return pb.ScreenPartyResponse(
            screening_id=new_screening_id(),
            decision=convert.DECISION_PB[decision],
            risk_score=risk_score,
            matches=[convert.match_pb(r) for r in results],
            data_version=index.version,
            screened_at=convert.timestamp(dt.datetime.now(dt.UTC)),
            client_ref=request.client_ref,
            min_score=min_score,
        )

    # -- CompareParties ------------------------------------------------------------------

    async def CompareParties(
        self, request: pb.ComparePartiesRequest, context: grpc.aio.ServicerContext
    ) -> pb.ComparePartiesResponse:
        index = await self._index(context)
        errors = Violations()
        for side in ("left", "right"):
            if not request.HasField(side):
                errors.add(side, "is required")
        if errors:
            await abort_invalid(context, errors)
        left = party_to_query(request.left, "left", errors, self.limits)
        right = party_to_query(request.right, "right", errors, self.limits)
        if errors:
            await abort_invalid(context, errors)
        score, components = index.matcher.compare(left, right)
        threshold = self.settings.alert_threshold
        return pb.ComparePartiesResponse(
            score=score,
            is_match=score >= threshold,
            explanation=[convert.component_pb(c) for c in components],
            threshold=threshold,
        )

    # -- GetEntity -----------------------------------------------------------------------

    async def GetEntity(
        self, request: pb.GetEntityRequest, context: grpc.aio.ServicerContext
    ) -> pb.GetEntityResponse:
        index = await self._index(context)
        entity_id = request.entity_id.strip()
        if not entity_id or ":" not in entity_id or len(entity_id) > 200:
            errors = Violations()
            errors.add("entity_id", "must be '<source>:<list id>', e.g. 'ofac-sdn:47956'")
            await abort_invalid(context, errors)
        entity = index.entities.get(entity_id)
        if entity is None:
            await abort(
                context,
                grpc.StatusCode.NOT_FOUND,
                f"no entry {entity_id} in data version {index.version}",
            )
        state = index.manifest.sources.get(entity.source)
        return pb.GetEntityResponse(
            entity=convert.entity_pb(entity, state.version if state else ""),
            data_version=index.version,
        )

    # -- GetDataStatus -------------------------------------------------------------------

    async def GetDataStatus(
        self, request: pb.GetDataStatusRequest, context: grpc.aio.ServicerContext
    ) -> pb.GetDataStatusResponse:
        index = await self._index(context)
        now = dt.datetime.now(dt.UTC)
        refreshes = await self._refresh_statuses(sorted(index.manifest.sources))
        sources = []
        for name, state in sorted(index.manifest.sources.items()):
            published = _iso_to_date(state.publication_date)
            staleness = (
                int((now - dt.datetime.combine(published, dt.time(), dt.UTC)).total_seconds())
                if published
                else 0
            )
            status = pb.SourceStatus(
                source=name,
                version=state.version,
                publication_date=state.publication_date,
                entity_count=state.entity_count,
                staleness_seconds=max(0, staleness),
                files=state.files,
                sha256=state.sha256,
                added=state.added,
                removed=state.removed,
                changed=state.changed,
            )
            status.loaded_at.FromDatetime(dt.datetime.fromisoformat(state.loaded_at))
            refreshed = refreshes.get(name, {})
            if refreshed.get("last_attempt_at"):
                status.last_refresh_at.FromDatetime(
                    dt.datetime.fromisoformat(refreshed["last_attempt_at"])
                )
                status.last_refresh_outcome = refreshed.get("last_outcome", "")
            sources.append(status)
        return pb.GetDataStatusResponse(
            data_version=index.version,
            sources=sources,
            index_loaded_at=convert.timestamp(index.loaded_at),
            entity_count=len(index.entities),
        )

    async def _refresh_statuses(self, names: list[str]) -> dict[str, dict[str, str]]:
        """Last refresh per source, from Redis; empty when Redis is away (status still answers)."""
        try:
            return {
                name: await asyncio.to_thread(self.store.refresh_status, name) for name in names
            }
        except redis.RedisError:
            return {}

    # -- ListChanges ---------------------------------------------------------------------

    async def ListChanges(
        self, request: pb.ListChangesRequest, context: grpc.aio.ServicerContext
    ) -> pb.ListChangesResponse:
        index = await self._index(context)
        known = set(index.manifest.sources)
        source = request.source.strip().lower()
        errors = Violations()
        if source and source not in known:
            errors.add("source", f"unknown source {request.source!r}")
        if not 0 <= request.limit <= 100:
            errors.add("limit", "must be between 0 and 100")
        if errors:
            await abort_invalid(context, errors)
        limit = request.limit or 10
        try:
            reports = []
            for name in [source] if source else sorted(known):
                reports += await asyncio.to_thread(self.store.change_reports, name, limit)
        except redis.RedisError as exc:
            await abort(context, grpc.StatusCode.UNAVAILABLE, f"change history unavailable: {exc}")
        reports.sort(key=lambda r: r.ingested_at, reverse=True)
        publications = []
        for report in reports[:limit]:
            item = pb.PublicationChanges(
                source=report.source,
                previous_version=report.previous_version,
                version=report.version,
                publication_date=report.publication_date,
                added=[pb.EntityChange(entity_id=c.entity_id, name=c.name) for c in report.added],
                removed=[
                    pb.EntityChange(entity_id=c.entity_id, name=c.name) for c in report.removed
                ],
                changed=[
                    pb.EntityChange(entity_id=c.entity_id, name=c.name, fields=c.fields)
                    for c in report.changed
                ],
            )
            item.ingested_at.FromDatetime(dt.datetime.fromisoformat(report.ingested_at))
            publications.append(item)
        return pb.ListChangesResponse(publications=publications)

    # -- ScreenShipment, ScreenParties ----------------------------------------------------

    async def ScreenShipment(
        self, request: pb.ScreenShipmentRequest, context: grpc.aio.ServicerContext
    ) -> pb.ScreenShipmentResponse:
        index = await self._index(context)
        await self.trust.check_recording(context)
        errors = Violations()
        response = self.shipments.screen(request, index, errors)
        if errors:
            await abort_invalid(context, errors)
        response = await self.trust.settle_shipment(request, response, context)
        record_screening(
            "shipment",
            convert.DECISION_NAME.get(response.decision, "unspecified"),
            [(m.source, m.score) for party in response.party_results for m in party.matches],
        )
        return response

    async def ScreenParties(
        self,
        request_iterator: AsyncIterator[pb.ScreenPartiesRequest],
        context: grpc.aio.ServicerContext,
    ) -> AsyncIterator[pb.ScreenPartiesResponse]:
        await self._index(context)
        await self.trust.check_recording(context)
        async for response in batch.screen_parties(self, request_iterator, context):
            if response.HasField("response"):
                answer = response.response
                record_screening(
                    "batch",
                    convert.DECISION_NAME.get(answer.decision, "unspecified"),
                    [(m.source, m.score) for m in answer.matches],
                )
            yield response
