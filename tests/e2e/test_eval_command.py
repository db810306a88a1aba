"""`screening eval` end to end: every dev case over gRPC against the service with every
shared list loaded; the figures it prints and writes must meet the match-quality targets."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from screening.harness.eval_report import FLOORS, TARGETS
from tests.conftest import EVAL_DIR, Service


def test_eval_command_meets_the_quality_targets(
    service: Service, lists_dir: Path, tmp_path: Path
) -> None:
    out = tmp_path / "eval.json"
    run = subprocess.run(
        [
            sys.executable,
            "-m",
            "screening.cli",
            "eval",
            str(EVAL_DIR),
            "--target",
            service.target,
            "--json",
            str(out),
            # The candidate-stage loss against a brute-force scan, on a small sample (a
            # brute-force query scores every listed name: seconds each).
            "--lists-dir",
            str(lists_dir),
            "--loss-sample",
            "2",
        ],
        capture_output=True,
        text=True,
        timeout=600,
    )
    # Exit 0: no call failed for another reason than the service refusing a case's data.
    assert run.returncode == 0, run.stdout + run.stderr
    summary = json.loads(out.read_text())
    for row in ("un_positives/clean", "un_positives/perturbed", "name_pairs", "neg-us", "org-pos"):
        for half in ("tuning", "checking", "all"):
            assert summary[row][half]["cases"] > 0, (row, half)
        assert summary[row]["all"]["errors"] == 0, row
    checked = 0
    for label, row_key, half, figure, op, target in TARGETS:
        if row_key.startswith("gen-"):
            continue  # generated sets: `screening eval-data`, not part of the dev directory
        value = summary[row_key][half][figure]
        # A target not reached yet holds at the level reached (FLOORS), never below.
        target = FLOORS.get(label, target)
        assert (value >= target) if op == ">=" else (value <= target), (label, value, target)
        checked += 1
    assert checked >= 5
    # The printed report puts each figure beside its target, and the halves side by side.
    assert "against the targets" in run.stdout
    unmet = [line for line in run.stdout.splitlines() if line.endswith("NOT MET")]
    assert all(any(label in line for label in FLOORS) for line in unmet), unmet
    assert "tuning" in run.stdout and "checking" in run.stdout
    loss = summary["candidate stage loss (vs brute force)"]
    assert loss["queries"] == 2 and loss["lost_by_candidate_stage"] == 0, loss
    assert "candidate stage loss" in run.stdout
    # Latency percentiles per set; precision per score band of the judged pairs.
    assert summary["un_positives"]["all"]["p99_ms"] > 0
    bands = summary["name_pairs"]["all"]["bands"]
    assert sum(b["pairs"] for b in bands) == summary["name_pairs"]["all"]["cases"]
