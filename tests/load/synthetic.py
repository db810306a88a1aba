"""Synthetic list entries for the scale benchmark: the shared lists plus N made-up entries.

The entries are one more publication of the US Consolidated Screening List (the CSV layout
trade.gov publishes), so they go through the same parser, ingest and index as real data.
People and companies in many locales and scripts (Faker's name pools: Latin, Cyrillic,
Greek, Arabic, Persian, Hebrew, Devanagari, Thai, Han, kana, Hangul, Armenian, Georgian),
about a fifth of the non-Latin ones also under a romanised alias, with birth dates,
nationalities, addresses and some passport numbers. A fixed seed makes the same entries on
every run; a generated directory is kept under .bench/ and reused.

    .venv/bin/python -m tests.load.synthetic --extra 285759   # prints the directory
"""

from __future__ import annotations

import argparse
import csv
import random
import shutil
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
DEFAULT_LISTS = ROOT.parent / "shared" / "data" / "lists"
CACHE = ROOT / ".bench" / "synthetic"

# (locale, share of entries): about two thirds written in Latin script, as on real lists.
LOCALES = (
    ("en_US", 8),
    ("en_GB", 3),
    ("de_DE", 4),
    ("fr_FR", 4),
    ("es_ES", 3),
    ("es_MX", 3),
    ("pt_BR", 3),
    ("it_IT", 3),
    ("tr_TR", 4),
    ("pl_PL", 2),
    ("nl_NL", 2),
    ("vi_VN", 3),
    ("id_ID", 3),
    ("az_AZ", 2),
    ("ru_RU", 8),
    ("uk_UA", 3),
    ("el_GR", 2),
    ("ar_AA", 6),
    ("ar_SA", 3),
    ("fa_IR", 4),
    ("he_IL", 2),
    ("hi_IN", 3),
    ("bn_BD", 2),
    ("th_TH", 2),
    ("zh_CN", 6),
    ("zh_TW", 2),
    ("ja_JP", 3),
    ("ko_KR", 3),
    ("hy_AM", 1),
    ("ka_GE", 1),
)
# Given and family names may be written family first, without a space between them.
_FAMILY_FIRST = {"zh_CN": "", "zh_TW": "", "ko_KR": "", "ja_JP": " ", "vi_VN": " ", "hu_HU": " "}
POOL = 1500  # distinct given names, family names, companies and cities drawn per locale

HEADER = (
    "_id,source,entity_number,type,programs,name,title,addresses,federal_register_notice,"
    "start_date,end_date,standard_order,license_requirement,license_policy,call_sign,"
    "vessel_type,gross_tonnage,gross_registered_tonnage,vessel_flag,vessel_owner,remarks,"
    "source_list_url,alt_names,citizenships,dates_of_birth,nationalities,places_of_birth,"
    "source_information_url,ids"
).split(",")
SOURCE = "Synthetic Screening List (SYN) - load benchmark"
# Dated after every shared CSL file, so it is the live CSL publication.
PUBLICATION = "2026-01-01"


