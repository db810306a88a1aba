"""Every list format on the real published files (and the EU FSF on a sample we wrote to its
schema): entry counts as the files state them, names and alias quality, dates and their
basis, identifiers; truncated files are rejected whole."""

from __future__ import annotations

import json
import shutil
from collections import Counter
from pathlib import Path

import pytest

from screening.model.entities import DateBasis, EntityType
from screening.sources.ca_sema import parse_sema
from screening.sources.common import ParseError
from screening.sources.eu_fsf import parse_fsf
from screening.sources.ofac_advanced import parse_advanced
from screening.sources.ofac_csv import parse_sdn_csv
from screening.sources.ofac_xml import parse_sdn_xml
from screening.sources.registry import FORMATS_BY_NAME, detect, discover_all, parse_fileset
from screening.sources.uk_ofsi import parse_csv, parse_xlsx, uk_date
from screening.sources.uk_sanctions_list import parse_ods
from screening.sources.us_bis_dpl import parse_dpl
from screening.sources.us_csl import parse_csl_csv, parse_csl_json

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"


def by_id(entities):
    return {e.id: e for e in entities}


def test_ofac_consolidated_xml(lists_dir):
    entities = by_id(
        parse_sdn_xml(lists_dir / "ofac/CONSOLIDATED_nonSDN_2026-01-08.xml", "ofac-cons")
    )
    assert len(entities) == 442  # publshInformation/Record_Count
    zahhar = entities["ofac-cons:9647"]
    assert zahhar.name == "ZAHHAR, Mahmoud Khaled"  # OFAC order, as in the CSV
    assert {(a.full, a.quality) for a in zahhar.aliases} >= {
        ("AL ZAHAR, Mahmoud Khaled", "strong"),
        ("ZAHAR, Mahmoud", "weak"),
    }
    assert zahhar.designation_date_basis == DateBasis.NONE  # the schema has no dates
    assert len(parse_sdn_xml(lists_dir / "ofac/CONSOLIDATED_nonSDN_2025-03-28.xml", "x")) == 443


def test_ofac_xml_entry_count_must_match_record_count(lists_dir, tmp_path):
    text = (lists_dir / "ofac/CONSOLIDATED_nonSDN_2026-01-08.xml").read_text()
    start = text.index("<sdnEntry>")
    end = text.index("</sdnEntry>", start) + len("</sdnEntry>")
    short = tmp_path / "consolidated.xml"
    short.write_text(text[:start] + text[end:])  # well-formed, one entry fewer
    with pytest.raises(ParseError, match="441 entries, the file says 442"):
        parse_sdn_xml(short, "ofac-cons")


def test_ofac_advanced_xml_official_dates(lists_dir):
    entities = by_id(parse_advanced(lists_dir / "ofac/cons_advanced_2020-03-17.xml", "ofac-cons"))
    assert len(entities) == 375  # DistinctParty
    assert Counter(e.designation_date_basis for e in entities.values()) == {DateBasis.OFFICIAL: 375}
    # Listed on the PLC list on 2006-04-12; the 2014 "Consolidated List" stamp is not it.
    assert entities["ofac-cons:9647"].designation_date == "2006-04-12"
    bektas = entities["ofac-cons:17526"]
    assert bektas.entity_type == EntityType.PERSON
    assert bektas.birth_dates == ["1966-02-13"]
    assert ("passport", "X0906223", "CH") in {
        (i.type, i.value, i.country) for i in bektas.identifiers
    }
    assert sum(a.quality == "weak" for e in entities.values() for a in e.aliases) == 31


def test_ofac_cons_csv_family(lists_dir):
    d = lists_dir / "ofac"
    entities = by_id(
        parse_sdn_csv(
            d / "cons_prim_2025-12.csv",
            [
                d / "cons_add_2025-12.csv",
                d / "cons_alt_2025-12.csv",
                d / "cons_comments_2025-12.csv",
            ],
            source="ofac-cons",
        )
    )
    assert len(entities) == 442
    assert entities["ofac-cons:9647"].programs == ["SDGT", "NS-PLC"]


