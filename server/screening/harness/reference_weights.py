"""Build matching/data/reference_weights.tsv.gz: how common each name word is outside the
lists, from names-dataset (a dev dependency, not needed to serve): first and last names
with their rank in each of 106 countries; a word's rank is its best over countries and
over first and last names.

A word's reference weight is log(rank + 1) / log(NAME_RANK_RARE + 1): near 0 for the
commonest names, 1 for names ranked NAME_RANK_RARE or beyond in every country. The file
keeps only words below KEEP_BELOW. Run `python -m screening.harness.reference_weights`
after upgrading names-dataset.

wordfreq (word frequencies of 40 languages) was measured for the generic words of company
names and left out: on the generated innocent companies it removed no false alert the
names did not, and it cost recall on listed companies named with ordinary words
(ZVEZDA, AVANGARD), as news text makes listed names frequent words too.
"""

from __future__ import annotations

import gzip
import math
import pickle
from pathlib import Path

from screening.matching.normalize import fold
from screening.matching.reference import NAME_RANK_RARE, WEIGHTS_FILE

# Words weighing this much or more are left out (read as 1: rare).
KEEP_BELOW = 0.8


def name_weight(rank: int) -> float:
    """Rank 1 (the commonest name of a country) weighs least; NAME_RANK_RARE and beyond
    weigh 1: on a log scale in between (a name's frequency falls about as 1 / rank)."""
    return min(1.0, math.log(max(rank, 1) + 1) / math.log(NAME_RANK_RARE + 1))


def build() -> dict[str, float]:
    """Word (as the matcher folds it) -> its reference weight, for words below KEEP_BELOW."""
    import names_dataset

    folder = Path(names_dataset.__file__).parent / "v3"
    weights: dict[str, float] = {}
    for file in ("first_names.pkl.gz", "last_names.pkl.gz"):
        with gzip.open(folder / file) as fh:
            table = pickle.load(fh)  # the package's own data file
        for name, info in table.items():
            ranks = [r for r in ((info or {}).get("rank") or {}).values() if r]
            if not ranks:
                continue
            weight = round(name_weight(min(ranks)), 2)
            tokens = fold(name).split()
            if weight >= KEEP_BELOW or len(tokens) != 1:
                continue
            if weight < weights.get(tokens[0], 1.0):
                weights[tokens[0]] = weight
    return dict(sorted(weights.items()))


def write(table: dict[str, float], path: Path = WEIGHTS_FILE) -> None:
    lines = "".join(f"{token}\t{weight:g}\n" for token, weight in table.items())
    with gzip.GzipFile(path, "wb", mtime=0) as fh:
        fh.write(lines.encode())


if __name__ == "__main__":
    built = build()
    write(built)
    print(f"{WEIGHTS_FILE}: {len(built)} words")
