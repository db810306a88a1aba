"""What `screening serve` says while it starts (JSON lines): each list file parsed, each
source loaded into every worker's index (built there, or read from the host's index file),
and `serving` only once the port answers, with the seconds since the command started."""

from __future__ import annotations

import datetime as dt
import json

from tests.conftest import Service, assert_json_log_lines

SOURCES = {"ofac-sdn", "ofac-cons", "un", "uk", "uk-sl", "ca-sema", "us-bis-dpl", "us-csl"}


def _lines(service: Service) -> list[dict[str, object]]:
    return [json.loads(line) for line in service.logs().splitlines() if line.startswith("{")]


def _at(entry: dict[str, object]) -> dt.datetime:
    return dt.datetime.fromisoformat(str(entry["ts"]))


def test_progress_per_file_and_per_source(service: Service) -> None:
    lines = _lines(service)
    parsed = [e for e in lines if e["msg"] == "list file parsed"]
    assert {e["source"] for e in parsed} == SOURCES
    assert all(int(e["entities"]) > 0 and float(e["seconds"]) >= 0 for e in parsed)
    workers = set(service.worker_pids().values())
    for pid in workers:  # every worker says what it loaded, source by source
        loaded = [e for e in lines if e["msg"] == "list data loaded" and e["pid"] == pid]
        assert {e["source"] for e in loaded} == SOURCES
        assert sum(int(e["entities"]) for e in loaded) > 30000
        # Built in the worker, or read from the host's index file (built once per host).
        assert any(
            e["msg"] in ("building index", "index file read") and e["pid"] == pid for e in lines
        )
    built = [str(e["data_version"]) for e in lines if e["msg"] == "index file built"]
    assert len(built) == len(set(built)), built  # once per host, not once per worker


def test_serving_is_said_once_the_port_answers_with_the_time_it_took(service: Service) -> None:
    lines = _lines(service)
    serving = [e for e in lines if e["msg"] == "serving"]
    assert len(serving) == 1, serving
    said = serving[0]
    assert said["address"] == f"127.0.0.1:{service.port}" and said["probe"] == "health check"
    # Only a worker with its index listens: one had said so before the port answered.
    first_worker = min(_at(e) for e in lines if e["msg"] == "worker serving")
    assert first_worker <= _at(said)
    assert "service started" not in service.logs()
    # The time since the command started: at least what its own log spans up to then.
    spanned = (_at(said) - _at(lines[0])).total_seconds()
    took = float(said["startup_seconds"])
    assert spanned <= took < spanned + 30, (spanned, took)


def test_every_line_written_while_starting_is_a_json_object(service: Service) -> None:
    # A parser's warning (nameless rows of the UK sanctions list) came out of its parsing
    # process as a bare line: that process had no log handler, and Python's last resort
    # printed the message alone.
    lines = service.logs().splitlines()
    end = next(i for i, line in enumerate(lines) if '"msg": "serving"' in line)
    assert_json_log_lines(lines[: end + 1])
    warned = [json.loads(line) for line in lines[:end] if "list rows without a name" in line]
    assert warned and warned[0]["logger"] == "screening.sources.uk_sanctions_list"
