"""Whether a name gives the matcher anything to screen.

A single letter ("X") or a placeholder a form was filled with ("N/A", "UNKNOWN", "TBD", "-")
names nobody: screened, it only finds listed names that happen to contain it ("X" reaches
"BICENTENARIO X" at 0.84). Such a name is refused, or, beside identifiers, left out.
"""

from __future__ import annotations

import re
import unicodedata

# Letters and digits a name needs (in any script: "王伟" has two, "7-28" three).
MIN_CHARACTERS = 2
# What forms are filled with when the name is not known, case, spaces and punctuation folded.
PLACEHOLDERS = frozenset(
    {
        "na",
        "nil",
        "null",
        "none",
        "nobody",
        "unknown",
        "unk",
        "unkn",
        "tbd",
        "tba",
        "tbc",
        "notapplicable",
        "notavailable",
        "notknown",
        "notprovided",
        "notgiven",
        "notstated",
        "notspecified",
        "unspecified",
        "tobedetermined",
        "tobeadvised",
        "tobeconfirmed",
        "noname",
        "unnamed",
        "name",
        "test",
    }
)
_NOT_ALNUM = re.compile(r"\W|_", re.UNICODE)


def nothing_to_screen(name: str) -> str:
    """Why `name` gives nothing to screen ("" when it does): too few letters and digits,
    one character repeated ("XXX"), or a placeholder ("N/A", "unknown", "TBD")."""
    folded = _NOT_ALNUM.sub("", unicodedata.normalize("NFKC", name).casefold())
    if len(folded) < MIN_CHARACTERS:
        return "has fewer than two letters or digits"
    if len(set(folded)) == 1:
        return "is one character repeated"
    if folded in PLACEHOLDERS:
        return "is a placeholder, not a name"
    return ""
