"""The README's examples run as written, and show what the README says they show.

Every ```sh block of README.md after the first (the set-up and test commands) is run by bash,
as a user pastes it, against the session's service (started the way every e2e test gets
one), from a directory laid out like the checkout (its entries linked, `../shared` beside
it), so the files the examples write stay out of the checkout. The one change made to the
text: the README's address, `localhost:50051`, becomes the test service's; the commands that
name no address read it from SCREENING_TARGET, set to the same.

Each block has its checks below, found by a command it runs; a block without checks fails,
so a new example comes with its test. A bash ERR trap reports every command that ends
non-zero, and each block says which may (a screening that comes back BLOCK exits 4).
"""

from __future__ import annotations

import csv
import json
import os
import re
import subprocess
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

from screening.harness.console import Exit
from tests.conftest import ROOT, Service

README = ROOT / "README.md"
ADDRESS = "localhost:50051"
AURUS = "ofac-sdn:47956"
AURUS_LISTED = "first listed 2024-02-23 (not on the list of 2024-02-20)"
FAILED = re.compile(r"^README-EXIT (\d+): (.*)$", re.MULTILINE)


def readme_blocks() -> list[str]:
    """The ```sh blocks of the README, in order, the first (set-up) left out."""
    blocks = re.findall(r"^```sh\n(.*?)^```", README.read_text(), re.MULTILINE | re.DOTALL)
    return blocks[1:]


@dataclass
class Ran:
    stdout: str
    stderr: str
    workdir: Path

    def exits(self) -> list[tuple[int, str]]:
        """(exit code, command) of every command that ended non-zero."""
        return [(int(code), command) for code, command in FAILED.findall(self.stderr)]


def check_cli(ran: Ran) -> None:
    out = ran.stdout
    status = out.split("'ООО «Аурус»'")[0]
    for source in ("ofac-sdn", "un", "uk", "us-csl"):
        assert re.search(rf"^{re.escape(source)}\s+\d{{4}}", status, re.MULTILINE), source
    assert "STALE" in status  # the shared files are years old
    assert "'ООО «Аурус»': BLOCK, risk 100" in out
    assert AURUS in out and AURUS_LISTED in out
    assert "'tax_id:7743237789': BLOCK" in out
    assert "'Hiroshi Tanaka': CLEAR, risk 0" in out and "no match at or above 0.8" in out
    assert "years old" in out  # the data's age, in human units
    assert ran.exits() == [
        (Exit.BLOCK, '.venv/bin/screening screen "ООО «Аурус»"'),
        (Exit.BLOCK, ".venv/bin/screening screen --id tax_id:7743237789"),
    ]


def check_grpcurl(ran: Ran) -> None:
    out = ran.stdout
    assert "screening.v1.ScreeningService.ScreenParty\n" in out
    assert "screening.v1.ScreeningService.ScreenShipment\n" in out
    answers = _json_objects(out)
    screened = next(a for a in answers if "decision" in a)
    assert screened["decision"] == "DECISION_BLOCK"
    assert screened["matches"][0]["entity_id"] == AURUS
    assert screened["matches"][0]["designation_summary"] == AURUS_LISTED
    entity = next(a for a in answers if "entity" in a)["entity"]
    assert "AURUS" in json.dumps(entity) and "7743237789" in json.dumps(entity)
    assert {"status": "SERVING"} in answers
    assert ran.exits() == []


def check_client_and_batch(ran: Ran) -> None:
    out = ran.stdout
    assert f"DECISION_BLOCK [('{AURUS}', '2024-02-23')]" in out
    rows = list(csv.DictReader((ran.workdir / "results.csv").open()))
    assert len(rows) == 1000 and [int(r["row"]) for r in rows] == list(range(1, 1001))
    decisions = {r["decision"] for r in rows}
    assert decisions <= {"BLOCK", "REVIEW", "CLEAR"} and "BLOCK" in decisions
    assert "1000  of 1000 input rows" in out
    assert re.search(r"^BLOCK\s+\d+$", out, re.MULTILINE)
    assert "<html" in (ran.workdir / "results.html").read_text()[:200].lower()
    # Some of the parties are listed: the batch says BLOCK.
    assert [code for code, _ in ran.exits()] == [Exit.BLOCK]


def check_shipment(ran: Ran) -> None:
    out = ran.stdout
    assert "shipment -: BLOCK, risk 100" in out
    assert "PARTY_SANCTIONS_MATCH" in out and "CHPL_GOODS_RUSSIA" in out
    assert AURUS_LISTED in out
    whole = next(a for a in _json_objects(out) if "decision" in a)
    assert whole["decision"] == "DECISION_BLOCK"
    assert {"PARTY_SANCTIONS_MATCH", "CHPL_GOODS_RUSSIA"} <= {f["code"] for f in whole["findings"]}
    assert ran.exits() == [
        (Exit.BLOCK, ".venv/bin/screening screen-shipment shipment.json"),
    ]


# A block is known by a command it runs.
CHECKS: list[tuple[str, Callable[[Ran], None]]] = [
    (".venv/bin/screening status", check_cli),
    ("grpc.health.v1.Health/Check", check_grpcurl),
    (".venv/bin/screening-batch parties.csv", check_client_and_batch),
    ("ScreenShipment < shipment.json", check_shipment),
]


def _json_objects(text: str) -> list[dict[str, object]]:
    """The JSON objects printed one after another (grpcurl's answers), other text between."""
    decoder = json.JSONDecoder()
    found, at = [], 0
    while (at := text.find("{", at)) != -1:
        try:
            value, end = decoder.raw_decode(text, at)
        except json.JSONDecodeError:
            at += 1
            continue
        found.append(value)
        at = end
    return found


@pytest.fixture(scope="module")
def workdir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A directory laid out like the checkout (every entry linked) with `../shared` beside
    it, as the README's examples expect."""
    base = tmp_path_factory.mktemp("readme")
    checkout = base / "checkout"
    checkout.mkdir()
    for entry in ROOT.iterdir():
        if entry.name not in (".git", "README.md"):
            (checkout / entry.name).symlink_to(entry)
    (base / "shared").symlink_to(ROOT.parent / "shared")
    return checkout


def first_command(block: str) -> str:
    return next(line for line in block.splitlines() if not line.startswith("#"))[:48]


@pytest.mark.parametrize("block", readme_blocks(), ids=first_command)
def test_readme_example_runs_as_written(block: str, service: Service, workdir: Path) -> None:
    checks = [check for marker, check in CHECKS if marker in block]
    assert len(checks) == 1, f"no checks (or several) for this README block:\n{block}"
    if "grpcurl" in block and not (ROOT / ".venv" / "bin" / "grpcurl").exists():
        pytest.skip("grpcurl is not installed: deploy/local/setup.sh builds it where Go is")
    assert ADDRESS in block or "screening" in block
    script = block.replace(ADDRESS, service.target)
    env = {**os.environ, "SCREENING_TARGET": service.target}
    run = subprocess.run(
        ["bash", "-c", "trap 'echo \"README-EXIT $?: $BASH_COMMAND\" >&2' ERR\n" + script],
        cwd=workdir,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    for trouble in ("Traceback", "command not found", "No such file"):
        assert trouble not in run.stderr, run.stderr
    ran = Ran(run.stdout, run.stderr, workdir)
    try:
        checks[0](ran)
    except AssertionError:
        print(f"--- stdout\n{run.stdout}\n--- stderr\n{run.stderr}")
        raise
