"""The matcher on a small in-memory list (pure logic, no I/O)."""

from __future__ import annotations

import pytest

from screening.matching.matcher import MatchIndex
from screening.matching.names import compare_names, prepare_name
from screening.matching.translit import hangul_to_latin, latin_variants, skeleton
from screening.matching.types import Query
from screening.matching.weights import ALERT_THRESHOLD
from screening.model.entities import DateBasis, Entity, EntityType, Identifier, Name


def entity(ref: str, name: str, kind: EntityType, *, source: str = "t", **extra: object) -> Entity:
    return Entity(
        id=f"{source}:{ref}",
        source=source,
        source_ref=ref,
        entity_type=kind,
        name=name,
        **extra,  # type: ignore[arg-type]
    )


@pytest.fixture(scope="module")
def index() -> MatchIndex:
    people = [
        entity(
            "1",
            "AREFULLAH AREF GHAZI MOHAMMAD",
            EntityType.PERSON,
            birth_dates=["1958"],
            countries=["AF"],
        ),
        entity("2", "HABIB BEN AHMED AL-LOUBIRI", EntityType.PERSON),
        entity("3", "KIM JONG UN", EntityType.PERSON, birth_dates=["1984-01-08"]),
        entity(
            "4",
            "PUTIN, Vladimir Vladimirovich",
            EntityType.PERSON,
            birth_dates=["1952-10-07"],
            countries=["RU"],
        ),
        entity(
            "5",
            "LIMITED LIABILITY COMPANY AURUS",
            EntityType.ORGANIZATION,
            identifiers=[Identifier("tax_id", "7743237789", "RU")],
        ),
        entity("6", "GOLDEN DRAGON TRADING CO., LTD.", EntityType.ORGANIZATION),
        entity("7", "JSC ARGUMENT", EntityType.ORGANIZATION),
        entity("8", "EBANO", EntityType.VESSEL, identifiers=[Identifier("imo", "7406784")]),
        entity("9", "MUHAMMAD BIN SALMAN AL-RAWI", EntityType.PERSON),
    ]
    filler = [
        entity(f"f{i}", f"MOHAMMAD TRADING {w}", EntityType.ORGANIZATION)
        for i, w in enumerate(["ALPHA", "BETA", "GAMMA", "DELTA", "OMEGA"])
    ]
    return MatchIndex(people + filler)


def top(index: MatchIndex, name: str, kind: EntityType = EntityType.UNKNOWN, **kw: object):
    results = index.screen(Query([name], kind, **kw))  # type: ignore[arg-type]
    return results[0] if results else None


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("ООО «Аурус»", "t:5"),
        ("Aurus LLC", "t:5"),
        ("Obshchestvo s Ogranichennoy Otvetstvennostyu Aurus", "t:5"),
        ("JSCARGUMENT", "t:7"),
        ("Vladimir Putin", "t:4"),
        ("PUTIN Wladimir", "t:4"),
        ("AREFULLAHA REF GHAZI MOHAMMAD", "t:1"),  # words cut elsewhere
    ],
)
def test_disguised_names_are_found(index, query, expected):
    hit = top(index, query)
    assert hit is not None and hit.entity.id == expected, hit
    assert hit.score >= ALERT_THRESHOLD


def test_hangul_name_needs_corroboration(index):
    """A Korean name in Hangul is found in its DPRK romanisation, but three common
    syllables alone are no alert: a birth date makes one."""
    assert top(index, "김정은") is None
    near = index.screen(Query(["김정은"]), min_score=0.5)
    assert near and near[0].entity.id == "t:3"
    hit = top(index, "김정은", birth_date="1984-01-08")
    assert hit is not None and hit.entity.id == "t:3" and hit.score >= ALERT_THRESHOLD


def test_shared_generic_words_do_not_match(index):
    assert top(index, "Sunrise Trading Co., Ltd.", EntityType.ORGANIZATION) is None


def test_different_middle_name_is_a_conflict(index):
    assert top(index, "HABIB BEN KHALIFA AL-LOUBIRI", EntityType.PERSON) is None


def test_reversed_patronymic_chain(index):
    assert top(index, "SALMAN BIN MUHAMMAD AL-RAWI", EntityType.PERSON) is None