def test_uk_ofsi_csv_and_xlsx_are_one_publication(lists_dir):
    from_csv = parse_csv(lists_dir / "uk/ConList_2025-04-14.csv")
    from_xlsx = parse_xlsx(lists_dir / "uk/ConList_2025-04-14.xlsx")
    assert len(from_csv) == 4688  # Group IDs
    assert from_csv == from_xlsx
    entities = by_id(from_csv)
    haq = entities["uk:15672"]
    assert haq.name == "Mian Abdul HAQ"
    assert haq.designation_date == "2022-12-09"
    assert haq.designation_date_basis == DateBasis.OFFICIAL
    assert haq.properties["uk_sanctions_list_ref"] == "GHR0086"
    hassine = entities["uk:13130"]
    assert ("Abou IYADH", "weak") in {(a.full, a.quality) for a in hassine.aliases}
    assert ("Saifallah BEN HASSINE", "strong") in {(a.full, a.quality) for a in hassine.aliases}
    assert ("passport", "G557170", "TN") in {
        (i.type, i.value, i.country) for i in hassine.identifiers
    }
    ship = entities["uk:13651"]
    assert ship.entity_type == EntityType.VESSEL
    assert ("imo", "7408873") in {(i.type, i.value) for i in ship.identifiers}


def test_uk_dates_with_unknown_parts():
    assert uk_date("14/04/2025") == "2025-04-14"
    assert uk_date("00/00/1962") == "1962"
    assert uk_date("00/05/1962") == "1962-05"


def test_uk_sanctions_list_ods(lists_dir, caplog):
    entities = by_id(parse_ods(lists_dir / "uk/FCDO_SL_Mon_Aug_11_2025.ods"))
    # 5,302 rows; two of them (BEL0174, RUS1467) have an empty Name in the publication.
    assert len(entities) == 5300
    assert "uk-sl:BEL0174" not in entities
    assert any("without a name" in r.getMessage() for r in caplog.records)
    afg = entities["uk-sl:AFG0001"]
    assert afg.designation_date == "2012-06-29"
    assert afg.designation_date_basis == DateBasis.OFFICIAL
    assert Counter(e.entity_type for e in entities.values())[EntityType.VESSEL] == 461


def test_canada_sema(lists_dir):
    entities = parse_sema(lists_dir / "canada/sema_autonomous_2025.xml")
    assert len(entities) == 4759
    assert all(e.designation_date_basis == DateBasis.OFFICIAL for e in entities)
    first = entities[0]
    assert (first.name, first.designation_date) == (
        "Khazalbek Bakhtibekovich Atabekov",
        "2020-09-28",
    )
    vessels = [e for e in entities if e.entity_type == EntityType.VESSEL]
    assert len(vessels) == 109
    assert ("imo", "7612448") in {(i.type, i.value) for v in vessels for i in v.identifiers}
    mashadziyeu = next(e for e in entities if e.name == "Ruslan Khikmetavich MASHADZIYEU")
    assert "Руслан Хикметович МАШАДИЕВ" in {a.full for a in mashadziyeu.aliases}  # no label


def test_bis_denied_persons(lists_dir):
    entities = parse_dpl(lists_dir / "bis/dpl_2022-09.txt")
    assert len(entities) == 581
    villa = next(e for e in entities if e.name == "AARON ABRAHAM VILLA")
    assert villa.designation_date == "2022-08-24"  # 08/24/2022, month first
    assert villa.properties["expiration_date"] == "2026-01-14"
    assert villa.countries == ["US"]


def test_consolidated_screening_list_csv(lists_dir):
    current = by_id(parse_csl_csv(lists_dir / "csl/csl_sample_2025-06_12rows_watchman.csv"))
    assert len(current) == 13
    entity_list = next(e for e in current.values() if e.programs[0] == "EL")
    assert entity_list.designation_date_basis == DateBasis.OFFICIAL  # start_date
    sdn = current["us-csl:52291"]
    assert sdn.designation_date_basis == DateBasis.NONE  # Treasury rows: first seen
    assert ("passport", "836238033", "KP") in {
        (i.type, i.value, i.country) for i in sdn.identifiers
    }
    older = by_id(parse_csl_csv(lists_dir / "csl/csl_sample_2019_watchman.csv"))
    assert len(older) == 115
    assert ("tax_id", "80-0890696", "US") in {
        (i.type, i.value, i.country) for i in older["us-csl:20264"].identifiers
    }


