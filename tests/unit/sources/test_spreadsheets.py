"""Spreadsheet rows under the caps (sources/spreadsheets.py), on the real OFSI workbook and
FCDO spreadsheet and on hostile variants of them."""

from __future__ import annotations

import re
import zipfile
from pathlib import Path

import pytest

from screening.sources.common import ParseError
from screening.sources.limits import ParseContext, ParseLimits
from screening.sources.spreadsheets import ods_rows, xlsx_head, xlsx_rows
from screening.sources.uk_ofsi import parse_xlsx
from tests.faults import hostile_files as hostile


def test_the_real_ods_reads_without_expanding_its_filler(lists_dir):
    rows = list(ods_rows(lists_dir / hostile.FCDO_ODS, ParseContext()))
    assert rows[0][:3] == ["Unique ID", "OFSI Group ID", "Name"]
    assert max(len(r) for r in rows) == 8  # the sheet declares 16,384 columns
    assert len(rows) == 5303


@pytest.mark.parametrize("value", [b"many", b"0", b"-5", b"99999999999"])
def test_an_ods_repeat_that_is_not_a_count_rejects_the_file(lists_dir, tmp_path, value):
    path = hostile.ods_bad_repeat(lists_dir, tmp_path, value)
    with pytest.raises(ParseError, match="not a count"):
        list(ods_rows(path, ParseContext()))


def _ods_with(lists_dir: Path, tmp_path: Path, pattern: bytes, repl: bytes) -> Path:
    def edit(content: bytes) -> bytes:
        return re.sub(pattern, repl, content, count=1)

    return hostile._rewrite_zip(
        lists_dir / hostile.FCDO_ODS, tmp_path / "FCDO.ods", {"content.xml": edit}
    )


def test_an_ods_cell_repeated_past_the_column_cap_rejects_the_file(lists_dir, tmp_path):
    # The header's first cell ('Unique ID') repeated a million times.
    path = _ods_with(
        lists_dir,
        tmp_path,
        rb'<table:table-cell office:value-type="string"',
        b'<table:table-cell table:number-columns-repeated="1000000" office:value-type="string"',
    )
    with pytest.raises(ParseError, match="more than the 256 columns"):
        list(ods_rows(path, ParseContext()))


def test_an_ods_row_repeated_past_the_row_cap_rejects_the_file(lists_dir, tmp_path):
    path = _ods_with(
        lists_dir,
        tmp_path,
        rb'<table:table-row table:style-name="ro1">',
        b'<table:table-row table:style-name="ro1" table:number-rows-repeated="2000000">',
    )
    with pytest.raises(ParseError, match="more than 1000000 rows"):
        list(ods_rows(path, ParseContext()))


def test_xlsx_shared_string_past_the_text_cap(lists_dir, tmp_path):
    path = hostile.xlsx_huge_shared_string(lists_dir, tmp_path, size=200_000)
    with pytest.raises(ParseError, match="a text of 200000 characters"):
        list(xlsx_rows(path, ParseContext()))


def test_xlsx_unpacked_size_cap(lists_dir, tmp_path):
    limits = ParseLimits(max_file_bytes=10_000_000)  # the real workbook unpacks to 17 MB
    with pytest.raises(ParseError, match="bytes unpacked, more than the 10000000"):
        list(xlsx_rows(lists_dir / hostile.CONLIST_XLSX, ParseContext(limits)))


def test_xlsx_far_cell_rejected_before_reading_rows(lists_dir, tmp_path):
    path = hostile.xlsx_far_cell(lists_dir, tmp_path)
    with pytest.raises(ParseError, match="a row numbered 1048576"):
        list(xlsx_rows(path, ParseContext()))
    limits = ParseLimits(max_rows=2_000_000)
    with pytest.raises(ParseError, match="a filled cell at XFD1048576, past the 256 columns"):
        list(xlsx_rows(path, ParseContext(limits)))


@pytest.mark.parametrize("build", [hostile.xlsx_external_entity, hostile.xlsx_entity_bomb])
def test_xlsx_entities_rejected(lists_dir, tmp_path, build):
    path = build(lists_dir, tmp_path)
    with pytest.raises(ParseError, match=r"DOCTYPE|amplification"):
        parse_xlsx(path)


def test_xlsx_head_reads_the_first_rows_only(lists_dir, tmp_path):
    rows = xlsx_head(lists_dir / hostile.CONLIST_XLSX)
    assert rows[0] == ["Last Updated", "14/04/2025"]
    assert rows[1][0] == "Name 6" and rows[1][-1] == "Group ID"
    # A hostile workbook costs detection nothing: its head is still just two rows, or none.
    assert xlsx_head(hostile.xlsx_far_cell(lists_dir, tmp_path))[0][0] == "Last Updated"
    assert xlsx_head(hostile.xlsx_entity_bomb(lists_dir, tmp_path)) == []


def test_openpyxl_reads_with_defusedxml():
    import openpyxl

    assert openpyxl.DEFUSEDXML


def test_a_package_of_too_many_parts_is_refused_before_zipfile_reads_them(tmp_path):
    path = tmp_path / "ConList.xlsx"
    with zipfile.ZipFile(path, "w") as archive:
        for n in range(70_000):  # past 65,535: the count is in the zip64 end record
            archive.writestr(f"part{n}", b"")
    with pytest.raises(ParseError, match="70000 parts, more than the 10000"):
        list(xlsx_rows(path, ParseContext()))
    assert xlsx_head(path) == []
