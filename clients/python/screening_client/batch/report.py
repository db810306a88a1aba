"""The readable HTML report of a batch, built from the output file (so it covers every row of a
resumed run). One self-contained page:

- a summary rendered here: counts by decision and by list, what each designation date basis
  means, the failed rows;
- one anchored section per input row (`#row-N`), in input order, with its hits (list, entry,
  score, programs, designation date in the service's words, explanation), findings or error.

The sections are not written out as markup: the rows go into the page as compact JSON, and a
small script (templates/report.js) builds the first screenful at once and the rest in chunks
while the page stays responsive. That keeps a 10,000-row report near 1 MB and quick to open;
the script also drives the decision filter, the search box and anchors to rows not yet built.
Every value reaches the page as text (JSON escaped for a script element, then textContent),
never as markup.
"""

from __future__ import annotations

import datetime as dt
import json
from collections import Counter, defaultdict
from collections.abc import Iterable
from importlib import resources
from pathlib import Path
from typing import Any

import jinja2
from markupsafe import Markup

from screening_client.batch.results import Record

DECISION_ORDER = ("BLOCK", "REVIEW", "CLEAR", "ERROR")
# Where a designation date comes from: (the service's word for it, explanation), for the
# legend, and to word a date the service sent no wording for (an older server or results
# file). A basis not listed here (a newer server's) is shown by its own name, lower-cased.
BASIS_WORDING = {
    "OFFICIAL": ("designated", "the list itself states the date of designation"),
    "FIRST_SEEN": (
        "first listed",
        "the list carries no dates: the date of the first ingested publication that held the "
        "entry; the earlier publication named in brackets lacked it, so it was added between",
    ),
    "NOT_LATER_THAN": (
        "listed on or before",
        "the list carries no dates and the entry is already in the earliest publication held: "
        "an upper bound, never the date of designation",
    ),
    "UNSPECIFIED": ("dated", "the service did not say where the date comes from"),
}
_ENV = jinja2.Environment(
    loader=jinja2.PackageLoader("screening_client.batch", "templates"),
    autoescape=True,  # names come from the input file: escape them
)


def _asset(name: str) -> Markup:
    """A static file of the page (CSS, script), inlined as it is: it holds no data."""
    text = resources.files("screening_client.batch").joinpath("templates", name).read_text()
    return Markup(text)


def _script_json(value: object) -> Markup:
    """JSON that is safe inside <script type="application/json">: no '<', '>' or '&' that
    could close the element or start a comment, whatever the input file held."""
    text = json.dumps(value, ensure_ascii=False, separators=(",", ":"))
    for char, escape in (("<", "\\u003c"), (">", "\\u003e"), ("&", "\\u0026")):
        text = text.replace(char, escape)
    return Markup(text.replace("\u2028", "\\u2028").replace("\u2029", "\\u2029"))


class _Interned:
    """Values kept once, referred to by position: the same list entry is hit by many rows of
    a batch, and a party that recurs (one consignee on many shipments) brings the same
    explanations each time."""

    def __init__(self) -> None:
        self.items: list[Any] = []
        self._index: dict[str, int] = {}

    def add(self, value: Any) -> int:
        key = json.dumps(value, sort_keys=True)
        if key not in self._index:
            self._index[key] = len(self.items)
            self.items.append(value)
        return self._index[key]


def _entity(hit: dict[str, Any]) -> dict[str, Any]:
    # Keyed by every field, not the id alone: a resumed run may span data versions.
    entity = {
        "id": hit.get("entity_id", ""),
        "src": hit.get("source", ""),
        "n": hit.get("name", ""),
        "sref": hit.get("source_ref"),
        "pg": hit.get("programs"),
        "dd": hit.get("designation_date"),
        "db": hit.get("designation_date_basis") if hit.get("designation_date") else None,
        # The service's wording of the date and its basis ("first listed 2024-02-23 (not on
        # the list of 2024-02-20)"), shown as it is.
        "ds": hit.get("designation"),
        "c": hit.get("countries"),
    }
    return {key: value for key, value in entity.items() if value or key == "id"}


