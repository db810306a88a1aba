"""The readable HTML report of a batch: decision counts, every hit with its list, program,
designation date and explanation, and the rows that failed. Built from the output file, so
it covers every row of a resumed run."""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Iterable
from pathlib import Path

import jinja2

from screening_client.batch.results import Record

DECISION_ORDER = ("BLOCK", "REVIEW", "CLEAR", "ERROR")
_ENV = jinja2.Environment(
    loader=jinja2.PackageLoader("screening_client.batch", "templates"),
    autoescape=True,  # names come from the input file: escape them
)


def render_report(records: Iterable[Record], title: str) -> str:
    rows = sorted(records, key=lambda r: r["row"])
    counts = Counter(r["decision"] for r in rows)
    decisions = [(d, counts[d]) for d in DECISION_ORDER if counts[d]]
    decisions += [(d, n) for d, n in sorted(counts.items()) if d not in DECISION_ORDER]
    flagged = [r for r in rows if r["status"] == "ok" and (r["hits"] or r.get("findings"))]
    rank = {d: i for i, d in enumerate(DECISION_ORDER)}
    flagged.sort(key=lambda r: (rank.get(r["decision"], len(rank)), -r["risk_score"], r["row"]))
    kinds = {r["kind"] for r in rows}
    return _ENV.get_template("report.html.j2").render(
        title=title,
        total=len(rows),
        noun="shipments" if kinds == {"shipment"} else "parties",
        generated_at=dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        data_versions=sorted({r["data_version"] for r in rows if r.get("data_version")}),
        stale_sources=sorted({s for r in rows for s in r.get("stale_sources", [])}),
        decisions=decisions,
        flagged=flagged,
        hit_count=sum(len(r["hits"]) for r in flagged),
        errors=[r for r in rows if r["status"] == "error"],
    )


def write_report(records: Iterable[Record], title: str, path: Path) -> None:
    path.write_text(render_report(records, title), encoding="utf-8")
