"""`screening eval-data`: generated innocent people and companies (Faker, fixed seed)."""

from __future__ import annotations

import json
from pathlib import Path

from screening.harness.eval_data import LOCALES, ORGS_FILE, PEOPLE_FILE, company_formats, generate
from screening.matching.translit import LATIN, script_of


def read(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def test_same_seed_same_files(tmp_path: Path):
    generate(tmp_path / "a", seed=5, people=200, orgs=200)
    generate(tmp_path / "b", seed=5, people=200, orgs=200)
    for file in (PEOPLE_FILE, ORGS_FILE):
        assert (tmp_path / "a" / file).read_text() == (tmp_path / "b" / file).read_text()


def test_cases_cover_the_locales_in_native_scripts_and_latin(tmp_path: Path):
    counts = generate(tmp_path, people=640, orgs=640)
    assert counts == {PEOPLE_FILE: 640, ORGS_FILE: 640}
    for file, kind in ((PEOPLE_FILE, "PERSON"), (ORGS_FILE, "ORGANIZATION")):
        cases = read(tmp_path / file)
        assert len({c["query"]["name"] for c in cases}) == len(cases)
        assert all(
            c["expect"] == {"hit": False} and c["query"]["entity_type"] == kind for c in cases
        )
        variants = {c["variant"] for c in cases}
        assert {v.split("/")[0] for v in variants} == set(LOCALES)
        native = [c for c in cases if c["variant"].endswith("/native")]
        latin = [c for c in cases if c["variant"].startswith("ru_RU/latin")]
        # (a native company may carry a Latin suffix: "मेनन Group")
        in_script = [c for c in native if script_of(c["query"]["name"]) != LATIN]
        assert native and len(in_script) > 0.9 * len(native)
        assert latin and all(script_of(c["query"]["name"]) == LATIN for c in latin)


def test_companies_never_come_from_a_catalogue_of_real_ones():
    for locale in LOCALES:
        formats = company_formats(locale)
        assert formats, locale
        assert not any("large_company" in f for f in formats), locale
