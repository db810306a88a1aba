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
from typing import Protocol

import grpc
from google.rpc import code_pb2

from screening.api.errors import bounded
from screening.api.trust import Trust
from screening.api.validation import Oversized, Violations
from screening.casework.audit.trail import AuditUnavailable
from screening.config import Settings
from screening.index.holder import IndexHolder, LoadedIndex
from screening.v1 import screening_pb2 as pb

log = logging.getLogger(__name__)

# Requests read ahead of the one being answered.
WINDOW = 32


class PartyScreener(Protocol):
    """What a batch needs of the servicer: its settings, index, trust and party screening."""

    settings: Settings
    holder: IndexHolder
    trust: Trust

    def screen_party(
        self, request: pb.ScreenPartyRequest, index: LoadedIndex, errors: Violations
    ) -> pb.ScreenPartyResponse: ...


@dataclass(frozen=True)
class _End:
    error: BaseException | None = None


def item_error(position: int, violations: Violations) -> pb.ScreenPartiesResponse:
    items = bounded(violations)
    summary = "; ".join(f"{f}: {d}" for f, d in items[:5])
    return pb.ScreenPartiesResponse(
        index=position,
        error=pb.ItemError(
            code=code_pb2.INVALID_ARGUMENT,
            message=f"invalid request: {summary}",
            field_violations=[pb.FieldViolation(field=f, description=d) for f, d in items],
        ),
    )


def answer(
    servicer: PartyScreener,
    item: pb.ScreenPartiesRequest,
    position: int,
    context: grpc.aio.ServicerContext | None = None,
) -> pb.ScreenPartiesResponse:
    errors = Violations()
    if isinstance(item, Oversized):
        return item_error(position, item.violations())
    if position >= servicer.settings.max_stream_items:
        errors.add(
            "request",
            f"stream longer than {servicer.settings.max_stream_items} items: open a new stream",
        )
        return item_error(position, errors)
    if not item.HasField("request"):
        errors.add("request", "is required")
        return item_error(position, errors)
    index = servicer.holder.current
    if index is None:
        return pb.ScreenPartiesResponse(
            index=position,
            error=pb.ItemError(code=code_pb2.UNAVAILABLE, message="no list data loaded yet"),
        )
    try:
        response = servicer.screen_party(item.request, index, errors)
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
    servicer.trust.mark_party(item.request.party, response, index)
    try:
        servicer.trust.record_party(
            item.request, response, context, kind="batch_item", batch_index=position
        )
    except AuditUnavailable as exc:
        return pb.ScreenPartiesResponse(
            index=position,
            error=pb.ItemError(code=code_pb2.UNAVAILABLE, message=f"screening not recorded: {exc}"),
        )
    return pb.ScreenPartiesResponse(index=position, response=response)


async def screen_parties(
    servicer: PartyScreener,
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
            yield answer(servicer, item, position, context)
            position += 1
    finally:
        reader.cancel()
