"""Hostile list files, built from the real shared publications by changing as little as an
attacker (or a broken mirror) would: one poisoned part of a workbook, one bad byte, one odd
attribute. Each builder writes into `dest` and returns the path it wrote.

The files keep the real publication's name and layout, so discovery takes them for the
genuine article and the parser meets the hostile bytes.
"""

from __future__ import annotations

import os
import re
import zipfile
from collections.abc import Callable
from pathlib import Path

CONLIST_XLSX = "uk/ConList_2025-04-14.xlsx"
CONLIST_CSV = "uk/ConList_2025-04-14.csv"
FCDO_ODS = "uk/FCDO_SL_Mon_Aug_11_2025.ods"
SDN_CSV = "ofac/sdn_2024-02-20.csv"
UN_XML = "un/UN_consolidated_2025-04-19.xml"
DPL_TXT = "bis/dpl_2022-09.txt"

_SHARED_STRINGS = "xl/sharedStrings.xml"
_SHEET = "xl/worksheets/sheet1.xml"

# Nine levels of ten: 10^9 copies of "lol" (3 GB) from a few hundred bytes.
BILLION_LAUGHS = (
    b'<!DOCTYPE sst [\n<!ENTITY lol0 "lol">\n'
    + b"".join(
        b'<!ENTITY lol%d "' % n + (b"&lol%d;" % (n - 1)) * 10 + b'">\n' for n in range(1, 10)
    )
    + b"]>"
)
EXTERNAL_ENTITY = b'<!DOCTYPE sst [<!ENTITY secret SYSTEM "file:///etc/hostname">]>'


def _rewrite_zip(
    src: Path, dest: Path, edits: dict[str, Callable[[bytes], bytes]], extra: str = ""
) -> Path:
    """Copy a zip member by member, passing the named members through their edit."""
    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(dest, "w", zipfile.ZIP_DEFLATED) as zout:
        for info in zin.infolist():
            if info.filename == extra:
                continue
            data = zin.read(info.filename)
            edit = edits.get(info.filename)
            zout.writestr(info.filename, edit(data) if edit else data)
    return dest


def _with_doctype(doctype: bytes, reference: bytes) -> Callable[[bytes], bytes]:
    """Declare `doctype` after the XML declaration and put `reference` in the first name
    cell's string (one after the header strings), so the entity is read with the data."""

    def edit(xml: bytes) -> bytes:
        decl_end = xml.index(b"?>") + 2
        xml = xml[:decl_end] + doctype + xml[decl_end:]
        # The first string past the header ('Name 6' ... 'Group ID') is a surname.
        at = xml.index(b"<si><t>", xml.index(b"Group ID"))
        head, tail = xml[:at], xml[at:]
        return head + tail.replace(b"<si><t>", b"<si><t>" + reference, 1)

    return edit


def xlsx_entity_bomb(lists_dir: Path, dest: Path) -> Path:
    """ConList.xlsx whose sharedStrings declares a billion-laughs entity and uses it."""
    return _rewrite_zip(
        lists_dir / CONLIST_XLSX,
        dest / Path(CONLIST_XLSX).name,
        {_SHARED_STRINGS: _with_doctype(BILLION_LAUGHS, b"&lol9;")},
    )


def xlsx_external_entity(lists_dir: Path, dest: Path) -> Path:
    """ConList.xlsx whose sharedStrings reads a local file through an external entity."""
    return _rewrite_zip(
        lists_dir / CONLIST_XLSX,
        dest / Path(CONLIST_XLSX).name,
        {_SHARED_STRINGS: _with_doctype(EXTERNAL_ENTITY, b"&secret;")},
    )