def _compact_hit(hit: dict[str, Any], shared: dict[str, _Interned]) -> dict[str, Any]:
    out: dict[str, Any] = {"e": shared["entities"].add(_entity(hit)), "sc": hit.get("score", 0)}
    explanation = [
        [c.get("feature", ""), round(c.get("contribution", 0), 3), c.get("detail", "")]
        for c in hit.get("explanation") or []
    ]
    optional = {
        "mn": hit.get("matched_name") if hit.get("matched_name") != hit.get("name") else None,
        "p": hit.get("party"),
        "x": shared["explanations"].add(explanation) if explanation else None,
    }
    out.update({key: value for key, value in optional.items() if value is not None and value != ""})
    return out


def _compact(record: Record, shared: dict[str, _Interned]) -> dict[str, Any]:
    """One row for the page, with short keys (report.js reads them) and nothing empty."""
    out: dict[str, Any] = {"r": record["row"], "d": record["decision"]}
    optional: dict[str, Any] = {
        "n": record.get("name"),
        "ref": record.get("ref"),
        "s": record.get("risk_score"),
        "h": [_compact_hit(h, shared) for h in record.get("hits") or []],
        "f": [
            [f.get("severity", ""), f.get("code", ""), f.get("message", ""), f.get("evidence", [])]
            for f in record.get("findings") or []
        ],
    }
    error = record.get("error")
    if error:
        optional["e"] = {
            "c": error.get("code", ""),
            "m": error.get("message", ""),
            "v": [[v["field"], v["description"]] for v in error.get("field_violations", [])],
        }
    out.update({key: value for key, value in optional.items() if value})
    return out


def _basis_legend(rows: list[Record]) -> list[tuple[str, str, str]]:
    """(basis, label, meaning) for each basis the hits carry: known ones in their order,
    then any this client does not know, by name."""
    seen = {
        h.get("designation_date_basis")
        for r in rows
        for h in r.get("hits") or []
        if h.get("designation_date")
    }
    known = [b for b in BASIS_WORDING if b in seen]
    unknown = sorted(str(b) for b in seen - BASIS_WORDING.keys() if b)
    return [(b, *BASIS_WORDING[b]) for b in known] + [(b, _basis_label(b), "") for b in unknown]


def _basis_label(basis: str) -> str:
    if basis.startswith("UNKNOWN_"):
        return f"basis not recognised (code {basis.removeprefix('UNKNOWN_')})"
    return BASIS_WORDING.get(basis, (basis.lower().replace("_", " "), ""))[0]


def render_report(records: Iterable[Record], title: str) -> str:
    rows = sorted(records, key=lambda r: r["row"])
    counts = Counter(r["decision"] for r in rows)
    decisions = [(d, counts[d]) for d in DECISION_ORDER if counts[d]]
    decisions += [(d, n) for d, n in sorted(counts.items()) if d not in DECISION_ORDER]
    lists: dict[str, dict[str, Any]] = defaultdict(lambda: {"rows": set(), "hits": 0})
    for record in rows:
        for hit in record.get("hits") or []:
            source = lists[hit.get("source") or "?"]
            source["rows"].add(record["row"])
            source["hits"] += 1
    by_list = sorted(
        ((name, len(v["rows"]), v["hits"]) for name, v in lists.items()),
        key=lambda item: (-item[1], item[0]),
    )
    kinds = {r["kind"] for r in rows}
    shared = {"entities": _Interned(), "explanations": _Interned()}
    compact = [_compact(r, shared) for r in rows]
    return _ENV.get_template("report.html.j2").render(
        title=title,
        total=len(rows),
        noun="shipments" if kinds == {"shipment"} else "parties",
        generated_at=dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        data_versions=sorted({r["data_version"] for r in rows if r.get("data_version")}),
        stale_sources=sorted({s for r in rows for s in r.get("stale_sources", [])}),
        decisions=decisions,
        by_list=by_list,
        flagged=sum(1 for r in rows if r.get("hits")),
        hit_count=sum(len(r.get("hits") or []) for r in rows),
        bases=_basis_legend(rows),
        errors=[r for r in rows if r["status"] == "error"],
        rows_json=_script_json(
            {
                "rows": compact,
                "entities": shared["entities"].items,
                "explanations": shared["explanations"].items,
                "basis": {b: label for b, (label, _) in BASIS_WORDING.items()},
            }
        ),
        style=_asset("report.css"),
        script=_asset("report.js"),
    )


def write_report(records: Iterable[Record], title: str, path: Path) -> None:
    path.write_text(render_report(records, title), encoding="utf-8")
