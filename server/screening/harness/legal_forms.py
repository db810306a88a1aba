"""Build matching/data/legal_forms.tsv: legal forms of organisations, from rigour's
multilingual database of organisation types (OpenSanctions; ISO 20275 entity legal forms,
OCCRP's list, Wikipedia's types of business entity) as it applies to the lists' names.

rigour is a dev dependency (it needs ICU to install); the service reads the table it
yields. Every name of every listed organisation (and of entries of unknown kind) is folded
the way the matcher folds names and given to rigour, which marks the legal forms in it and
names their generic form (llc, jsc, lp...); each phrase found is a row. Run
`python -m screening.harness.legal_forms --lists-dir ../shared/data/lists` after
upgrading rigour or when the lists change much.

cleanco (the other candidate) was measured on the same names and left out: it knows
abbreviations only, not the transliterated long forms (OBSHCHESTVO S OGRANICHENNOY
OTVETSTVENNOSTYU, ZAKRYTOE AKTSIONERNOE OBSHCHESTVO) nor FREE ZONE ESTABLISHMENT.
"""

from __future__ import annotations

import argparse
from collections import Counter
from pathlib import Path

from screening.matching.normalize import LEGAL_FORMS_FILE, fold
from screening.model.entities import EntityType

# Share of a short (one or two letter) form's occurrences that must stand at either end
# of a name for it to count as a legal form.
EDGE_SHARE = 0.8


def build(names: list[str]) -> dict[str, str]:
    """Folded legal-form phrase -> generic form, for every form rigour finds in `names`."""
    from rigour.names.org_types import extract_org_types
    from rigour.text.normalize import Cleanup, Normalize

    flags = Normalize.CASEFOLD | Normalize.SQUASH_SPACES
    seen: dict[str, Counter[str]] = {}
    at_edge: Counter[str] = Counter()
    for name in names:
        folded = fold(name)
        for phrase, form in extract_org_types(folded, flags, Cleanup.Strong, True):
            phrase = " ".join(phrase.split())
            if phrase and form and phrase.replace(" ", "").isalnum():
                seen.setdefault(phrase, Counter())[form.replace(" ", "")] += 1
                edge = folded == phrase or folded.startswith(phrase + " ")
                at_edge[phrase] += edge or folded.endswith(" " + phrase)
    # A legal form stands before or after the name; a short word found mostly inside names
    # ("in", "is") is an ordinary word there, not a form.
    return {
        phrase: forms.most_common(1)[0][0]
        for phrase, forms in sorted(seen.items())
        if len(phrase) > 2 or at_edge[phrase] >= EDGE_SHARE * sum(forms.values())
    }


def organisation_names(lists_dir: Path) -> list[str]:
    from screening.harness.evaluate import load_latest_entities

    names: list[str] = []
    for entity in load_latest_entities(lists_dir):
        if entity.entity_type != EntityType.PERSON:
            names.extend(n.full for n in entity.all_names())
    return names


def write(table: dict[str, str], path: Path = LEGAL_FORMS_FILE) -> None:
    path.write_text("".join(f"{phrase}\t{form}\n" for phrase, form in table.items()))


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--lists-dir", type=Path, default=Path("../shared/data/lists"))
    args = parser.parse_args()
    table = build(organisation_names(args.lists_dir))
    write(table)
    print(f"{LEGAL_FORMS_FILE}: {len(table)} phrases, forms {sorted(set(table.values()))}")
