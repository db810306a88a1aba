"""ScreenParty and CompareParties; and the screening of one party that the batch and the
monitoring handlers share.

ScreenParty answers through two tiers of the result cache (api/cache.py): an exact repeat of
a request this worker answered on the same data is answered from memory, still serialized
(api/repeat.py); a request any worker or replica answered (after normalisation) costs one
Redis GET. Acceptances and the audit record come after the cache: they are per call
(casework/settle.py)."""

from __future__ import annotations

import time
from dataclasses import dataclass

import grpc

from screening.api import convert, recording
from screening.api.auth import client_of
from screening.api.cache import request_digest
from screening.api.deps import Deps
from screening.api.repeat import KnownAnswer
from screening.api.validation import (
    Violations,
    check_min_score,
    check_sources,
    check_text,
    party_to_query,
)
from screening.casework.settle import settle_party
from screening.index.data_age_watch import DataAges
from screening.index.holder import LoadedIndex
from screening.matching.types import MatchResult, Query
from screening.model.errors import Invalid
from screening.model.ids import new_screening_id
from screening.observability import stages
from screening.observability.metrics import record_screening
from screening.risk.party import decide_party, evidence_and_listed
from screening.v1 import screening_pb2 as pb


@dataclass(frozen=True)
class PartyCheck:
    """A valid ScreenParty request, as the matcher takes it."""

    query: Query
    min_score: float
    sources: list[str]
    limit: int

    @property
    def characters(self) -> int:
        """What the matcher's work grows with (api/workload.py)."""
        return sum(len(name) for name in self.query.names)


async def screen_party(
    deps: Deps, request: pb.ScreenPartyRequest, context: grpc.aio.ServicerContext
) -> pb.ScreenPartyResponse | bytes:
    # No coroutine is awaited on the way of an exact repeat: it is the hot path.
    index = deps.holder.current or deps.index()
    work = deps.casework
    if work.refusing:
        work.check_recording()
    ages = deps.ages.view(index)
    cache = deps.cache
    exact = b""
    known = None
    if cache is not None and cache.enabled:
        exact = _exact_key(request)
        known = cache.get_exact(ages.stamp, exact)
    if known is not None and _answers_again(deps, known):
        # An exact repeat: answered serialized (runtime/interceptors.py lets a handler do so).
        screening_id = new_screening_id()
        if known.record is not None:
            work.record_encoded(
                known.record.rest(
                    request,
                    screening_id=screening_id,
                    client=client_of(context),
                    peer=context.peer(),
                )
            )
        record_screening("party", known.decision_name, known.match_labels)
        return known.again(screening_id, request.client_ref)
    if known is not None:
        response = _from_cache(request, known.payload)
    else:
        response = await _screen_cached(deps, request, index, ages, exact, context)
    settle(deps, request, response, index, context)
    record_screening(
        "party",
        convert.DECISION_NAME.get(response.decision, "unspecified"),
        [(m.source, m.score) for m in response.matches],
    )
    stages.mark("audit")  # the call's metrics, beside its audit record
    return response


def _answers_again(deps: Deps, known: KnownAnswer) -> bool:
    """Whether a repeat of `known` needs nothing but a new id, time and record: no
    acceptance covers one of its matches, and its record is ready (or not kept)."""
    work = deps.casework
    if work.audit is not None and known.record is None:
        return False
    return work.covers_none_of(known.entity_ids)


def settle(
    deps: Deps,
    request: pb.ScreenPartyRequest,
    response: pb.ScreenPartyResponse,
    index: LoadedIndex,
    context: grpc.aio.ServicerContext | None,
    *,
    kind: str = "party",
    client: str = "",
    batch_index: int = -1,
) -> None:
    """Settle an answer in place (casework/settle.py): accepted matches marked, the decision
    taken again, the audit record kept. Raises AuditUnavailable when it cannot be kept."""
    work = deps.casework
    settled = settle_party(
        work,
        convert.counterparty(request.party),
        recording.party_answer(response),
        index,
        lambda: recording.call_of(
            request,
            context,
            kind=kind,
            include_request=work.include_request,
            client=client,
            batch_index=batch_index,
        ),
    )
    if settled.accepted or len(settled.matches) != len(response.matches):
        convert.mark_accepted(response, settled)
    stages.mark("decide")


async def _screen_cached(
    deps: Deps,
    request: pb.ScreenPartyRequest,
    index: LoadedIndex,
    ages: DataAges,
    exact: bytes,
    context: grpc.aio.ServicerContext | None,
) -> pb.ScreenPartyResponse:
    """Validate and screen through the Redis tier of the result cache (`exact`, the
    request's bytes, is empty when the cache is off). The answer is then kept in this
    worker's memory, ready for exact repeats. Both tiers key answers by the data's age stamp
    (data version, day, stale sources): the age an answer carries stays true."""
    errors = Violations()
    check = check_party(deps, request, index, errors)
    if check is None:
        raise Invalid(errors.items)
    stages.mark("normalise")
    cache = deps.cache
    if cache is None or not exact:
        return await _screen_checked(deps, request, index, check, ages, context)
    digest = request_digest(deps.answer_settings, check)
    answer = await cache.get(ages.stamp, digest)
    if answer is None:
        response = await _screen_checked(deps, request, index, check, ages, context)
        kept = pb.ScreenPartyResponse()
        kept.CopyFrom(response)
        kept.ClearField("screening_id")
        kept.ClearField("screened_at")
        kept.ClearField("client_ref")
        answer = kept.SerializeToString()
        cache.put(ages.stamp, digest, answer)
    else:
        response = _from_cache(request, answer)
    if check.min_score > deps.thresholds.review:
        # Below a raised min_score the answer also holds evidence that settling drops: it is
        # not final as kept, so a repeat is not answered with its bytes.
        return response
    work = deps.casework
    # The record of this answer, for its repeats; none without an audit trail, or when
    # records carry the whole request (encoded per call).
    record = (
        None
        if work.audit is None or work.include_request
        else recording.RepeatRecord.of(request, response, policy_version=work.policy_version)
    )
    cache.put_exact(ages.stamp, exact, KnownAnswer.of(answer, response, record))
    return response


