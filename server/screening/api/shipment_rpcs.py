"""ScreenShipment: the request parsed as a whole (api/shipment_request.py), screened and
settled by casework (casework/screen.py), and answered with one decision and every finding."""

from __future__ import annotations

import grpc

from screening.api import convert, recording
from screening.api.deps import Deps
from screening.api.shipment_request import parse_shipment
from screening.casework.screen import match_shipment
from screening.casework.screen import screen_shipment as screen
from screening.observability.metrics import record_screening
from screening.v1 import screening_pb2 as pb


async def screen_shipment(
    deps: Deps, request: pb.ScreenShipmentRequest, context: grpc.aio.ServicerContext
) -> pb.ScreenShipmentResponse:
    index = deps.index()
    work = deps.casework
    work.check_recording()
    parsed = parse_shipment(request, deps.policies.current(), deps.limits, deps.alert_threshold)
    screened = await deps.workload.run(
        lambda: match_shipment(index, parsed, limit=deps.max_results),
        sum(len(n) for query in parsed.queries for n in query.names),
        context,
    )
    answer = screen(
        work,
        index,
        parsed,
        limit=deps.max_results,
        call=lambda: recording.call_of(
            request, context, kind="shipment", include_request=work.include_request
        ),
        screened=screened,
    )
    response = convert.shipment_response_pb(request, answer)
    response.data_age.CopyFrom(deps.ages.message(deps.ages.view(index)))
    record_screening(
        "shipment",
        convert.DECISION_NAME.get(response.decision, "unspecified"),
        [(m.source, m.score) for party in response.party_results for m in party.matches],
    )
    return response
