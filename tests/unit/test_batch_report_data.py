"""The batch report's embedded data (screening_client.batch.report): safe inside a script
element, each list entry and explanation once, designation date bases worded; and the result
records' basis for enum values this client does not know. The page itself is tested in a
browser (tests/e2e/test_batch_report.py)."""

from __future__ import annotations

import json
import re

from screening_client._proto import screening_pb2 as pb
from screening_client.batch.report import render_report
from screening_client.batch.results import designation_date_basis, party_record


def _data(html: str) -> dict:
    match = re.search(r'<script id="report-data" type="application/json">(.*?)</script>', html)
    assert match, "no embedded data"
    return dict(json.loads(match.group(1)))


def _record(row: int, name: str, *matches: pb.Match) -> dict:
    reply = pb.ScreenPartyResponse(
        decision=pb.DECISION_BLOCK if matches else pb.DECISION_CLEAR,
        risk_score=99 if matches else 0,
        matches=list(matches),
    )
    return party_record(row, {"name": name, "party_ref": f"R{row}"}, reply)


def _aurus(basis: int = pb.DESIGNATION_DATE_BASIS_FIRST_SEEN) -> pb.Match:
    match = pb.Match(
        entity_id="ofac-sdn:47956",
        source="ofac-sdn",
        name="LIMITED LIABILITY COMPANY AURUS",
        score=0.97,
        designation_date="2024-02-23",
        designation_date_basis=basis,  # type: ignore[arg-type]
    )
    match.explanation.add(feature="name", contribution=0.91234, detail="same tokens")
    return match


def test_basis_names_known_and_unknown():
    assert designation_date_basis(pb.DESIGNATION_DATE_BASIS_OFFICIAL) == "OFFICIAL"
    assert designation_date_basis(pb.DESIGNATION_DATE_BASIS_UNSPECIFIED) == "UNSPECIFIED"
    assert designation_date_basis(42) == "UNKNOWN_42"
    record = _record(1, "x", _aurus(42))
    assert record["hits"][0]["designation_date_basis"] == "UNKNOWN_42"


def test_data_cannot_close_the_script_element():
    hostile = "</script><script>alert(1)</script><!-- & \u2028"
    html = render_report([_record(1, hostile)], "t")
    assert "</script><script>alert" not in html and "<!--" not in html.split("<body>")[1]
    assert _data(html)["rows"][0]["n"] == hostile


def test_rows_in_input_order_entities_and_explanations_once():
    records = [_record(3, "c"), _record(1, "a", _aurus()), _record(2, "b", _aurus())]
    data = _data(render_report(records, "t"))
    assert [row["r"] for row in data["rows"]] == [1, 2, 3]
    assert data["rows"][2] == {"r": 3, "d": "CLEAR", "n": "c", "ref": "R3"}  # nothing empty
    assert len(data["entities"]) == 1 and len(data["explanations"]) == 1
    first, second = data["rows"][0]["h"][0], data["rows"][1]["h"][0]
    assert first == second == {"e": 0, "sc": 0.97, "x": 0}
    assert data["entities"][0]["db"] == "FIRST_SEEN"
    assert data["entities"][0]["ds"] == "first listed 2024-02-23"
    assert data["explanations"][0] == [["name", 0.912, "same tokens"]]


def test_summary_counts_by_decision_and_list_and_basis_legend():
    records = [
        _record(1, "a", _aurus()),
        _record(2, "b", _aurus(pb.DESIGNATION_DATE_BASIS_OFFICIAL)),
        _record(3, "c", _aurus(9)),
        _record(4, "d"),
    ]
    html = render_report(records, "t")
    by_decision = re.sub(r"\s+", " ", html.split('id="by-decision"')[1].split("</table>")[0])
    assert 'data-decision="BLOCK">' in by_decision and ">3</td>" in by_decision
    assert ">1</td>" in by_decision.split('data-decision="CLEAR">')[1]
    by_list = re.sub(r"\s+", " ", html.split('id="by-list"')[1].split("</table>")[0])
    assert '<td>ofac-sdn</td><td class="num">3</td><td class="num">3</td>' in by_list
    legend = html.split('id="date-bases"')[1].split("</dl>")[0]
    labels = re.findall(r"<b>([^<]*)</b>", legend)
    assert labels == ["designated", "first listed", "basis not recognised (code 9)"]
