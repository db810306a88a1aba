"""How common a name word is outside the lists: reference weights shipped with the matcher
(data/reference_weights.tsv.gz, built from names-dataset by
screening.harness.reference_weights)."""

from __future__ import annotations

import gzip
from pathlib import Path

WEIGHTS_FILE = Path(__file__).parent / "data" / "reference_weights.tsv.gz"
# A name ranked at or beyond this in every country is rare: weight 1.
NAME_RANK_RARE = 5000


def reference_weights(wanted: set[str] | None = None) -> dict[str, float]:
    """Word -> how rare it is as a person's name, 0-1; words not in the file are rare (1).
    `wanted`: keep only these words (the whole table is large)."""
    table: dict[str, float] = {}
    with gzip.open(WEIGHTS_FILE, "rt", encoding="utf-8") as fh:
        for line in fh:
            token, weight = line.rstrip("\n").split("\t")
            if wanted is None or token in wanted:
                table[token] = float(weight)
    return table
