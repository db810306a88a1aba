"""Chinese and Korean names read as family and given names (structure.py), and compared so."""

from __future__ import annotations

import pytest

from screening.harness.syllables import write as write_syllables
from screening.matching.names import compare_names, prepare_name
from screening.matching.normalize import name_tokens
from screening.matching.structure import (
    FAMILY,
    GIVEN,
    readings,
    same_syllable,
    unit_similarity,
)
from screening.matching.syllables import (
    SYLLABLES_FILE,
    read_syllables,
    syllable_inventory,
    wade_giles,
)
from screening.matching.weights import ALERT_THRESHOLD, TRANSLIT_KEY_SIMILARITY
from screening.model.entities import EntityType

PERSON = EntityType.PERSON


def read(text: str, native: bool = False) -> list[list[tuple[str, str]]]:
    return [
        [(unit.role, unit.glued) for unit in reading]
        for reading in readings(text, name_tokens(text, PERSON), native)
    ]


def uniform(text: str):
    return prepare_name(text, PERSON, lambda _token: 1.0)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # A hyphenated given name beside one syllable: that syllable is the family name.
        ("Kim Jong-un", [[(FAMILY, "kim"), (GIVEN, "jongun")]]),
        ("Guiying Chen", [[(GIVEN, "guiying"), (FAMILY, "chen")]]),
        # "SURNAME, Given": the comma tells.
        ("CHEN, Shih Huan", [[(FAMILY, "chen"), (GIVEN, "shihhuan")]]),
        # Three syllables apart: family name first or last, both read.
        (
            "Kim Jong Un",
            [[(FAMILY, "kim"), (GIVEN, "jongun")], [(GIVEN, "kimjong"), (FAMILY, "un")]],
        ),
    ],
)
def test_readings_follow_the_form(text, expected):
    assert read(text) == expected


def test_hangul_writes_the_family_name_first():
    [reading] = readings("김정은", ("gim", "jeong", "eun"), native=True)
    assert [(unit.role, unit.glued) for unit in reading] == [(FAMILY, "gim"), (GIVEN, "jeongeun")]


@pytest.mark.parametrize(
    "text",
    [
        "Hannibal",  # one word cuts into syllables ("han ni bal") but tells no parts
        "Pedro Sancho",  # "ped ro" / "san cho": a family name of two syllables is not read
        "Mario Lin",  # a given name of three syllables ("ma ri o") is not read
        "John Smith",  # not syllables
    ],
)
def test_other_names_are_not_read(text):
    assert read(text) == []


def test_romanisations_of_one_sound():
    assert wade_giles("xiong") == "hsiung"
    assert wade_giles("zhi") == "chih"
    assert same_syllable("ze", "tse")
    assert same_syllable("jeong", "jong")  # Revised Romanization / McCune-Reischauer
    assert not same_syllable("han", "huan")


def test_the_shipped_syllable_table_is_what_the_rules_give():
    # A matching process reads the file; the rules are where the table is changed.
    assert read_syllables(SYLLABLES_FILE) == syllable_inventory(), (
        "matching/data/syllables.tsv differs from matching/syllables.py's rules: "
        "run python -m screening.harness.syllables"
    )


def test_the_syllable_table_reads_back_as_written(tmp_path):
    path = tmp_path / "syllables.tsv"
    written = write_syllables(path)
    table = read_syllables(path)
    assert written == len(table) > 14_000
    assert table["tse"] == ("cce", "cze")  # Wade-Giles for pinyin "ce" and "ze"
    assert "k정" in table["jong"] and "k종" in table["jong"]
    # One string per sound, however many spellings write it (the table's memory).
    assert table["jeong"][table["jeong"].index("k정")] is table["jong"][table["jong"].index("k정")]


def test_a_given_name_is_one_unit():
    # A part of a given name is not that name.
    assert unit_similarity("jong", "jongun", True) == 0.0
    assert unit_similarity("wei", "weiming", True) == 0.0
    # The same sounds in another romanisation.
    assert unit_similarity("zedong", "tsetung", False) == TRANSLIT_KEY_SIMILARITY
    # A letter off in a syllable: a typo when two given parties are compared, another
    # name when screening against the lists.
    assert unit_similarity("shihhan", "shihhuan", True) > 0.8
    assert unit_similarity("shihhan", "shihhuan", False) == 0.0
    assert unit_similarity("pongryul", "pyongryul", True) > 0.8
    assert unit_similarity("jonguun", "jongun", True) > 0.8
    # A syllable wholly different is another name, however short.
    assert unit_similarity("hanbong", "hanjang", True) == 0.0


def test_structured_comparison_of_names():
    def score(left: str, right: str, screening: bool = True) -> float:
        return compare_names(uniform(left), uniform(right), screening=screening).score

    assert score("Mao Tse-tung", "Mao Zedong") >= ALERT_THRESHOLD
    assert score("Kim Jong-un", "KIM, Jong Un") == 1.0
    # One syllable of a two-syllable given name, or a given name sharing one syllable.
    assert score("Kim Jong", "Kim Jong Un") < ALERT_THRESHOLD
    assert score("Wang Wei", "Wang Wei-ming") < ALERT_THRESHOLD
    assert score("PAEK JIN-HO", "PAEK CHANG-HO") < ALERT_THRESHOLD
    assert score("CHEN SHIH-HAN", "CHEN, Shih Huan") < ALERT_THRESHOLD
    assert score("CHEN SHIH-HAN", "CHEN, Shih Huan", screening=False) >= ALERT_THRESHOLD


def test_agreement_by_sound_alone_proves_little():
    # The same name in another romanisation is a crowd of namesakes: alone, no alert.
    by_sound = compare_names(uniform("janghyeon-u"), uniform("Jang Hyon U"))
    spelt = compare_names(uniform("Jang Hyon-u"), uniform("Jang Hyon U"))
    assert by_sound.score >= ALERT_THRESHOLD
    assert by_sound.information < spelt.information
    assert by_sound.information <= 0.7
