"""Build matching/data/legal_forms.tsv: legal forms of organisations, from rigour's
multilingual database of organisation types (OpenSanctions; ISO 20275 entity legal forms,
OCCRP's list, Wikipedia's types of business entity) as it applies to the lists' names.

rigour is a dev dependency (it needs ICU to install); the service reads the table it
yields. Every name of every listed organisation (and of entries of unknown kind) is folded
the way the matcher folds names and given to rigour, which marks the legal forms in it and
names their generic form (llc, jsc, lp...); each phrase found is a row. Run
`python -m screening.harness.legal_forms --lists-dir ../shared/data/lists` after
upgrading rigour or when the lists change much.

cleanco (the other candidate) was measured on the same names and not used as the
database: it knows abbreviations only, not the transliterated long forms (OBSHCHESTVO S
OGRANICHENNOY OTVETSTVENNOSTYU, ZAKRYTOE AKTSIONERNOE OBSHCHESTVO) nor FREE ZONE
ESTABLISHMENT. Its abbreviations, and a few long forms, are put to rigour as probes, so
that forms requests write and the lists lack are in the table too (rigour decides).
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

    # NFKD with strong cleanup: accents do not count, as in the matcher's folding.
    flags = Normalize.CASEFOLD | Normalize.SQUASH_SPACES | Normalize.NFKD
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


# Legal forms that requests write and the lists may not: the abbreviations of cleanco's
# table (another library's database) and long forms in the languages of the parties
# screened. Each goes to rigour after a placeholder name; rigour decides whether it is a
# form and which. Probes only: a phrase rigour does not know stays out.
LONG_FORM_PROBES = (
    "gesellschaft mit beschrankter haftung",
    "societe a responsabilite limitee",
    "societa a responsabilita limitata",
    "sociedad de responsabilidad limitada",
    "societe anonyme",
    "societa per azioni",
    "sociedad anonima",
    "public limited company",
    "private limited company",
    "kabushiki kaisha",
    "yugen kaisha",
    "godo kaisha",
    "naamloze vennootschap",
    "besloten vennootschap",
    "anonim sirketi",
    "limited sirketi",
    "aktiebolag",
    "osakeyhtio",
    "spolka akcyjna",
    "spolka z ograniczona odpowiedzialnoscia",
    "obshchestvo s ogranichennoy otvetstvennostyu",
    "aktsionernoye obshchestvo",
    "publichnoye aktsionernoye obshchestvo",
    "tovarystvo z obmezhenoyu vidpovidalnistyu",
    "free zone company",
    "free zone establishment",
    "sendirian berhad",
    "perseroan terbatas",
)


def probe_names() -> list[str]:
    """Placeholder names carrying each probe form, before and after the name."""
    import cleanco.termdata as cleanco_terms

    terms = set(LONG_FORM_PROBES)
    for table in (cleanco_terms.terms_by_type, cleanco_terms.terms_by_country):
        for values in table.values():
            terms.update(values)
    return [f"{form} placeholder" for form in sorted(terms)] + [
        f"placeholder {form}" for form in sorted(terms)
    ]


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
    table = build(organisation_names(args.lists_dir) + probe_names())
    write(table)
    print(f"{LEGAL_FORMS_FILE}: {len(table)} phrases, forms {sorted(set(table.values()))}")