def test_consolidated_screening_list_json(tmp_path):
    # Written by us in the layout of the trade.gov JSON download (results[], objects for
    # addresses and ids); two rows of the real CSV sample.
    data = {
        "total": 2,
        "results": [
            {
                "id": "9673",
                "source": "Palestinian Legislative Council List (PLC) - Treasury Department",
                "entity_number": "9673",
                "type": "Individual",
                "programs": ["NS-PLC"],
                "name": "Mohammed ABU JHEISHEH",
                "addresses": [],
                "start_date": None,
                "alt_names": ["Mohammad Mutlaq ABU JHESHEH", "Mohammed ABU JEHEISHA"],
                "dates_of_birth": ["1955"],
                "ids": [],
            },
            {
                "id": "66f6ab3f26234b75a9093fce79ef0ce0",
                "source": "Military End User (MEU) List - Bureau of Industry and Security",
                "name": "Academy of Aerospace Solid Propulsion Technology (AASPT)",
                "addresses": [
                    {
                        "address": "Tian Wang te Zi #1, Baqiao District",
                        "city": "Xian",
                        "country": "CN",
                    }
                ],
                "start_date": "2020-12-23",
                "alt_names": [],
                "ids": [{"type": "Registration ID", "number": "X1", "country": "CN"}],
            },
        ],
    }
    path = tmp_path / "consolidated.json"
    path.write_text(json.dumps(data))
    assert FORMATS_BY_NAME["us-csl-json"].detect(path, path.read_bytes()[:4096])
    entities = by_id(parse_csl_json(path))
    plc = entities["us-csl:9673"]
    assert plc.programs == ["PLC", "NS-PLC"] and plc.birth_dates == ["1955"]
    meu = entities["us-csl:66f6ab3f26234b75a9093fce79ef0ce0"]
    assert meu.designation_date == "2020-12-23"
    assert meu.addresses[0].country == "CN"
    assert ("registration", "X1", "CN") in {(i.type, i.value, i.country) for i in meu.identifiers}
    data["total"] = 3
    path.write_text(json.dumps(data))
    with pytest.raises(ParseError, match="the file says 3"):
        parse_csl_json(path)


def test_eu_fsf_sample_written_to_the_schema():
    path = FIXTURES / "eu_fsf_sample.xml"
    assert detect(path) is FORMATS_BY_NAME["eu-fsf-xml"]
    entities = by_id(parse_fsf(path))
    badege = entities["eu:13000"]
    assert badege.entity_type == EntityType.PERSON
    assert badege.designation_date == "2013-01-02"  # designationDate
    assert badege.designation_date_basis == DateBasis.OFFICIAL
    assert [(a.full, a.quality) for a in badege.aliases] == [("Erik Badegue", "weak")]
    assert badege.nationalities == ["CD"] and badege.birth_dates == ["1971-01-01"]
    company = entities["eu:14000"]
    assert company.designation_date == "2022-06-03"  # earliest regulation
    assert ("tax_id", "7700000001", "RU") in {
        (i.type, i.value, i.country) for i in company.identifiers
    }
    assert entities["eu:15000"].entity_type == EntityType.VESSEL


def test_discovery_takes_one_format_of_a_publication(lists_dir):
    kept, skipped = discover_all(lists_dir)
    uk = [fs for fs in kept if fs.source == "uk"]
    assert [fs.format for fs in uk] == ["uk-ofsi-csv"]
    assert [(s.fileset.format, s.kept.format) for s in skipped] == [("uk-ofsi-xlsx", "uk-ofsi-csv")]
    dates = {fs.main.name: fs.publication_date for fs in kept}
    assert dates["FCDO_SL_Mon_Aug_11_2025.ods"] == "2025-08-11"
    assert dates["CONSOLIDATED_nonSDN_2026-01-08.xml"] == "2026-01-08"
    assert {fs.source for fs in kept} == {
        "ofac-sdn",
        "ofac-cons",
        "un",
        "uk",
        "uk-sl",
        "ca-sema",
        "us-bis-dpl",
        "us-csl",
    }


TRUNCATABLE = [
    "ofac/CONSOLIDATED_nonSDN_2026-01-08.xml",
    "ofac/cons_advanced_2020-03-17.xml",
    "ofac/cons_prim_2025-12.csv",
    "un/UN_consolidated_2026-02-27.xml",
    "uk/ConList_2025-04-14.csv",
    "uk/ConList_2025-04-14.xlsx",
    "uk/FCDO_SL_Mon_Aug_11_2025.ods",
    "canada/sema_autonomous_2025.xml",
    "bis/dpl_2022-09.txt",
    "csl/csl_sample_2019_watchman.csv",
]


@pytest.mark.parametrize("name", TRUNCATABLE)
def test_truncated_file_is_rejected_whole(lists_dir, tmp_path, name):
    source = lists_dir / name
    fmt = detect(source)
    assert fmt is not None
    target = tmp_path / source.name
    raw = source.read_bytes()
    target.write_bytes(raw[: int(len(raw) * 0.6)])
    [fileset], _ = discover_all(tmp_path)
    with pytest.raises(ParseError):
        parse_fileset(fileset)
    shutil.rmtree(tmp_path, ignore_errors=True)
