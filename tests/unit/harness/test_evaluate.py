"""The evaluation harness's bookkeeping: halves, rows, score bands (pure logic)."""

from __future__ import annotations

import json

from screening.harness.eval_report import SetStats, bands, summarize
from screening.harness.evaluate import (
    CHECKING,
    TUNING,
    case_kind,
    half_of,
    set_keys,
)
from tests.conftest import EVAL_DIR


def test_half_is_stable_and_shared_by_a_group():
    a = {"id": "un-7-clean", "group_key": "un-7"}
    b = {"id": "un-7-perturbed", "group_key": "un-7"}
    assert half_of(a) == half_of(b) == half_of(dict(a))
    assert half_of({"id": "x"}) in (TUNING, CHECKING)


def test_every_dev_file_splits_into_two_real_halves():
    """The dev files were drawn by a plain hash of the id: the salted hash must still split
    each of them about evenly."""
    for path in sorted(EVAL_DIR.glob("*.jsonl")):
        cases = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
        tuning = sum(half_of(c) == TUNING for c in cases)
        assert 0.35 < tuning / len(cases) < 0.65, (path.name, tuning, len(cases))


def test_rows_and_kinds():
    case = {"id": "o1", "set": "org-pos", "variant": "typo", "query": {}, "expect": {"hit": True}}
    assert set_keys(case) == ["org-pos", "org-pos/typo"]
    assert case_kind(case) == "positives"
    assert case_kind({"query": {}, "expect": {"hit": False}}) == "negatives"
    assert case_kind({"left": {}, "right": {}, "expect": {"match": True}}) == "pairs"
    assert case_kind({"left": {}, "right": {}, "expect": {"ofac_score": 90}}) == "calibration"


def test_bands_count_each_pair_once_and_give_precision():
    scored = [(1.0, True), (0.97, False), (0.92, True), (0.85, True), (0.85, False), (0.1, False)]
    out = {b["band"]: b for b in bands(scored)}
    assert sum(b["pairs"] for b in out.values()) == len(scored)
    assert out["0.95-1.00"] == {"band": "0.95-1.00", "pairs": 2, "precision": 0.5}
    assert out["0.80-0.90"]["precision"] == 0.5
    assert out["0.00-0.50"]["pairs"] == 1


def test_summary_has_both_halves_and_all():
    tuning = SetStats(kind="negatives", cases=10, passed=9)
    checking = SetStats(kind="negatives", cases=10, passed=10)
    summary = summarize({"neg-x": {TUNING: tuning, CHECKING: checking}})
    row = summary["neg-x"]
    assert row[TUNING]["false_positive_rate"] == 0.1
    assert row[CHECKING]["false_positive_rate"] == 0.0
    assert row["all"]["false_alerts"] == 1 and row["all"]["cases"] == 20
    assert summary["innocent people (dev)"]["all"]["false_alerts"] == 1
