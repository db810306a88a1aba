"""ScreenParties: a batch as a bidirectional stream.

Answers go out in request order, each with its position. A reader task pulls requests into a
bounded queue while the current one is screened, so at most WINDOW items are held at once and
a client that sends faster than we answer is slowed by HTTP/2 flow control rather than
buffered. A bad item gets its own ItemError (INVALID_ARGUMENT with the bad fields) and the
stream goes on.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass

import grpc
from google.rpc import code_pb2

from screening.api import convert
from screening.api.deps import Deps
from screening.api.error_status import bounded, status_of, summary_message
from screening.api.party_rpcs import answer_party, settle
from screening.api.validation import Oversized, Violations
from screening.model.errors import AuditUnavailable, ScreeningError
from screening.observability.metrics import record_screening
from screening.v1 import screening_pb2 as pb

log = logging.getLogger(__name__)

# Requests read ahead of the one being answered.
WINDOW = 32


@dataclass(frozen=True)
class _End:
    error: BaseException | None = None


def item_error(position: int, violations: Violations) -> pb.ScreenPartiesResponse:
    items = bounded(violations)
    return pb.ScreenPartiesResponse(
        index=position,
        error=pb.ItemError(
            code=code_pb2.INVALID_ARGUMENT,
            message=summary_message("invalid request", items, len(violations.items)),
            field_violations=[pb.FieldViolation(field=f, description=d) for f, d in items],
        ),
    )


async def answer(
    deps: Deps,
    item: pb.ScreenPartiesRequest,
    position: int,
    context: grpc.aio.ServicerContext | None = None,
) -> pb.ScreenPartiesResponse:
    errors = Violations()
    if isinstance(item, Oversized):
        return item_error(position, item.violations())
    if position >= deps.max_stream_items:
        errors.add(
            "request", f"stream longer than {deps.max_stream_items} items: open a new stream"
        )
        return item_error(position, errors)
    if not item.HasField("request"):
        errors.add("request", "is required")
        return item_error(position, errors)
    index = deps.holder.current
    if index is None:
        return pb.ScreenPartiesResponse(
            index=position,
            error=pb.ItemError(code=code_pb2.UNAVAILABLE, message="no list data loaded yet"),
        )
    try:
        response = await answer_party(deps, item.request, index, errors, context)
    except ScreeningError as exc:
        # Past its budget (RESOURCE_EXHAUSTED), the caller's deadline or cancellation: this
        # item is answered so, and the stream goes on.
        code, message = status_of(exc)
        return pb.ScreenPartiesResponse(
            index=position, error=pb.ItemError(code=code.value[0], message=message)
        )
    except Exception as exc:
        # One item failing must not end the batch. The exception's text may quote party
        # data, so only its type is logged at ERROR; the full trace at DEBUG.
        log.error("batch item failed", extra={"index": position, "error_type": type(exc).__name__})
        log.debug("batch item failure trace", exc_info=True)
        return pb.ScreenPartiesResponse(
            index=position,
            error=pb.ItemError(code=code_pb2.INTERNAL, message="internal error"),
        )
    if errors:
        prefixed = Violations([(f"request.{f}", d) for f, d in errors.items])
        return item_error(position, prefixed)
    try:
        settle(
            deps, item.request, response, index, context, kind="batch_item", batch_index=position
        )
    except AuditUnavailable as exc:
        return pb.ScreenPartiesResponse(
            index=position,
            error=pb.ItemError(code=code_pb2.UNAVAILABLE, message=f"screening not recorded: {exc}"),
        )
    return pb.ScreenPartiesResponse(index=position, response=response)


async def screen_parties(
    deps: Deps,
    requests: AsyncIterator[pb.ScreenPartiesRequest],
    context: grpc.aio.ServicerContext | None = None,
) -> AsyncIterator[pb.ScreenPartiesResponse]:
    """ScreenParties: the answers, in request order (the module docstring says how)."""
    deps.index()
    deps.casework.check_recording()
    async for response in answers(deps, requests, context):
        if response.HasField("response"):
            answer = response.response
            record_screening(
                "batch",
                convert.DECISION_NAME.get(answer.decision, "unspecified"),
                [(m.source, m.score) for m in answer.matches],
            )
        yield response


async def answers(
    deps: Deps,
    requests: AsyncIterator[pb.ScreenPartiesRequest],
    context: grpc.aio.ServicerContext | None = None,
) -> AsyncIterator[pb.ScreenPartiesResponse]:
    queue: asyncio.Queue[pb.ScreenPartiesRequest | _End] = asyncio.Queue(maxsize=WINDOW)

    async def read() -> None:
        try:
            async for item in requests:
                await queue.put(item)
        except Exception as exc:
            await queue.put(_End(exc))
        else:
            await queue.put(_End())

    reader = asyncio.create_task(read())
    try:
        position = 0
        while True:
            item = await queue.get()
            if isinstance(item, _End):
                if item.error is not None:
                    raise item.error
                return
            yield await answer(deps, item, position, context)
            position += 1
    finally:
        reader.cancel()
