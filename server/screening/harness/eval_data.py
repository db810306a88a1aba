"""`screening eval-data OUT`: generated evaluation sets of innocent people and organisations.

Names come from Faker's locales, with a fixed seed, so the same command writes the same
files anywhere: people and companies of sixteen locales, those of non-Latin locales half in
their own script and half in Latin letters (Faker's own romanisation where it has one,
else ICU's transliteration, which the matcher does not use). Half of the people carry a
birth date and half a country; half of the companies a country. Every case is expected to
match nothing (`expect.hit` false), in the case format of ../shared/eval/dev, so
`screening eval` reads these files beside the dev set.
"""

from __future__ import annotations

import json
import random
from collections.abc import Callable
from pathlib import Path
from typing import Any

LOCALES = (
    "en_US",
    "en_GB",
    "de_DE",
    "fr_FR",
    "it_IT",
    "es_MX",
    "tr_TR",
    "ru_RU",
    "uk_UA",
    "ko_KR",
    "zh_CN",
    "zh_TW",
    "ja_JP",
    "ar_AA",
    "fa_IR",
    "hi_IN",
)
# The country a locale's people and companies are screened with (ar_AA is Faker's
# generic Arabic: Egypt stands for it).
COUNTRY = {
    "en_US": "US",
    "en_GB": "GB",
    "de_DE": "DE",
    "fr_FR": "FR",
    "it_IT": "IT",
    "es_MX": "MX",
    "tr_TR": "TR",
    "ru_RU": "RU",
    "uk_UA": "UA",
    "ko_KR": "KR",
    "zh_CN": "CN",
    "zh_TW": "TW",
    "ja_JP": "JP",
    "ar_AA": "EG",
    "fa_IR": "IR",
    "hi_IN": "IN",
}
# Company names are made from a locale's patterns and its people's surnames, never taken
# from Faker's catalogues of real companies (ru_RU's and tr_TR's large companies, fa_IR's
# listed companies): some of those are on the sanctions lists, and none is innocent by
# construction. fa_IR has no patterns of its own; these are the usual Persian forms
# ("company X", "X and partners", "X industrial group", "X trading").
PERSIAN_FORMATS = (
    "شرکت {{last_name}}",
    "{{last_name}} و شرکا",
    "گروه صنعتی {{last_name}}",
    "بازرگانی {{last_name}}",
)
NATIVE_LATIN = frozenset({"en_US", "en_GB", "de_DE", "fr_FR", "it_IT", "es_MX", "tr_TR"})
DEFAULT_SEED = 22
PEOPLE_FILE = "generated_people.jsonl"
ORGS_FILE = "generated_orgs.jsonl"


def company_formats(locale: str) -> tuple[str, ...]:
    """The locale's company-name patterns, without those that draw a real company."""
    import importlib

    from faker.providers import company

    if locale == "fa_IR":
        return PERSIAN_FORMATS
    try:
        provider = importlib.import_module(f"faker.providers.company.{locale}").Provider
    except ModuleNotFoundError:
        provider = company.Provider
    return tuple(f for f in provider.formats if "large_company" not in f)


def _latin() -> Callable[[str], str]:
    import icu

    transliterator = icu.Transliterator.createInstance("Any-Latin; Latin-ASCII")
    return lambda text: " ".join(transliterator.transliterate(text).split())


def generate(
    out_dir: Path, *, seed: int = DEFAULT_SEED, people: int = 10_000, orgs: int = 10_000
) -> dict[str, int]:
    """Write the two sets to `out_dir`; returns the number of cases of each file."""
    from faker import Faker

    out_dir.mkdir(parents=True, exist_ok=True)
    rng = random.Random(seed)
    latin = _latin()
    fakers = {}
    for i, locale in enumerate(LOCALES):
        fake = Faker(locale)
        fake.seed_instance(seed * 100 + i)
        fakers[locale] = fake

    def person(locale: str, in_latin: bool) -> dict[str, Any]:
        fake = fakers[locale]
        if not in_latin or locale in NATIVE_LATIN:
            name = fake.name()
        elif hasattr(fake, "romanized_name"):
            name = fake.romanized_name()
        else:
            name = latin(fake.name())
        query: dict[str, Any] = {"name": name, "entity_type": "PERSON"}
        if rng.random() < 0.5:
            query["birth_date"] = fake.date_of_birth(minimum_age=18, maximum_age=90).isoformat()
        if rng.random() < 0.5:
            query["country"] = COUNTRY[locale]
        return query

    formats = {locale: company_formats(locale) for locale in LOCALES}

    def company(locale: str, in_latin: bool) -> dict[str, Any]:
        fake = fakers[locale]
        name = fake.parse(fake.random_element(formats[locale]))
        if in_latin and locale not in NATIVE_LATIN:
            name = latin(name)
        query: dict[str, Any] = {"name": name, "entity_type": "ORGANIZATION"}
        if rng.random() < 0.5:
            query["country"] = COUNTRY[locale]
        return query

    counts = {}
    for file, set_name, count, make in (
        (PEOPLE_FILE, "gen-people", people, person),
        (ORGS_FILE, "gen-orgs", orgs, company),
    ):
        seen: set[str] = set()
        cases: list[dict[str, Any]] = []
        attempts = 0
        while len(cases) < count and attempts < count * 20:
            attempts += 1
            locale = LOCALES[attempts % len(LOCALES)]
            in_latin = locale in NATIVE_LATIN or rng.random() < 0.5
            query = make(locale, in_latin)
            if not query["name"] or query["name"] in seen:
                continue
            seen.add(query["name"])
            script = "latin" if in_latin else "native"
            cases.append(
                {
                    "id": f"{set_name}-{len(cases)}",
                    "set": set_name,
                    "variant": f"{locale}/{script}",
                    "query": query,
                    "expect": {"hit": False},
                }
            )
        with (out_dir / file).open("w", encoding="utf-8") as fh:
            for case in cases:
                fh.write(json.dumps(case, ensure_ascii=False) + "\n")
        counts[file] = len(cases)
    return counts


def run_generate(out_dir: Path, *, seed: int, people: int, orgs: int) -> int:
    counts = generate(out_dir, seed=seed, people=people, orgs=orgs)
    for file, count in counts.items():
        print(f"{out_dir / file}: {count} cases")
    return 0
