"""Name normalisation: folding, legal forms, honorifics, numbers (pure logic)."""

from __future__ import annotations

import pytest

from screening.matching.normalize import fold, name_tokens
from screening.model.entities import EntityType

PERSON = EntityType.PERSON
ORGANIZATION = EntityType.ORGANIZATION
UNKNOWN = EntityType.UNKNOWN


def test_fold_accents_case_punctuation():
    assert fold("Soňa  Kolář") == "sona kolar"
    assert fold("O'Brien-Smith") == "obrien smith"
    assert fold("AL-QA'IDA") == "al qaida"


def test_cyrillic_and_legal_form():
    assert name_tokens("ООО «Аурус»", ORGANIZATION) == ("llc", "aurus")
    assert name_tokens("Limited Liability Company Aurus", ORGANIZATION) == ("llc", "aurus")
    assert name_tokens("Aurus LLC", UNKNOWN) == ("aurus", "llc")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Public Joint Stock Company Sberbank", ("jsc", "sberbank")),
        ("PAO Sberbank", ("jsc", "sberbank")),
        ("Huawei Technologies Co., Ltd.", ("huawei", "technologies", "llc")),
        ("Siemens GmbH", ("siemens", "llc")),
        ("Obshchestvo s Ogranichennoy Otvetstvennostyu Aurus", ("llc", "aurus")),
        (
            "Zakrytoe Aktsionernoe Obshchestvo Russian Copper Company",
            ("jsc", "russian", "copper", "co"),
        ),
        ("Gulf Star Free Zone Establishment", ("gulf", "star", "llc")),
    ],
)
def test_legal_forms(text, expected):
    assert name_tokens(text, ORGANIZATION) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Bank Zenit Public Joint Tock Company", ("bank", "zenit", "jsc")),  # a letter lost
        ("PJSSC Polyus", ("jsc", "polyus")),  # a letter doubled in a short form
        ("Dynasty International Conpany Ltd", ("dynasty", "international", "co", "llc")),
        ("Obshchestvo s ogranichennoy otvetstvenostyu Romashka", ("llc", "romashka")),
    ],
)
def test_legal_forms_with_one_typo_at_either_end(text, expected):
    assert name_tokens(text, ORGANIZATION) == expected


def test_typos_are_forms_only_where_forms_stand():
    # inside a name, or a word too short to tell from a name word, stays as written
    assert name_tokens("Karl Schmidt GmbH", ORGANIZATION) == ("karl", "schmidt", "llc")
    assert name_tokens("Bank in London", ORGANIZATION) == ("bank", "in", "london")
    assert name_tokens("Limitted", ORGANIZATION) == ("limitted",)


def test_honorifics_dropped_for_persons_only():
    assert name_tokens("Shaikh Isa Bin Tarif", PERSON) == ("isa", "bin", "tarif")
    assert name_tokens("Dr. John Smith", UNKNOWN) == ("john", "smith")


def test_numbers_kept():
    assert "2007" in name_tokens("JPMorgan Mortgage Trust Series 2007-1", ORGANIZATION)
