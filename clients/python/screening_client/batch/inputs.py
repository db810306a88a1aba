"""Reading the batch input: CSV (one party per row, columns named like the proto fields)
or JSON lines (one party, or one shipment, per line)."""

from __future__ import annotations

import csv
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

Kind = Literal["parties", "shipments"]

# Columns a party CSV may carry: Party fields, and request fields applied to that row.
PARTY_COLUMNS = frozenset(
    {
        "name",
        "entity_type",
        "aliases",
        "birth_date",
        "country",
        "address",
        "identifiers",
        "role",
        "party_ref",
    }
)
REQUEST_COLUMNS = frozenset({"client_ref", "min_score", "sources", "max_results"})


@dataclass(frozen=True)
class Item:
    row: int  # 1-based position in the input file (data rows / non-empty lines)
    data: dict[str, Any]


@dataclass
class Input:
    items: list[Item]
    ignored_columns: list[str]


def input_format(path: Path) -> Literal["csv", "jsonl"]:
    suffix = path.suffix.lower()
    if suffix in (".csv", ".tsv"):
        return "csv"
    if suffix in (".jsonl", ".ndjson", ".json"):
        return "jsonl"
    raise ValueError(f"{path}: unknown input format (use .csv or .jsonl)")


def read_input(path: Path, kind: Kind) -> Input:
    if input_format(path) == "csv":
        if kind != "parties":
            raise ValueError("shipments have nested parts: give them as JSON lines")
        return _read_csv(path)
    return Input(_read_jsonl(path), [])


def _read_csv(path: Path) -> Input:
    with path.open(newline="", encoding="utf-8-sig") as fh:
        dialect = csv.excel_tab if path.suffix.lower() == ".tsv" else csv.excel
        reader = csv.DictReader(fh, dialect=dialect)
        columns = [c for c in reader.fieldnames or [] if c]
        if "name" not in columns:
            raise ValueError(f"{path}: a party CSV needs a 'name' column (found: {columns})")
        known = PARTY_COLUMNS | REQUEST_COLUMNS
        items = []
        for row_number, row in enumerate(reader, start=1):
            party = {k: v for k, v in row.items() if k in PARTY_COLUMNS and v}
            request: dict[str, Any] = {k: v for k, v in row.items() if k in REQUEST_COLUMNS and v}
            if "min_score" in request:
                request["min_score"] = _number(request["min_score"], row_number, "min_score")
            if "max_results" in request:
                request["max_results"] = int(
                    _number(request["max_results"], row_number, "max_results")
                )
            items.append(Item(row_number, {"party": party, **request}))
    return Input(items, [c for c in columns if c not in known])


def _number(text: str, row: int, column: str) -> float:
    try:
        return float(text)
    except ValueError:
        raise ValueError(f"row {row}: {column} {text!r} is not a number") from None


def _read_jsonl(path: Path) -> list[Item]:
    items = []
    row_number = 0
    with path.open(encoding="utf-8") as fh:
        for line_number, line in enumerate(fh, start=1):
            if not line.strip():
                continue
            row_number += 1
            try:
                data = json.loads(line)
            except json.JSONDecodeError as exc:
                raise ValueError(f"{path}:{line_number}: not JSON: {exc}") from None
            if not isinstance(data, dict):
                raise ValueError(f"{path}:{line_number}: each line must be a JSON object")
            items.append(Item(row_number, data))
    return items
