"""Write matching/data/syllables.tsv, the syllable table of Chinese and Korean names, from
the rules of matching/syllables.py. Run `python -m screening.harness.syllables` after
changing a rule or upgrading anyascii: a unit test fails until the file agrees with them."""

from __future__ import annotations

from pathlib import Path

from screening.matching.syllables import SYLLABLES_FILE, syllable_inventory

HEADER = (
    "# spelling<TAB>sounds (c: a pinyin syllable, k: a Hangul syllable), written by "
    "`python -m screening.harness.syllables` from matching/syllables.py's rules: "
    "do not edit"
)


def write(path: Path = SYLLABLES_FILE) -> int:
    """Write the table to `path`; the number of spellings."""
    table = syllable_inventory()
    lines = [HEADER, *(f"{form}\t{' '.join(sounds)}" for form, sounds in table.items())]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return len(table)


if __name__ == "__main__":
    print(f"{write()} spellings written to {SYLLABLES_FILE}")
