"""Settling a party's answer (casework/settle.py) and the audit record it makes
(casework/audit/records.py), from domain values alone."""

from __future__ import annotations

from screening.casework.audit.records import Call, PartyAnswer, Scored, party_record
from screening.casework.settle import AUDIT_REFUSAL, Casework
from screening.risk.party import Decision, PartyThresholds


def answer(**changes: object) -> PartyAnswer:
    fields: dict[str, object] = {
        "screening_id": "id-1",
        "data_version": "v-1",
        "decision": Decision.BLOCK,
        "risk_score": 97,
        "matches": [Scored("ofac-sdn:1", 0.97123), Scored("un:2", 0.8)],
    }
    fields.update(changes)
    return PartyAnswer(**fields)  # type: ignore[arg-type]


def test_the_policy_version_names_the_thresholds():
    work = Casework(PartyThresholds(review=0.8, block=0.95))
    assert work.policy_version == "party-thresholds:review=0.8,block=0.95"


def test_a_worker_without_an_audit_trail_never_refuses():
    work = Casework(PartyThresholds(review=0.8, block=0.95))
    assert not work.refusing
    work.check_recording()
    assert AUDIT_REFUSAL.startswith("audit trail unavailable")


def test_a_party_record_carries_the_answer_and_its_acceptances():
    call = Call(kind="batch_item", client="c", request_sha256="ab" * 32, batch_index=3)
    record = party_record(
        call, answer(accepted={"un:2": "acc-1"}), policy_version="party-thresholds:x"
    )
    assert (record.kind, record.decision, record.risk_score) == ("batch_item", "BLOCK", 97)
    assert [(m.entity_id, m.score, m.accepted, m.acceptance_id) for m in record.matches] == [
        ("ofac-sdn:1", 0.9712, False, ""),
        ("un:2", 0.8, True, "acc-1"),
    ]
    assert record.batch_index == 3 and record.request is None
