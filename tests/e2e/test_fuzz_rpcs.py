"""Property-based fuzzing of every RPC's request fields over real gRPC (hypothesis).

Requests are built field by field from the proto descriptors: any subset of fields set, texts
of any Unicode (control characters, very long ones), out-of-range numbers, NaN, unknown enum
values, long repeated fields, plus values that look right (countries, HS codes, entity ids).
The only answers allowed are OK and INVALID_ARGUMENT (with a BadRequest naming the fields),
and NOT_FOUND / FAILED_PRECONDITION where an id may not exist; never INTERNAL, UNKNOWN or a
dead worker."""

from __future__ import annotations

from typing import Any

import grpc
import pytest
from google.protobuf import message_factory
from google.protobuf.descriptor import Descriptor, FieldDescriptor
from google.protobuf.message import Message
from google.rpc import error_details_pb2
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_status import rpc_status
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from screening.v1 import screening_pb2 as pb

LIKELY_STRINGS = [
    "",
    " ",
    "RU",
    "ir",
    "XX",
    "un",
    "ofac-sdn",
    "un:QDi.421",
    "ofac-sdn:47956",
    "1965",
    "1965-04-17",
    "1965-13-45",
    "854231",
    "8542.31.00",
    "IMO 9187667",
    "imo",
    "tax_id",
    "USD",
    "EUR",
    "RULED",
    "0",
    "1718000000000-0",
    "LIMITED LIABILITY COMPANY AURUS",
    "Usama bin Laden",
    "a\x00b",
    "\u202e\u200b",
    "x" * 600,
]
RPCS: dict[str, tuple[Any, frozenset[grpc.StatusCode]]] = {
    "ScreenParty": (pb.ScreenPartyRequest, frozenset()),
    "ScreenShipment": (pb.ScreenShipmentRequest, frozenset()),
    "CompareParties": (pb.ComparePartiesRequest, frozenset()),
    "GetEntity": (pb.GetEntityRequest, frozenset({grpc.StatusCode.NOT_FOUND})),
    "GetDataStatus": (pb.GetDataStatusRequest, frozenset()),
    "ListChanges": (pb.ListChangesRequest, frozenset()),
    "AcceptMatch": (pb.AcceptMatchRequest, frozenset({grpc.StatusCode.NOT_FOUND})),
    "RevokeAcceptance": (
        pb.RevokeAcceptanceRequest,
        frozenset({grpc.StatusCode.NOT_FOUND, grpc.StatusCode.FAILED_PRECONDITION}),
    ),
    "ListAcceptances": (pb.ListAcceptancesRequest, frozenset()),
    "MonitorParty": (pb.MonitorPartyRequest, frozenset()),
    "StopMonitoring": (pb.StopMonitoringRequest, frozenset({grpc.StatusCode.NOT_FOUND})),
    "ListMonitoredParties": (pb.ListMonitoredPartiesRequest, frozenset()),
}
STREAMS = ("ScreenParties", "WatchAlerts")
ALL_RPCS = set(pb.DESCRIPTOR.services_by_name["ScreeningService"].methods_by_name)


def _scalar(field: FieldDescriptor) -> st.SearchStrategy[Any]:
    kind = field.type
    if kind == FieldDescriptor.TYPE_STRING:
        return st.one_of(
            st.sampled_from(LIKELY_STRINGS), st.text(max_size=40), st.text(min_size=500)
        )
    if kind == FieldDescriptor.TYPE_DOUBLE:
        return st.one_of(st.floats(), st.floats(min_value=0, max_value=1))
    if kind in (FieldDescriptor.TYPE_INT32, FieldDescriptor.TYPE_ENUM):
        return st.one_of(st.integers(-3, 12), st.integers(-(2**31), 2**31 - 1))
    if kind == FieldDescriptor.TYPE_INT64:
        return st.integers(-(2**63), 2**63 - 1)
    if kind == FieldDescriptor.TYPE_BOOL:
        return st.booleans()
    raise AssertionError(f"no strategy for {field.full_name}")


@st.composite
def messages(draw: st.DrawFn, descriptor: Descriptor, depth: int = 0) -> Message:
    cls = message_factory.GetMessageClass(descriptor)
    message = cls()
    for field in descriptor.fields:
        if not draw(st.booleans()):
            continue
        if field.type == FieldDescriptor.TYPE_MESSAGE:
            if depth >= 3:
                continue
            if field.message_type.GetOptions().map_entry:
                continue  # no request carries a map
            count = draw(st.sampled_from([1, 1, 2, 3, 60])) if field.is_repeated else 1
            for _ in range(count):
                value = draw(messages(field.message_type, depth + 1))
                if field.is_repeated:
                    getattr(message, field.name).add().CopyFrom(value)
                else:
                    getattr(message, field.name).CopyFrom(value)
            continue
        if field.is_repeated:
            getattr(message, field.name).extend(
                draw(st.lists(_scalar(field), max_size=draw(st.sampled_from([3, 3, 60]))))
            )
        else:
            setattr(message, field.name, draw(_scalar(field)))
    return message


