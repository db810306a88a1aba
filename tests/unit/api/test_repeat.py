"""Exact repeats (api/repeat.py, api/recording.py): the serialized answer and the audit line
a repeat writes are those the full path gives for the same call."""

from __future__ import annotations

from pathlib import Path

import pytest

from screening.api.recording import RepeatRecord, party_record
from screening.api.repeat import KnownAnswer
from screening.casework.audit.journal import Journal
from screening.casework.audit.records import RECORD_DECODER
from screening.v1 import screening_pb2 as pb


def answer() -> pb.ScreenPartyResponse:
    response = pb.ScreenPartyResponse(
        decision=pb.DECISION_BLOCK, risk_score=97, data_version="v-1", min_score=0.8
    )
    for entity_id, source, score in (("ofac-sdn:1", "ofac-sdn", 0.9712), ("un:2", "un", 0.8)):
        match = response.matches.add()
        match.entity_id, match.source, match.score, match.name = entity_id, source, score, "X"
    return response


def request(client_ref: str = "") -> pb.ScreenPartyRequest:
    return pb.ScreenPartyRequest(
        party=pb.Party(name='Aurus "Shipping" Ltd', country="AE"), client_ref=client_ref
    )


@pytest.mark.parametrize("client_ref", ["", "order-7 \u00e9"])
@pytest.mark.parametrize("peer", ["", "ipv4:127.0.0.1:5555"])
def test_repeat_writes_the_record_the_full_path_writes(tmp_path: Path, client_ref, peer):
    journal = Journal(
        tmp_path, max_unshipped_bytes=1 << 20, retain_seconds=60, retain_bytes=1 << 20
    )
    journal.open()
    try:
        # The template is made from the first request; the repeat may carry another reference.
        template = RepeatRecord.of(request("first"), answer(), policy_version="p-1")
        repeated = request(client_ref)
        response = answer()
        response.screening_id = "0190abcdef0123456789abcdef012345"
        journal.append_encoded(
            template.rest(repeated, screening_id=response.screening_id, client='cn:a"b', peer=peer)
        )
        journal.append(
            party_record(
                repeated,
                response,
                kind="party",
                client='cn:a"b',
                peer=peer,
                policy_version="p-1",
                include_request=False,
            )
        )
        lines = journal.own.segments[-1].path.read_bytes().splitlines()
    finally:
        journal.close()
    fast, full = (RECORD_DECODER.decode(line) for line in lines)
    assert (fast.seq, full.seq) == (1, 2)
    assert fast.request_sha256 == full.request_sha256  # the digest covers the reference
    fast.seq, fast.time = full.seq, full.time
    assert fast == full
    # Byte for byte, but for seq and time: the same encoder's field order.
    assert (
        lines[0].replace(b'"seq":1', b'"seq":2').split(b'"time":')[0]
        == lines[1].split(b'"time":')[0]
    )
    assert lines[0].split(b'","client"', 1)[1] == lines[1].split(b'","client"', 1)[1]


def test_repeat_answer_is_the_answer_with_this_calls_fields():
    kept = answer()
    known = KnownAnswer.of(kept.SerializeToString(), kept, None)
    assert known.decision_name == "block"
    assert known.match_labels == (("ofac-sdn", pytest.approx(0.9712)), ("un", pytest.approx(0.8)))
    assert known.entity_ids == {"ofac-sdn:1", "un:2"}
    again = pb.ScreenPartyResponse.FromString(known.again("abc123", "ref-9"))
    assert again.screening_id == "abc123" and again.client_ref == "ref-9"
    assert again.screened_at.seconds > 1_700_000_000
    again.ClearField("screening_id")
    again.ClearField("client_ref")
    again.ClearField("screened_at")
    assert again == kept
