"""What the `screening` commands print for people, and how they end: aligned tables,
durations and ages in human units, progress bars, JSON for scripts, and the exit codes.

Every command prints a table (or a few lines) for a person by default and JSON with `--json`,
on standard output. Progress bars go to standard error, and only where that is a terminal
(`--progress` forces them, `--no-progress` leaves them out), so they never mix with what a
script reads.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import json
import sys
from collections.abc import Callable, Collection, Iterable, Iterator, Sequence
from enum import IntEnum
from typing import Any

from tqdm import tqdm
from tqdm.contrib.logging import logging_redirect_tqdm


class Exit(IntEnum):
    """The exit codes of every `screening` command (and of `screening-batch`)."""

    OK = 0  # done; for a screening: CLEAR
    ERROR = 1  # the command could not do its job: unreachable server, refused call, failed source
    USAGE = 2  # bad arguments or unreadable input (argparse's own code)
    REVIEW = 3  # a screening needs review (the worst answer is REVIEW)
    BLOCK = 4  # a screening is BLOCK
    INTERRUPTED = 130  # Ctrl-C


EXIT_CODES_HELP = """exit codes:
  0  done; every screening CLEAR
  1  error: the server was unreachable, a call was refused, a source failed
  2  usage: bad arguments or unreadable input
  3  REVIEW: a screening needs review (none is BLOCK)
  4  BLOCK: a screening is BLOCK
  130 interrupted"""


def exit_for_decision(decision: str) -> Exit:
    """The exit code of a screening whose (worst) decision is `decision` (CLEAR, REVIEW,
    BLOCK, with or without the DECISION_ prefix)."""
    name = decision.removeprefix("DECISION_")
    return {"BLOCK": Exit.BLOCK, "REVIEW": Exit.REVIEW}.get(name, Exit.OK)


def table(
    headers: Sequence[str], rows: Iterable[Sequence[object]], right: Collection[int] = ()
) -> str:
    """Rows under their headers, each column as wide as its widest cell; the columns
    numbered in `right` (figures) aligned right."""
    cells = [[str(c) for c in headers]] + [[_cell(c) for c in row] for row in rows]
    widths = [max(len(row[i]) for row in cells) for i in range(len(headers))]
    lines = []
    for row in cells:
        parts = [
            cell.rjust(width) if i in right else cell.ljust(width)
            for i, (cell, width) in enumerate(zip(row, widths, strict=True))
        ]
        lines.append("  ".join(parts).rstrip())
    return "\n".join(lines)


def _cell(value: object) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)


def duration(seconds: float) -> str:
    """'850 ms', '4.2 s', '3 min 20 s', '2 h 5 min', '3 d 4 h'."""
    if seconds < 0:
        return "-" + duration(-seconds)
    if seconds < 1:
        return f"{seconds * 1000:.3g} ms"
    if seconds < 60:
        return f"{seconds:.1f} s"
    minutes, secs = divmod(round(seconds), 60)
    if minutes < 60:
        return f"{minutes} min {secs} s" if secs else f"{minutes} min"
    hours, minutes = divmod(minutes, 60)
    if hours < 24:
        return f"{hours} h {minutes} min" if minutes else f"{hours} h"
    days, hours = divmod(hours, 24)
    return f"{days} d {hours} h" if hours else f"{days} d"


def milliseconds(ms: float) -> str:
    """A latency given in milliseconds, in human units ('0.42 ms', '12.5 ms', '1.3 s')."""
    if ms >= 1000:
        return duration(ms / 1000)
    return f"{ms:.3g} ms" if ms >= 1 else f"{ms:.2f} ms"


def age(days: float) -> str:
    """How old something is, given in days: 'today', '1 day', '12 days', '5 months',
    '2.6 years'."""
    if days < 1:
        return "today"
    if days < 2:
        return "1 day"
    if days < 60:
        return f"{int(days)} days"
    if days < 730:
        return f"{round(days / 30.44)} months"
    return f"{days / 365.25:.1f} years"


def ago(when: dt.datetime | None, now: dt.datetime | None = None) -> str:
    """'just now', '3 min ago', '2 h 5 min ago', '12 days ago'; '-' for never."""
    if when is None:
        return "-"
    now = now or dt.datetime.now(dt.UTC)
    seconds = (now - when).total_seconds()
    if seconds < 0:
        return "in " + duration(-seconds)
    if seconds < 60:
        return "just now"
    if seconds < 2 * 86400:
        return duration(60 * (seconds // 60)) + " ago"
    return age(seconds / 86400) + " ago"


def print_json(value: Any) -> None:
    """`value` as JSON on standard output (what `--json` prints)."""
    print(json.dumps(value, indent=2, ensure_ascii=False, default=str))


def progress(
    total: int | None, description: str, enabled: bool | None, unit: str = ""
) -> tqdm[Any]:
    """A progress bar on standard error: shown when `enabled` is True, hidden when False,
    and when None only if standard error is a terminal."""
    return tqdm(
        total=total,
        desc=description,
        unit=f" {unit}" if unit else "it",
        disable=None if enabled is None else not enabled,
        file=sys.stderr,
        dynamic_ncols=True,
        leave=False,
    )


def add_output_flags(parser: argparse.ArgumentParser, *, json_file: bool = False) -> None:
    """`--json` (and `--progress` / `--no-progress` for a long command given `progress`)."""
    if json_file:
        parser.add_argument(
            "--json",
            nargs="?",
            const="-",
            metavar="FILE",
            help="print the figures as JSON instead of a table; with FILE, write them there "
            "and print the table",
        )
    else:
        parser.add_argument("--json", action="store_true", help="print JSON instead of a table")


def add_progress_flag(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--progress",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="a progress bar on standard error (default: only when it is a terminal)",
    )


@contextlib.contextmanager
def progress_bar(
    total: int | None, description: str, enabled: bool | None, unit: str = ""
) -> Iterator[tqdm[Any]]:
    """`progress()` as a context: closed at the end, and while it shows, log lines are
    written above it instead of through it."""
    bar = progress(total, description, enabled, unit)
    try:
        if bar.disable:
            yield bar
        else:
            with logging_redirect_tqdm():
                yield bar
    finally:
        bar.close()


def step_counter(bar: tqdm[Any]) -> Callable[[int, int, str], None]:
    """A (done, total, what) callback that moves `bar` (ingest, refresh)."""

    def told(done: int, total: int, what: str) -> None:
        bar.total = total
        bar.set_postfix_str(what, refresh=False)
        bar.update(done - bar.n)

    return told
