"""Parsing helpers and the OFAC remarks (pure logic)."""

from __future__ import annotations

from screening.model.countries import to_alpha2
from screening.sources.common import date_in_name, iso_date
from screening.sources.ofac_remarks import parse_remarks


def test_iso_date_spellings():
    assert iso_date("10 Dec 1948") == "1948-12-10"
    assert iso_date("Jan 1960") == "1960-01"
    assert iso_date("1960") == "1960"
    assert iso_date("1960-01-12T00:00:00") == "1960-01-12"
    assert iso_date("31/12/2012") == "2012-12-31"
    assert iso_date("nonsense") == ""


def test_date_in_name(tmp_path):
    assert date_in_name(tmp_path / "sdn_2024-02-23.csv") == "2024-02-23"
    assert date_in_name(tmp_path / "sdn_set_2021-07" / "sdn.csv") == "2021-07"


def test_countries():
    assert to_alpha2("Russia") == "RU"
    assert to_alpha2("Korea, North") == "KP"
    assert to_alpha2("Iran (Islamic Republic of)") == "IR"
    assert to_alpha2("Democratic Republic of the Congo") == "CD"
    assert to_alpha2("Atlantis") == ""


def test_remarks():
    facts = parse_remarks(
        "DOB 31 Aug 1960; alt. DOB 1953 to 1955; POB Al Basuriyah, Lebanon; nationality Iran; "
        "Passport 042833 (Lebanon); Tax ID No. 7743237789 (Russia); "
        "Vessel Registration Identification IMO 7406784; a.k.a. 'ABU ALI'; Gender Male."
    )
    assert facts.birth_dates == ["1960-08-31", "1953", "1954", "1955"]
    assert facts.nationalities == ["IR"]
    assert ("passport", "042833", "LB") in {(i.type, i.value, i.country) for i in facts.identifiers}
    assert ("tax_id", "7743237789", "RU") in {
        (i.type, i.value, i.country) for i in facts.identifiers
    }
    assert ("imo", "7406784") in {(i.type, i.value) for i in facts.identifiers}
    assert [(a.full, a.quality) for a in facts.weak_aliases] == [("ABU ALI", "weak")]
    assert facts.properties["gender"] == "Male"
