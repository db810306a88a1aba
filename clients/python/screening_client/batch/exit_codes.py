"""The exit codes of `screening-batch`, the same as the `screening` command's (the server
package's harness/console.py; a test keeps the two alike), so one script reads both."""

from __future__ import annotations

from collections.abc import Iterable
from enum import IntEnum


class Exit(IntEnum):
    OK = 0  # done; every row CLEAR
    ERROR = 1  # a row could not be screened, or the run stopped (server unreachable...)
    USAGE = 2  # bad arguments or unreadable input
    REVIEW = 3  # a row needs review (none is BLOCK)
    BLOCK = 4  # a row is BLOCK
    INTERRUPTED = 130


EXIT_CODES_HELP = """exit codes (over every row in OUTPUT, earlier runs' included):
  0  done; every row CLEAR
  1  error: a row could not be screened (ERROR rows), or the run stopped
  2  usage: bad arguments or unreadable input
  3  REVIEW: a row needs review (none is BLOCK)
  4  BLOCK: a row is BLOCK
  130 interrupted (run the same command again to carry on)"""


def exit_for_decisions(decisions: Iterable[str]) -> Exit:
    """A row that could not be screened wins over any decision: a file with unscreened rows
    is not done, whatever the others say."""
    seen = set(decisions)
    if "ERROR" in seen:
        return Exit.ERROR
    if "BLOCK" in seen:
        return Exit.BLOCK
    if "REVIEW" in seen:
        return Exit.REVIEW
    return Exit.OK