def test_birth_date_conflict_lowers_score(index):
    same = top(index, "Vladimir Putin", EntityType.PERSON, birth_date="1952-10-07")
    other = index.screen(Query(["Vladimir Putin"], EntityType.PERSON, "1990-01-01"), min_score=0.0)[
        0
    ]
    assert same.score > other.score
    assert any(c.feature == "birth_date" and c.contribution < 0 for c in other.components)


def test_identifier_is_decisive(index):
    hit = top(index, "Some Other Name", identifiers=[Identifier("imo", "IMO 7406784")])
    assert hit is not None and hit.entity.id == "t:8" and hit.score >= 0.99
    tax = top(
        index, "Aurus", EntityType.ORGANIZATION, identifiers=[Identifier("tax_id", "7743237789")]
    )
    assert tax.entity.id == "t:5" and tax.score >= 0.99


def test_explanation_names_the_alias_and_features(index):
    hit = top(index, "Vladimir Putin", EntityType.PERSON, birth_date="1952", country="RU")
    features = {c.feature for c in hit.components}
    assert {"name", "birth_date", "country"} <= features
    assert "PUTIN, Vladimir Vladimirovich" in hit.components[0].detail


def test_candidate_search_equals_brute_force(index):
    for name in ["Aurus", "Putin", "MOHAMMAD TRADING", "Kim Jong", "EBANO"]:
        query = Query([name])
        fast = {m.entity.id for m in index.screen(query, min_score=0.5, limit=0)}
        full = {m.entity.id for m in index.brute_force(query, min_score=0.5)}
        assert fast == full, name


PERSON = EntityType.PERSON
ORGANIZATION = EntityType.ORGANIZATION


def uniform(text: str, kind: EntityType):
    return prepare_name(text, kind, lambda _token: 1.0)


def test_name_score_subset_vs_conflict():
    subset = compare_names(
        uniform("DOST MOHAMMAD", PERSON), uniform("DOST MOHAMMAD KHAN HAQQANI", PERSON)
    )
    conflict = compare_names(
        uniform("DOST MOHAMMAD ALI", PERSON), uniform("DOST MOHAMMAD KHAN", PERSON)
    )
    assert subset.score > conflict.score


def test_legal_form_weighs_little():
    same = compare_names(uniform("Siemens GmbH", ORGANIZATION), uniform("Siemens", ORGANIZATION))
    assert same.score >= 0.9


def test_scripts():
    assert hangul_to_latin("김정은", dprk=True) == "kim jong un"
    assert hangul_to_latin("김정은", dprk=False) == "gim jeong eun"
    assert len(latin_variants("김정은")) == 2
    assert skeleton("fernando") == skeleton("frnndw")
    assert skeleton("mohammed") == skeleton("mhmd")


def test_first_seen_basis_ranks_after_official():
    official = entity(
        "a",
        "JOHN DOE",
        EntityType.PERSON,
        designation_date="2001-01-01",
        designation_date_basis=DateBasis.OFFICIAL,
    )
    seen = entity(
        "b",
        "JOHN DOE",
        EntityType.PERSON,
        designation_date="2001-01-01",
        designation_date_basis=DateBasis.FIRST_SEEN,
    )
    # A common name: below the alert threshold without corroboration, ordered all the same.
    results = MatchIndex([seen, official]).screen(Query(["John Doe"]), min_score=0.5)
    assert [r.entity.id for r in results] == ["t:a", "t:b"]


def test_aliases_are_screened():
    ent = entity(
        "z",
        "ZZZ HOLDING",
        EntityType.ORGANIZATION,
        aliases=[Name("BLUE OCEAN SHIPPING", "aka", "strong")],
    )
    hit = MatchIndex([ent]).screen(Query(["Blue Ocean Shipping"]))[0]
    assert hit.matched_name == "BLUE OCEAN SHIPPING"


def test_copies_of_a_designation_follow_their_origin():
    """A national entry citing the UN entry it implements ranks right after it, even when
    the copy agrees on one more detail; an unrelated entry keeps its place by score."""
    name = "KAMAL HASSAN AL-HAMRAOUI"
    origin = entity("X1", name, EntityType.PERSON, source="un", birth_dates=["1977-10-21"])
    copy = entity(
        "9", name, EntityType.PERSON, source="uk", birth_dates=["1977-11-21"], related=["un:X1"]
    )
    other = entity("o", "KAMAL HASSAN AL-HAMRAOUY", EntityType.PERSON)
    index = MatchIndex([copy, other, origin], source_order=["un", "uk", "t"])
    results = index.screen(Query(["Kamal Hassan al-Hamraoui"], birth_date="1977-11-21"))
    ids = [r.entity.id for r in results]
    assert ids[:2] == ["un:X1", "uk:9"], ids
    assert "t:o" in ids[2:]