class _Pools:
    def __init__(self, locale: str, rng: random.Random) -> None:
        import faker

        fake = faker.Faker(locale)
        fake.seed_instance(rng.randrange(1 << 30))
        self.locale = locale
        self.given = _distinct(fake.first_name, POOL)
        self.family = _distinct(fake.last_name, POOL)
        self.companies = _distinct(fake.company, POOL)
        self.cities = _distinct(fake.city, POOL // 5)
        self.country = {"AA": "EG"}.get(locale.split("_")[1], locale.split("_")[1])
        self.latin = all(c.isascii() or (c.isalpha() and ord(c) < 0x250) for c in self.given[0])


def _distinct(draw: object, count: int) -> list[str]:
    seen: dict[str, None] = {}
    for _ in range(count * 3):
        value = " ".join(str(draw()).split())  # type: ignore[operator]
        if value:
            seen[value] = None
        if len(seen) >= count:
            break
    return list(seen)


def _romanised(text: str) -> str:
    from screening.matching.translit import latin_variants

    forms = [f for f in latin_variants(text) if f.isascii()]
    return forms[0].title() if forms else ""


def _person(pools: _Pools, rng: random.Random) -> str:
    given = rng.choice(pools.given)
    if rng.random() < 0.25:
        given = f"{given} {rng.choice(pools.given)}"
    family = rng.choice(pools.family)
    joint = _FAMILY_FIRST.get(pools.locale)
    return f"{family}{joint}{given}" if joint is not None else f"{given} {family}"


def _company(pools: _Pools, rng: random.Random) -> str:
    name = rng.choice(pools.companies)
    roll = rng.random()
    if roll < 0.35:
        return f"{rng.choice(pools.cities)} {name}"
    if roll < 0.6:
        return f"{name} {rng.choice(pools.family)}"
    return name


def rows(extra: int, seed: int) -> list[list[str]]:
    rng = random.Random(seed)
    weights = [w for _, w in LOCALES]
    pools = [_Pools(locale, rng) for locale, _ in LOCALES]
    out = []
    for n in range(extra):
        p = rng.choices(pools, weights)[0]
        person = rng.random() < 0.65
        name = _person(p, rng) if person else _company(p, rng)
        aliases = []
        if person and rng.random() < 0.3:
            aliases.append(_person(p, rng))
        if not p.latin and rng.random() < 0.2:
            latin = _romanised(name)
            if latin:
                aliases.append(latin)
        row = dict.fromkeys(HEADER, "")
        row.update(
            _id=f"syn{seed}-{n:07d}",
            source=SOURCE,
            type="Individual" if person else "Entity",
            programs="SYN",
            name=name,
            addresses=f"{rng.choice(p.cities)}, {p.country}",
            start_date=f"{rng.randint(2000, 2025)}-{rng.randint(1, 12):02d}-01",
            alt_names="; ".join(aliases),
        )
        if person:
            if rng.random() < 0.6:
                row["dates_of_birth"] = f"{rng.randint(1940, 2002)}-{rng.randint(1, 12):02d}-01"
            row["nationalities"] = p.country
            if rng.random() < 0.15:
                row["ids"] = f"Passport, {rng.randrange(10**7, 10**8)}, {p.country}"
        out.append([row[h] for h in HEADER])
    return out


def scaled_lists(extra: int, *, lists_dir: Path = DEFAULT_LISTS, seed: int = 26) -> Path:
    """A directory with every file of `lists_dir` (linked) and a CSL publication holding the
    newest shared CSL rows and `extra` synthetic entries. Made once per (extra, seed)."""
    out = CACHE / f"{seed}-{extra}"
    done = out / ".complete"
    if done.exists():
        return out
    if out.exists():
        shutil.rmtree(out)
    for path in sorted(lists_dir.rglob("*")):
        if path.is_file() and path.suffix != ".md":
            target = out / path.relative_to(lists_dir)
            target.parent.mkdir(parents=True, exist_ok=True)
            target.symlink_to(path.resolve())
    (out / "csl").mkdir(parents=True, exist_ok=True)
    newest = max((lists_dir / "csl").glob("csl_sample_2025*.csv"))
    with newest.open(newline="", encoding="utf-8") as fh:
        shared = list(csv.reader(fh))
    if shared[0] != HEADER:
        raise SystemExit(f"{newest}: not the CSL layout this generator writes")
    target = out / "csl" / f"csl_synthetic_{extra}_{PUBLICATION}.csv"
    with target.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh, quoting=csv.QUOTE_ALL)
        writer.writerow(HEADER)
        writer.writerows(shared[1:])  # the live CSL entries stay: nothing is dropped
        writer.writerows(rows(extra, seed))
    done.touch()
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--extra", type=int, required=True, help="synthetic entries to add")
    parser.add_argument("--seed", type=int, default=26)
    parser.add_argument("--lists-dir", type=Path, default=DEFAULT_LISTS)
    args = parser.parse_args()
    print(scaled_lists(args.extra, lists_dir=args.lists_dir, seed=args.seed))


if __name__ == "__main__":
    main()
