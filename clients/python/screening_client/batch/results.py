"""Batch results: one record per input row, written as CSV or JSON lines, appended and
flushed as each row is answered, so the output file is also the resume state."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Literal, TextIO

from screening_client._proto import screening_pb2 as pb
from screening_client.errors import ItemError

Record = dict[str, Any]
OutputFormat = Literal["csv", "jsonl"]

CSV_COLUMNS = [
    "row",
    "kind",
    "ref",
    "name",
    "status",
    "decision",
    "risk_score",
    "hit_count",
    "top_entity_id",
    "top_name",
    "top_list",
    "top_score",
    "top_programs",
    "top_designation_date",
    # The date and its basis in words: "designated 2024-02-23", "first listed 2024-02-23 (not
    # on the list of 2024-02-20)", "listed on or before 2021-07-15".
    "top_designation",
    "screening_id",
    "data_version",
    # Sources behind the answer past their maximum age (the answer may miss newer entries).
    "stale_sources",
    "error",
    # JSON: every hit with its explanation, shipment findings, error details.
    "details",
]
_DETAIL_KEYS = ("hits", "findings", "error")


def _decision(value: int) -> str:
    return str(pb.Decision.Name(value)).removeprefix("DECISION_")


def designation_date_basis(value: int) -> str:
    """The basis's name without its prefix (FIRST_SEEN). A value this client's copy of the
    proto does not know yet (a newer server) is kept as UNKNOWN_<number>, not an error."""
    try:
        name = str(pb.DesignationDateBasis.Name(value))
    except ValueError:
        return f"UNKNOWN_{value}"
    return name.removeprefix("DESIGNATION_DATE_BASIS_")


def designation(match: pb.Match) -> str:
    """The designation date in the service's words; composed the same way for a service that
    does not send them (designation_summary)."""
    if match.designation_summary:
        return match.designation_summary
    date = match.designation_date
    if not date:
        return ""
    basis = match.designation_date_basis
    if basis == pb.DESIGNATION_DATE_BASIS_OFFICIAL:
        return f"designated {date}"
    if basis == pb.DESIGNATION_DATE_BASIS_FIRST_SEEN:
        absent = match.absent_from_publication
        return f"first listed {date}" + (f" (not on the list of {absent})" if absent else "")
    if basis == pb.DESIGNATION_DATE_BASIS_NOT_LATER_THAN:
        return f"listed on or before {date}"
    return f"dated {date}"


def hit(match: pb.Match, party: str = "") -> dict[str, Any]:
    out: dict[str, Any] = {
        "entity_id": match.entity_id,
        "source": match.source,
        "source_ref": match.source_ref,
        "name": match.name,
        "matched_name": match.matched_name,
        "query_name": match.query_name,
        "score": round(match.score, 4),
        "programs": list(match.programs),
        "designation_date": match.designation_date,
        "designation_date_basis": designation_date_basis(match.designation_date_basis),
        "designation": designation(match),
        "countries": list(match.countries),
        "explanation": [
            {"feature": c.feature, "contribution": round(c.contribution, 4), "detail": c.detail}
            for c in match.explanation
        ],
    }
    if party:
        out["party"] = party
    return out


def party_record(row: int, data: dict[str, Any], reply: pb.ScreenPartyResponse) -> Record:
    party = data.get("party", data)
    return {
        "row": row,
        "kind": "party",
        "ref": str(party.get("party_ref") or data.get("client_ref") or ""),
        "name": str(party.get("name") or ""),
        "status": "ok",
        "decision": _decision(reply.decision),
        "risk_score": reply.risk_score,
        "screening_id": reply.screening_id,
        "data_version": reply.data_version,
        "stale_sources": list(reply.data_age.stale_sources),
        "hits": [hit(m) for m in reply.matches],
    }


def shipment_record(row: int, data: dict[str, Any], reply: pb.ScreenShipmentResponse) -> Record:
    hits = []
    for result in reply.party_results:
        role = str(pb.PartyRole.Name(result.role)).removeprefix("PARTY_ROLE_").lower()
        label = f"{'vessel' if result.is_vessel else role or 'party'}: {result.name}"
        hits += [hit(m, label) for m in result.matches]
    return {
        "row": row,
        "kind": "shipment",
        "ref": str(data.get("shipment_ref") or reply.shipment_ref),
        "name": ", ".join(p.get("name", "") for p in data.get("parties", []) if p.get("name")),
        "status": "ok",
        "decision": _decision(reply.decision),
        "risk_score": reply.risk_score,
        "screening_id": reply.screening_id,
        "data_version": reply.data_version,
        "stale_sources": list(reply.data_age.stale_sources),
        "hits": hits,
        "findings": [
            {
                "code": f.code,
                "severity": str(pb.Severity.Name(f.severity)).removeprefix("SEVERITY_"),
                "message": f.message,
                "evidence": list(f.evidence),
            }
            for f in reply.findings
        ],
    }


def error_record(row: int, data: dict[str, Any], kind: str, error: ItemError) -> Record:
    party = data.get("party", data)
    ref = data.get("shipment_ref") or party.get("party_ref") or data.get("client_ref") or ""
    return {
        "row": row,
        "kind": "party" if kind == "parties" else "shipment",
        "ref": str(ref),
        "name": str(party.get("name") or ""),
        "status": "error",
        "decision": "ERROR",
        "risk_score": 0,
        "hits": [],
        "error": error.to_dict(),
    }


def to_csv_row(record: Record) -> dict[str, Any]:
    hits = record.get("hits") or []
    top = hits[0] if hits else {}
    error = record.get("error") or {}
    return {
        "row": record["row"],
        "kind": record["kind"],
        "ref": record.get("ref", ""),
        "name": record.get("name", ""),
        "status": record["status"],
        "decision": record["decision"],
        "risk_score": record.get("risk_score", 0),
        "hit_count": len(hits),
        "top_entity_id": top.get("entity_id", ""),
        "top_name": top.get("name", ""),
        "top_list": top.get("source", ""),
        "top_score": top.get("score", ""),
        "top_programs": ";".join(top.get("programs", [])),
        "top_designation_date": top.get("designation_date", ""),
        "top_designation": top.get("designation", ""),
        "screening_id": record.get("screening_id", ""),
        "data_version": record.get("data_version", ""),
        "stale_sources": ";".join(record.get("stale_sources", [])),
        "error": f"{error['code']}: {error['message']}" if error else "",
        "details": json.dumps(
            {k: record[k] for k in _DETAIL_KEYS if record.get(k)}, ensure_ascii=False
        ),
    }


def from_csv_row(row: dict[str, str]) -> Record:
    details = json.loads(row.get("details") or "{}")
    return {
        "row": int(row["row"]),
        "kind": row["kind"],
        "ref": row["ref"],
        "name": row["name"],
        "status": row["status"],
        "decision": row["decision"],
        "risk_score": int(row["risk_score"] or 0),
        "screening_id": row["screening_id"],
        "data_version": row["data_version"],
        "stale_sources": [s for s in (row.get("stale_sources") or "").split(";") if s],
        "hits": details.get("hits", []),
        **{k: details[k] for k in ("findings", "error") if k in details},
    }


def output_format(path: Path) -> OutputFormat:
    return "csv" if path.suffix.lower() == ".csv" else "jsonl"


def read_records(path: Path) -> Iterator[Record]:
    """Every complete record in an output file (a torn last line is skipped)."""
    if not path.exists():
        return
    text = path.read_text(encoding="utf-8")
    if not text.endswith("\n"):
        text = text[: text.rfind("\n") + 1]
    if output_format(path) == "csv":
        for row in csv.DictReader(io.StringIO(text)):
            yield from_csv_row(row)
    else:
        for line in text.splitlines():
            if line.strip():
                yield json.loads(line)


def trim_torn_tail(path: Path) -> None:
    """Cut a last line that an interruption left half-written."""
    if not path.exists():
        return
    with path.open("rb+") as fh:
        data = fh.read()
        if data and not data.endswith(b"\n"):
            fh.truncate(data.rfind(b"\n") + 1)


class ResultWriter:
    """Appends records to the output file, one line each, flushed as written."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.format = output_format(path)
        fresh = not path.exists() or path.stat().st_size == 0
        self._fh: TextIO = path.open("a", encoding="utf-8", newline="")
        self._csv = csv.DictWriter(self._fh, CSV_COLUMNS) if self.format == "csv" else None
        if self._csv is not None and fresh:
            self._csv.writeheader()
            self._fh.flush()

    def write(self, record: Record) -> None:
        if self._csv is not None:
            self._csv.writerow(to_csv_row(record))
        else:
            self._fh.write(json.dumps(record, ensure_ascii=False) + "\n")
        self._fh.flush()

    def close(self) -> None:
        self._fh.close()
