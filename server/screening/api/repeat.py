"""Answers given again: what an exact repeat of a request needs, prepared with the answer.

Counterparties repeat, and a repeat of a request this worker answered on the same data gets
the same answer (api/cache.py). Parsing that answer again to count it, check it against the
accept-list and write its audit record cost more than the rest of the call, so all of it is
derived once, when the answer is kept: the answer stays serialized, and a repeat adds only
its own screening id, time and reference (protobuf fields appended to a message override
its unset ones).
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from screening.api import convert
from screening.api.recording import RepeatRecord
from screening.v1 import screening_pb2 as pb


@dataclass(frozen=True, slots=True)
class KnownAnswer:
    # The response without screening_id, screened_at and client_ref.
    payload: bytes
    decision_name: str
    # (source, score) of each match, for the metrics; the matched entity ids.
    match_labels: tuple[tuple[str, float], ...]
    entity_ids: frozenset[str]
    # None: no audit trail, or one that records whole requests (written per call).
    record: RepeatRecord | None

    @classmethod
    def of(
        cls,
        payload: bytes,
        response: pb.ScreenPartyResponse,
        record: RepeatRecord | None,
    ) -> KnownAnswer:
        return cls(
            payload=payload,
            decision_name=convert.DECISION_NAME.get(response.decision, "unspecified"),
            match_labels=tuple((m.source, m.score) for m in response.matches),
            entity_ids=frozenset(m.entity_id for m in response.matches),
            record=record,
        )

    def again(self, screening_id: str, client_ref: str) -> bytes:
        """The serialized response to a repeat: the answer, then this call's own fields."""
        own = pb.ScreenPartyResponse(screening_id=screening_id, client_ref=client_ref)
        stamp = own.screened_at
        stamp.seconds, stamp.nanos = divmod(time.time_ns(), 1_000_000_000)
        return self.payload + own.SerializeToString()