FUZZ = settings(
    max_examples=40,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


def _check(method: str, exc: grpc.RpcError, allowed: frozenset[grpc.StatusCode]) -> None:
    code = exc.code()
    if code == grpc.StatusCode.INVALID_ARGUMENT:
        status = rpc_status.from_call(exc)  # type: ignore[arg-type]
        assert status is not None, f"{method}: INVALID_ARGUMENT without details"
        bad = error_details_pb2.BadRequest()
        assert status.details and status.details[0].Unpack(bad)
        assert bad.field_violations and all(v.field for v in bad.field_violations)
        return
    assert code in allowed, f"{method}: {code} {exc.details()}"


def test_every_rpc_is_fuzzed():
    assert set(RPCS) | set(STREAMS) == ALL_RPCS


@pytest.mark.parametrize("method", sorted(RPCS))
@FUZZ
@given(data=st.data())
def test_unary_rpcs_answer_ok_or_invalid_argument(stub, method, data):  # type: ignore[no-untyped-def]
    request_type, allowed = RPCS[method]
    request = data.draw(messages(request_type.DESCRIPTOR))
    try:
        getattr(stub, method)(request, timeout=30)
    except grpc.RpcError as exc:
        _check(method, exc, allowed)


@FUZZ
@given(items=st.lists(messages(pb.ScreenPartiesRequest.DESCRIPTOR), min_size=1, max_size=4))
def test_batch_stream_answers_every_item(stub, items):  # type: ignore[no-untyped-def]
    replies = list(stub.ScreenParties(iter(items), timeout=30))
    assert [r.index for r in replies] == list(range(len(items)))
    for reply in replies:
        if reply.HasField("error"):
            assert reply.error.code == 3 and reply.error.field_violations, reply.error


@settings(max_examples=15, deadline=None, database=None)
@given(request=messages(pb.WatchAlertsRequest.DESCRIPTOR))
def test_watch_alerts_opens_or_refuses(stub, request):  # type: ignore[no-untyped-def]
    try:
        for _ in stub.WatchAlerts(request, timeout=0.3):
            pass
    except grpc.RpcError as exc:
        _check("WatchAlerts", exc, frozenset({grpc.StatusCode.DEADLINE_EXCEEDED}))


def test_service_survived_the_fuzzing(service, channel):
    health = health_pb2_grpc.HealthStub(channel)
    assert health.Check(health_pb2.HealthCheckRequest(), timeout=5).status == 1
    assert service.proc.poll() is None
    assert "worker died" not in service.logs()


def test_many_long_bad_values_still_come_back_as_invalid_argument(stub):
    """Found by the fuzzing: error details travel in trailing metadata, which clients cap;
    an oversized BadRequest turned INVALID_ARGUMENT into RESOURCE_EXHAUSTED."""
    long_bad = "界" * 400 + "\x00"
    party = pb.Party(
        name=long_bad,
        aliases=[long_bad] * 50,
        country=long_bad,
        identifiers=[pb.Identifier(type=long_bad, value=long_bad, country=long_bad)] * 50,
    )
    for call in (
        lambda: stub.ScreenParty(pb.ScreenPartyRequest(party=party), timeout=30),
        lambda: stub.ScreenShipment(
            pb.ScreenShipmentRequest(parties=[party] * 5, goods=[pb.GoodsItem()] * 200),
            timeout=30,
        ),
    ):
        try:
            call()
        except grpc.RpcError as exc:
            _check("long", exc, frozenset())
        else:
            raise AssertionError("accepted an invalid request")


def test_a_message_over_the_size_limit_is_invalid_argument_naming_request(stub):
    """Over SCREENING_MAX_MESSAGE_BYTES (4 MiB here): INVALID_ARGUMENT naming `request`, for
    a unary call and for one item of a ScreenParties stream (the stream goes on); only past
    four times the limit does gRPC itself refuse, with RESOURCE_EXHAUSTED."""
    big = "x" * 1000
    party = pb.Party(name="Big Request", aliases=[big] * 1200)  # about 1.2 MB
    over = pb.ScreenShipmentRequest(parties=[party] * 4)  # about 4.8 MB
    assert 4 * 1024 * 1024 < over.ByteSize() < 16 * 1024 * 1024
    with pytest.raises(grpc.RpcError) as refused:
        stub.ScreenShipment(over, timeout=30)
    assert refused.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    _check("ScreenShipment", refused.value, frozenset())
    bad = error_details_pb2.BadRequest()
    rpc_status.from_call(refused.value).details[0].Unpack(bad)  # type: ignore[arg-type, union-attr]
    assert [v.field for v in bad.field_violations] == ["request"]
    assert "larger than the 4194304 allowed" in bad.field_violations[0].description

    huge_party = pb.Party(name="Big Request", aliases=[big] * 4500)  # about 4.5 MB
    items = [
        pb.ScreenPartiesRequest(request=pb.ScreenPartyRequest(party=pb.Party(name="Ann Smith"))),
        pb.ScreenPartiesRequest(request=pb.ScreenPartyRequest(party=huge_party)),
        pb.ScreenPartiesRequest(request=pb.ScreenPartyRequest(party=pb.Party(name="Bo Lee"))),
    ]
    answers = list(stub.ScreenParties(iter(items), timeout=60))
    assert [a.index for a in answers] == [0, 1, 2]
    assert answers[0].HasField("response") and answers[2].HasField("response")
    assert answers[1].error.field_violations[0].field == "request"

    past = pb.ScreenShipmentRequest(parties=[party] * 14)  # about 17 MB: past 4 x 4 MiB
    with pytest.raises(grpc.RpcError) as transport:
        stub.ScreenShipment(past, timeout=30)
    assert transport.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