def xlsx_huge_shared_string(lists_dir: Path, dest: Path, size: int = 1 << 30) -> Path:
    """ConList.xlsx whose first surname is one string of `size` characters (1 GiB by default:
    about 1 MB deflated). Written in chunks: the builder never holds it."""
    out = dest / Path(CONLIST_XLSX).name
    with (
        zipfile.ZipFile(lists_dir / CONLIST_XLSX) as zin,
        zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as zout,
    ):
        for info in zin.infolist():
            data = zin.read(info.filename)
            if info.filename != _SHARED_STRINGS:
                zout.writestr(info.filename, data)
                continue
            # The first string past the header is a surname: it becomes the huge one.
            start = data.index(b"<si><t>", data.index(b"Group ID")) + len(b"<si><t>")
            end = data.index(b"</t>", start)
            with zout.open(_SHARED_STRINGS, "w", force_zip64=True) as fh:
                fh.write(data[:start])
                chunk = b"A" * (1 << 20)
                for _ in range(size // len(chunk)):
                    fh.write(chunk)
                fh.write(b"A" * (size % len(chunk)))
                fh.write(data[end:])
    return out


def xlsx_far_cell(lists_dir: Path, dest: Path) -> Path:
    """ConList.xlsx declaring the dimension A1:XFD1048576, with one cell at XFD1048576."""

    def edit(sheet: bytes) -> bytes:
        sheet = re.sub(
            rb'<dimension ref="[^"]*"', b'<dimension ref="A1:XFD1048576"', sheet, count=1
        )
        far = b'<row r="1048576"><c r="XFD1048576" t="inlineStr"><is><t>x</t></is></c></row>'
        return sheet.replace(b"</sheetData>", far + b"</sheetData>", 1)

    return _rewrite_zip(lists_dir / CONLIST_XLSX, dest / Path(CONLIST_XLSX).name, {_SHEET: edit})


def ods_bad_repeat(lists_dir: Path, dest: Path, value: bytes = b"many") -> Path:
    """The FCDO spreadsheet with one number-columns-repeated that is not a number."""

    def edit(content: bytes) -> bytes:
        # A filler cell at the end of the header row (the sheet's own columns precede it).
        return re.sub(
            rb'<table:table-cell table:number-columns-repeated="\d+"',
            b'<table:table-cell table:number-columns-repeated="' + value + b'"',
            content,
            count=1,
        )

    return _rewrite_zip(lists_dir / FCDO_ODS, dest / Path(FCDO_ODS).name, {"content.xml": edit})


def undecodable_name(lists_dir: Path, dest: Path, src: str = UN_XML) -> Path:
    """A real list under a file name holding a byte that is not UTF-8 (0xFF)."""
    stem, dot, suffix = Path(src).name.rpartition(".")
    raw_name = os.fsencode(stem) + b"\xff" + dot.encode() + suffix.encode()
    out = Path(os.fsdecode(os.path.join(os.fsencode(dest), raw_name)))
    out.write_bytes((lists_dir / src).read_bytes())
    return out


def csv_invalid_utf8(lists_dir: Path, dest: Path, src: str = CONLIST_CSV) -> Path:
    """A real UTF-8 CSV with one byte that is not UTF-8 (0xFF) put in the middle of a line."""
    raw = (lists_dir / src).read_bytes()
    middle = raw.index(b"\n", len(raw) // 2) + 1
    at = raw.index(b",", middle)
    out = dest / Path(src).name
    out.write_bytes(raw[:at] + b"\xff" + raw[at:])
    return out


def csv_nul_in_name(lists_dir: Path, dest: Path, src: str = SDN_CSV, ref: str = "") -> Path:
    """The OFAC sdn.csv with NUL and ESC bytes inside one entry's name (`ref`; default the
    first entry)."""
    raw = (lists_dir / src).read_bytes()
    start = raw.index(f"{ref},".encode()) if ref else 0
    quote = raw.index(b',"', start) + 2  # the name field opens with a quote
    out = dest / Path(src).name
    out.write_bytes(raw[:quote] + b"\x00\x1b" + raw[quote : quote + 3] + b"\x00" + raw[quote + 3 :])
    return out


def legacy_encoded(lists_dir: Path, dest: Path, src: str = DPL_TXT) -> Path:
    """The BIS Denied Persons List as an older Windows-1252 export would write it: one name
    ('AARON ABRAHAM VILLA' made 'AARÓN ABRAHAM VILLA') holds a byte above 0x7F, and no
    byte of the file is UTF-8."""
    raw = (lists_dir / src).read_bytes()
    out = dest / Path(src).name
    legacy = '"AARÓN ABRAHAM VILLA"'.encode("cp1252")
    out.write_bytes(raw.replace(b'"AARON ABRAHAM VILLA"', legacy, 1))
    return out
