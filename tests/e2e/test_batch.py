"""ScreenParties (bidirectional batch stream) over real gRPC on every shared list."""

from __future__ import annotations

import queue
import threading

import grpc
import pytest

from screening.v1 import screening_pb2 as pb

AURUS = "ofac-sdn:47956"


def item(name: str, ref: str, **party: object) -> pb.ScreenPartiesRequest:
    return pb.ScreenPartiesRequest(
        request=pb.ScreenPartyRequest(party=pb.Party(name=name, **party), client_ref=ref)
    )


def test_answers_in_request_order_with_index(stub):
    names = ["Rebecca Grethe Schou", "LIMITED LIABILITY COMPANY AURUS", "Brandt GmbH"] * 20
    requests = [item(name, f"ref-{i}") for i, name in enumerate(names)]
    replies = list(stub.ScreenParties(iter(requests), timeout=60))
    assert [r.index for r in replies] == list(range(len(requests)))
    assert [r.response.client_ref for r in replies] == [f"ref-{i}" for i in range(len(names))]
    for reply, name in zip(replies, names, strict=True):
        assert reply.WhichOneof("result") == "response"
        if name.startswith("LIMITED"):
            assert reply.response.decision == pb.DECISION_BLOCK
            assert reply.response.matches[0].entity_id == AURUS
            assert reply.response.matches[0].designation_date == "2024-02-23"
        else:
            assert reply.response.decision == pb.DECISION_CLEAR


def test_bad_item_gets_its_own_error_and_the_stream_goes_on(stub):
    requests = [
        item("LIMITED LIABILITY COMPANY AURUS", "a"),
        item("", "b"),  # no name
        pb.ScreenPartiesRequest(),  # no request at all
        item("Someone", "c", birth_date="1965-13-40", country="XX"),
        pb.ScreenPartiesRequest(
            request=pb.ScreenPartyRequest(party=pb.Party(name="Someone"), min_score=2.0)
        ),
        item("LIMITED LIABILITY COMPANY AURUS", "d"),
    ]
    replies = list(stub.ScreenParties(iter(requests), timeout=30))
    assert [r.index for r in replies] == [0, 1, 2, 3, 4, 5]
    kinds = [r.WhichOneof("result") for r in replies]
    assert kinds == ["response", "error", "error", "error", "error", "response"]
    errors = {r.index: r.error for r in replies if r.HasField("error")}
    assert all(e.code == grpc.StatusCode.INVALID_ARGUMENT.value[0] for e in errors.values())
    assert [v.field for v in errors[1].field_violations] == ["request.party.name"]
    assert [v.field for v in errors[2].field_violations] == ["request"]
    assert {v.field for v in errors[3].field_violations} == {
        "request.party.birth_date",
        "request.party.country",
    }
    assert [v.field for v in errors[4].field_violations] == ["request.min_score"]
    assert "request.party.name" in errors[1].message
    assert replies[5].response.matches[0].entity_id == AURUS


def test_answers_flow_while_the_request_stream_is_open(stub):
    """Lock-step: the client sends the next item only after the answer to the previous one.
    A server that read the whole stream before answering would never answer."""
    answered: queue.Queue[int] = queue.Queue()
    total = 25

    def requests():
        for i in range(total):
            yield item("LIMITED LIABILITY COMPANY AURUS" if i % 5 == 0 else f"Person {i}", str(i))
            assert answered.get(timeout=10) == i

    seen = []
    for reply in stub.ScreenParties(requests(), timeout=60):
        seen.append(reply.index)
        answered.put(reply.index)
    assert seen == list(range(total))


def test_cancelled_stream_leaves_the_service_serving(stub):
    stop = threading.Event()

    def endless():
        i = 0
        while not stop.is_set():
            yield item(f"Person {i}", str(i))
            i += 1

    call = stub.ScreenParties(endless(), timeout=60)
    got = [next(call).index for _ in range(10)]
    call.cancel()
    stop.set()
    assert got == list(range(10))
    with pytest.raises(grpc.RpcError) as err:
        next(call)
    assert err.value.code() == grpc.StatusCode.CANCELLED
    reply = stub.ScreenParty(
        pb.ScreenPartyRequest(party=pb.Party(name="LIMITED LIABILITY COMPANY AURUS")), timeout=10
    )
    assert reply.matches[0].entity_id == AURUS
