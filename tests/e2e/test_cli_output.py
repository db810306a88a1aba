"""Every `screening` command prints a table for people and JSON with --json, ends with an
exit code a script can read, and shows progress on standard error only (forced here with
--progress, since the tests have no terminal), so --json output stays JSON."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from screening.harness.console import Exit
from tests.conftest import EVAL_DIR, ROOT, RedisServer, Service, copy_lists

UN_FILES = ("un/UN_consolidated_2025-04-19.xml", "un/UN_consolidated_2026-02-27.xml")


def screening(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "screening.cli", *args],
        capture_output=True,
        text=True,
        timeout=600,
        cwd=ROOT,
        input=stdin,
    )


@pytest.fixture(scope="module")
def un_lists(lists_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return copy_lists(lists_dir, tmp_path_factory.mktemp("un"), *UN_FILES)


def test_help_documents_the_exit_codes() -> None:
    for args in ((), ("screen",), ("screen-shipment",)):
        text = screening(*args, "--help").stdout
        assert "3  REVIEW" in text and "4  BLOCK" in text and "1  error" in text, args
    assert "exit codes" in screening("ingest", "--help").stdout


def test_ingest_table_json_and_progress(un_lists: Path) -> None:
    table = screening("ingest", "--lists-dir", str(un_lists), "--log-level", "warning")
    assert table.returncode == Exit.OK, table.stderr
    lines = table.stdout.splitlines()
    assert lines[0].split() == [
        *("source", "file", "published", "entries", "took", "outcome", "dates", "/", "detail")
    ]
    live = next(line for line in lines if "UN_consolidated_2026-02-27.xml" in line)
    assert " live " in live and "official 1003" in live
    assert re.search(r" \d+(\.\d+)? (ms|s) ", live)  # the parse time, in human units
    assert "parsing" not in table.stderr  # no terminal, no bar

    shown = screening("ingest", "--lists-dir", str(un_lists), "--json", "--progress")
    assert shown.returncode == Exit.OK
    printed = json.loads(shown.stdout)  # the bar went to stderr, not into the JSON
    assert "parsing" in shown.stderr and "files" in shown.stderr
    assert printed["sources"]["un"]["entities"] == 1003
    assert [f["outcome"] for f in printed["files"]] == ["superseded", "live"]


def test_screen_exit_codes_follow_the_decision(service: Service) -> None:
    target = ("--target", service.target)
    block = screening("screen", "LIMITED LIABILITY COMPANY AURUS", "--json", *target)
    assert block.returncode == Exit.BLOCK
    assert json.loads(block.stdout)["decision"] == "DECISION_BLOCK"
    clear = screening("screen", "Hiroshi Tanaka", "--type", "person", *target)
    assert clear.returncode == Exit.OK and "CLEAR" in clear.stdout
    shipment = json.dumps(
        {
            "parties": [{"name": "Acme GmbH", "country": "DE", "role": "PARTY_ROLE_CONSIGNEE"}],
            "route": {"origin_country": "FR", "destination_country": "DE"},
        }
    )
    shipped = screening("screen-shipment", "-", "--json", *target, stdin=shipment)
    assert shipped.returncode == Exit.OK and json.loads(shipped.stdout)["decision"]
    bad = screening("screen-shipment", "-", *target, stdin="{not json")
    assert bad.returncode == Exit.USAGE and "not a ScreenShipmentRequest" in bad.stderr
    unreachable = screening("screen", "Anyone", "--target", "127.0.0.1:1")
    assert unreachable.returncode == Exit.ERROR and "UNAVAILABLE" in unreachable.stderr


def test_status_table_and_json(service: Service) -> None:
    table = screening("status", "--target", service.target)
    assert table.returncode == Exit.OK
    header = next(line for line in table.stdout.splitlines() if line.startswith("source"))
    assert header.split()[:5] == ["source", "published", "age", "max", "age"]
    assert json.loads(screening("status", "--json", "--target", service.target).stdout)["sources"]


def test_eval_json_with_progress(service: Service, tmp_path: Path) -> None:
    cases = tmp_path / "cases"
    cases.mkdir()
    pairs = (EVAL_DIR / "name_pairs.jsonl").read_text().splitlines()[:20]
    (cases / "name_pairs.jsonl").write_text("\n".join(pairs) + "\n")
    run = screening("eval", str(cases), "--target", service.target, "--json", "--progress")
    assert run.returncode == Exit.OK, run.stderr
    summary = json.loads(run.stdout)
    # Figures per half (tuning, checking) and both together.
    assert summary["name_pairs"]["all"]["cases"] == 20 and "f1" in summary["name_pairs"]["all"]
    assert "evaluating" in run.stderr and "/20" in run.stderr
    table = screening("eval", str(cases), "--target", service.target)
    assert "name_pairs" in table.stdout and " ms" in table.stdout and "f1 " in table.stdout
    assert "tuning" in table.stdout and "checking" in table.stdout


def test_bench_table_and_json(un_lists: Path) -> None:
    args = ("bench", "--lists-dir", str(un_lists), "--rpc", "compare", "--requests", "20")
    table = screening(*args, "--warmup", "2")
    assert table.returncode == Exit.OK, table.stderr
    row = next(line for line in table.stdout.splitlines() if "handler CPU time" in line)
    assert row.split()[0] == "CompareParties" and "ms" in row
    printed = screening(*args, "--warmup", "2", "--json", "--progress")
    figures = json.loads(printed.stdout)
    assert figures["CompareParties"]["handler"]["n"] == 20
    assert "CompareParties" in printed.stderr  # its progress bar


def test_bench_stages_add_up_an_uncached_call(un_lists: Path) -> None:
    run = screening("bench", "--stages", "--lists-dir", str(un_lists), "--passes", "1", "--json")
    assert run.returncode == Exit.OK, run.stderr
    figures = json.loads(run.stdout)
    stages = figures["stages"]
    assert set(stages) == {
        *("decode", "normalise", "candidates", "score", "decide", "audit", "encode", "total")
    }
    assert stages["candidates"]["mean_us"] > 0 and stages["score"]["mean_us"] > 0
    parts = sum(row["mean_us"] for name, row in stages.items() if name != "total")
    assert parts == pytest.approx(stages["total"]["mean_us"], rel=0.01, abs=1.0)
    assert figures["CompareParties"]["mean_us"] > 0 and figures["pairs"] > 0


def test_refresh_reports_a_failed_source_as_an_error(
    redis_server: RedisServer, prefix: str
) -> None:
    run = screening(
        "refresh",
        *("--redis-url", redis_server.url, "--format", "un-xml"),
        *("--url", "un-xml=http://127.0.0.1:1/consolidated.xml", "--json", "--wait", "5"),
    )
    assert run.returncode == Exit.ERROR, run.stderr
    printed = json.loads(run.stdout)
    assert printed["ok"] is False and printed["sources"][0]["outcome"] == "failed"
    assert printed["sources"][0]["source"] == "un"


def test_check_policy_json_lists_every_problem(tmp_path: Path) -> None:
    from screening.risk.policy import DEFAULT_POLICY_PATH

    good = screening("check-policy", "--json")
    assert good.returncode == Exit.OK and json.loads(good.stdout)["valid"] is True
    bad = tmp_path / "policy.toml"
    shutil.copy(DEFAULT_POLICY_PATH, bad)
    bad.write_text(bad.read_text() + "\n[unknown_section]\nx = 1\n")
    run = screening("check-policy", str(bad), "--json")
    assert run.returncode == Exit.ERROR
    printed = json.loads(run.stdout)
    assert printed["valid"] is False and printed["problems"]
    people = screening("check-policy", str(bad))
    assert people.returncode == Exit.ERROR and "INVALID" in people.stdout


def test_auth_token_json() -> None:
    run = screening("auth", "add-token", "--client", "ci", "--json")
    assert run.returncode == Exit.OK
    printed = json.loads(run.stdout)
    assert printed["client"] == "ci" and len(printed["token"]) > 30 and printed["token_hash"]
    assert printed["stored_in"] is None  # no Redis: the entry is for SCREENING_AUTH_TOKENS
