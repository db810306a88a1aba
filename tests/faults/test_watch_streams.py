"""Hundreds of open WatchAlerts streams (issue 25, failure 10): each used to hold a blocking
XREAD on the worker's shared Redis client, so a few hundred of them took its connections:
RevokeAcceptance failed with UNAVAILABLE and audit shipping stopped while they stayed open.

Now one reader per worker, on a connection of its own, follows the alert stream and hands
each alert to every open stream; streams that resume from an earlier alert catch up with
short reads on a small bounded pool. Streams are limited per worker and per client
(RESOURCE_EXHAUSTED past the limit). With 300 streams open on one worker, screenings are
answered and recorded, acceptances are made and revoked, and an alert reaches every stream.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import time

import grpc
import msgspec
from google.protobuf.timestamp_pb2 import Timestamp

from screening.casework.monitoring import Alert
from screening.v1 import screening_pb2 as pb
from screening.v1 import screening_pb2_grpc as pb_grpc
from tests.faults.load import audit_ids_when_shipped, start_fault_service

PREFIX = "fault-watch"
STREAMS = 300
CHANNELS = 10
LISTED = "Usama bin Laden"


def _alert(stub_match: pb.Match) -> bytes:
    return msgspec.json.encode(
        Alert(
            monitor_id="fault-watch-monitor",
            party=pb.Party(name=LISTED).SerializeToString().hex(),
            match=stub_match.SerializeToString().hex(),
            entity_id=stub_match.entity_id,
            data_version="v-test",
            previous_version="v-before",
            raised_at=dt.datetime.now(dt.UTC).isoformat(),
        )
    )


async def test_hundreds_of_watch_streams_leave_redis_to_the_rest(
    redis_server, lists_dir, tmp_path, fault_report
):
    service = start_fault_service(
        redis_server.url,
        PREFIX,
        lists_dir,
        tmp_path,
        env={
            "SCREENING_WATCH_MAX_STREAMS": str(STREAMS + 50),
            "SCREENING_WATCH_MAX_STREAMS_PER_CLIENT": str(STREAMS),
        },
    )
    client = redis_server.client()
    channels = [grpc.aio.insecure_channel(service.target) for _ in range(CHANNELS + 1)]
    stubs = [pb_grpc.ScreeningServiceStub(c) for c in channels]
    calls: list[grpc.aio.UnaryStreamCall] = []
    received: list[int] = [0] * STREAMS
    readers: list[asyncio.Task[None]] = []
    everyone_alerted = asyncio.Event()
    try:
        for n in range(STREAMS):
            call = stubs[n % CHANNELS].WatchAlerts(pb.WatchAlertsRequest())
            calls.append(call)

            async def read(call: grpc.aio.UnaryStreamCall = call, n: int = n) -> None:
                async for _ in call:
                    received[n] += 1
                    if min(received):
                        everyone_alerted.set()

            readers.append(asyncio.create_task(read()))
        await asyncio.sleep(3)  # every stream open and waiting
        assert not any(r.done() for r in readers), [r.exception() for r in readers if r.done()]
        stub = stubs[-1]
        # Screenings, acceptances and their revocation, all needing Redis, go on.
        answered, failures, timings = [], 0, []
        for _ in range(20):
            started = time.monotonic()
            try:
                reply = await stub.ScreenParty(
                    pb.ScreenPartyRequest(party=pb.Party(name=LISTED)), timeout=5
                )
                answered.append(reply.screening_id)
                match = reply.matches[0]
                expires = Timestamp()
                expires.FromDatetime(dt.datetime.now(dt.UTC) + dt.timedelta(days=30))
                accepted = await stub.AcceptMatch(
                    pb.AcceptMatchRequest(
                        party=pb.Party(name=LISTED),
                        entity_id=match.entity_id,
                        analyst="fault test",
                        reason="not the listed person",
                        expires_at=expires,
                    ),
                    timeout=5,
                )
                await stub.RevokeAcceptance(
                    pb.RevokeAcceptanceRequest(
                        acceptance_id=accepted.acceptance.acceptance_id,
                        analyst="fault test",
                        reason="cleared by mistake",
                    ),
                    timeout=5,
                )
            except grpc.aio.AioRpcError as exc:
                failures += 1
                print("failed:", exc.code(), exc.details())
            timings.append(time.monotonic() - started)
        recorded = audit_ids_when_shipped(client, PREFIX, answered, timeout=30)
        # An alert reaches every open stream.
        client.xadd("{" + PREFIX + "}:alerts", {"a": _alert(match)})
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(everyone_alerted.wait(), timeout=20)
        # Past the per-client limit: refused at once.
        extra = stub.WatchAlerts(pb.WatchAlertsRequest())
        try:
            await asyncio.wait_for(extra.read(), timeout=10)
            refused = "opened"
        except grpc.aio.AioRpcError as exc:
            refused = exc.code().name
        except TimeoutError:
            refused = "opened"
            extra.cancel()
        fault_report(
            open_streams=STREAMS,
            screenings=len(answered),
            screen_accept_revoke_failures=failures,
            slowest_round_seconds=round(max(timings), 3),
            audit_records=len(set(recorded) & set(answered)),
            streams_that_got_the_alert=sum(1 for r in received if r),
            stream_past_the_client_limit=refused,
        )
        assert failures == 0
        assert set(answered) <= set(recorded), "audit shipping stalled"
        assert min(received) == 1, f"{received.count(0)} streams missed the alert"
        assert not any(r.done() for r in readers)
        assert refused == "RESOURCE_EXHAUSTED"
    finally:
        for call in calls:
            call.cancel()
        for reader in readers:
            reader.cancel()
        await asyncio.gather(*readers, return_exceptions=True)
        for channel in channels:
            await channel.close()
        service.stop()