async def answer_party(
    deps: Deps,
    request: pb.ScreenPartyRequest,
    index: LoadedIndex,
    errors: Violations,
    context: grpc.aio.ServicerContext | None = None,
) -> pb.ScreenPartyResponse:
    """Screen one party, not settled; on bad input fills `errors` and returns an empty
    response."""
    check = check_party(deps, request, index, errors)
    if check is None:
        return pb.ScreenPartyResponse()
    return await _screen_checked(deps, request, index, check, deps.ages.view(index), context)


def answer_party_now(
    deps: Deps, request: pb.ScreenPartyRequest, index: LoadedIndex, errors: Violations
) -> pb.ScreenPartyResponse:
    """answer_party for a background job (no caller): matched here and now, within the CPU
    allowance of one call."""
    check = check_party(deps, request, index, errors)
    if check is None:
        return pb.ScreenPartyResponse()
    results = deps.workload.run_now(lambda: _match(deps, index, check))
    return _answer(deps, request, index, check, deps.ages.view(index), results)


def check_party(
    deps: Deps, request: pb.ScreenPartyRequest, index: LoadedIndex, errors: Violations
) -> PartyCheck | None:
    """Validate a ScreenParty request; on bad input fill `errors` and return None."""
    if not request.HasField("party"):
        errors.add("party", "is required")
        return None
    limits = deps.limits
    query = party_to_query(request.party, "party", errors, limits)
    min_score = check_min_score(request, deps.alert_threshold, errors)
    sources = check_sources(list(request.sources), set(index.matcher.sources), errors, limits)
    check_text(request.client_ref, "client_ref", errors, limit=limits.max_ref_length)
    if not 0 <= request.max_results <= 100:
        errors.add("max_results", "must be between 0 and 100")
    if errors:
        return None
    limit = request.max_results or deps.max_results
    return PartyCheck(query, min_score, sorted(set(sources)), limit)


async def _screen_checked(
    deps: Deps,
    request: pb.ScreenPartyRequest,
    index: LoadedIndex,
    check: PartyCheck,
    ages: DataAges,
    context: grpc.aio.ServicerContext | None,
) -> pb.ScreenPartyResponse:
    results = await deps.workload.run(lambda: _match(deps, index, check), check.characters, context)
    return _answer(deps, request, index, check, ages, results)


def _match(deps: Deps, index: LoadedIndex, check: PartyCheck) -> list[MatchResult]:
    """Screen down to the evidence floor: a min_score above the review threshold lists
    fewer matches, but the decision is taken on the same evidence (settling decides on it
    and drops what min_score does not list). The matcher's part: it touches only the index
    (api/workload.py may run it off the event loop)."""
    floor = deps.thresholds.evidence_floor(check.min_score)
    results = index.matcher.screen(
        check.query,
        min_score=floor,
        sources=check.sources,
        limit=check.limit if floor >= check.min_score else 0,
    )
    stages.mark("score")
    return evidence_and_listed(
        results, min_score=check.min_score, limit=check.limit, thresholds=deps.thresholds
    )


def _answer(
    deps: Deps,
    request: pb.ScreenPartyRequest,
    index: LoadedIndex,
    check: PartyCheck,
    ages: DataAges,
    results: list[MatchResult],
) -> pb.ScreenPartyResponse:
    decision, risk_score = decide_party([r.score for r in results], deps.thresholds)
    stages.mark("decide")
    response = pb.ScreenPartyResponse(
        screening_id=new_screening_id(),
        decision=convert.DECISION_PB[decision],
        risk_score=risk_score,
        matches=[convert.match_pb(r) for r in results],
        data_version=index.version,
        screened_at=convert.now_timestamp(),
        client_ref=request.client_ref,
        min_score=check.min_score,
        data_age=deps.ages.message(ages, check.sources),
    )
    stages.mark("encode")
    return response


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


async def compare_parties(
    deps: Deps, request: pb.ComparePartiesRequest, context: grpc.aio.ServicerContext
) -> pb.ComparePartiesResponse:
    index = deps.index()
    errors = Violations()
    for side in ("left", "right"):
        if not request.HasField(side):
            errors.add(side, "is required")
    if errors:
        raise Invalid(errors.items)
    left = party_to_query(request.left, "left", errors, deps.limits)
    right = party_to_query(request.right, "right", errors, deps.limits)
    pairs = len(left.names) * len(right.names)
    if pairs > deps.limits.max_compare_pairs:
        errors.add(
            "right.aliases",
            f"{len(left.names)} names against {len(right.names)} make {pairs} pairs to "
            f"compare, more than the {deps.limits.max_compare_pairs} allowed",
        )
    if errors:
        raise Invalid(errors.items)
    score, components = await deps.workload.run(
        lambda: index.matcher.compare(left, right),
        sum(len(n) for n in left.names) + sum(len(n) for n in right.names),
        context,
    )
    threshold = deps.alert_threshold
    return pb.ComparePartiesResponse(
        score=score,
        is_match=score >= threshold,
        explanation=[convert.component_pb(c) for c in components],
        threshold=threshold,
    )