def test_near_tied_scores_go_to_the_source_order():
    """Two lists' spellings of one name a few thousandths apart: the list order decides."""
    un = entity("Y4", "ABDULMALIK AL-HOUTHI", EntityType.PERSON, source="un")
    sdn = entity("1", "AL HOUTHI, Abdul Malik", EntityType.PERSON, source="ofac-sdn")
    index = MatchIndex([sdn, un], source_order=["un", "ofac-sdn"])
    results = index.screen(Query(["ABDULMALIK AL-HHOUTHI"], EntityType.PERSON))
    assert len(results) == 2
    assert abs(results[0].score - results[1].score) < 0.01
    assert results[0].entity.id == "un:Y4"


def test_glued_consonant_skeletons_are_not_a_match_by_their_marks():
    """An Arabic-script name against a short Latin one: gluing their consonant skeletons
    ("hsn ms" / "hsnk s") must compare letters only, and count for what a skeleton pair is."""
    index = MatchIndex(
        [
            entity("s", "HSING, Su", EntityType.PERSON),
            entity("h", "Hussein MUHAMMAD", EntityType.PERSON),
        ]
    )
    query = Query(["حسین موسوی"], EntityType.PERSON)
    assert "t:s" not in {r.entity.id for r in index.brute_force(query)}
    # Two common names compared as consonant skeletons prove little: found, no alert.
    assert top(index, "محمد حسین", EntityType.PERSON) is None
    hit = index.screen(Query(["محمد حسین"], EntityType.PERSON), min_score=0.1)[0]
    assert hit.entity.id == "t:h"
    detail = hit.components[0].detail
    assert "consonant skeletons" in detail and "\x00" not in detail, detail


def test_english_words_written_in_cyrillic_are_found():
    """Russian registries write English names in Cyrillic letters ("Сервис Компани")."""
    index = MatchIndex(
        [
            entity("e1", "BALTIC FINANCE SERVICE COMPANY", EntityType.ORGANIZATION),
            entity("e2", "BALTIC TRADING HOUSE", EntityType.ORGANIZATION),
        ]
    )
    hit = top(index, "Балтик Финанс Сервис Компани", EntityType.ORGANIZATION)
    assert hit is not None and hit.entity.id == "t:e1", hit


def test_exact_common_full_name_alone_is_review_never_block():
    """Class 8: the same full name, however common, is evidence for review; BLOCK needs a
    rare name or corroboration."""
    index = MatchIndex(
        [
            entity("c1", "MOHAMED OMAR MOHAMED", EntityType.PERSON, birth_dates=["1976"]),
            entity("c2", "ZAFARULLAH QASSIMOV", EntityType.PERSON),
        ]
    )
    common = top(index, "Mohamed Omar Mohamed", EntityType.PERSON)
    assert common is not None and ALERT_THRESHOLD <= common.score < 0.95
    dated = top(index, "Mohamed Omar Mohamed", EntityType.PERSON, birth_date="1976-05-02")
    assert dated is not None and dated.score > common.score
    rare = top(index, "Zafarullah Qassimov", EntityType.PERSON)
    assert rare is not None and rare.score >= 0.95
    # a common name that only half agrees is no alert at all
    assert top(index, "Mohamed Omar", EntityType.PERSON) is None


def test_short_organisation_names_agree_only_as_spelt():
    """Brands, tickers and acronyms one letter apart are other names when screening; the
    same spelling (or transliteration) still matches, and CompareParties reads a typo."""
    index = MatchIndex(
        [
            entity("k", "KADEK", EntityType.ORGANIZATION),
            entity("z", "LLC FORTA", EntityType.ORGANIZATION),
        ]
    )
    assert top(index, "Kade", EntityType.ORGANIZATION) is None
    assert top(index, "Forza s.r.l.", EntityType.ORGANIZATION) is None
    hit = top(index, "Forta GmbH", EntityType.ORGANIZATION)
    assert hit is not None and hit.entity.id == "t:z"
    score, _ = index.compare(
        Query(["Kade"], EntityType.ORGANIZATION), Query(["KADEK"], EntityType.ORGANIZATION)
    )
    assert score > 0.5
