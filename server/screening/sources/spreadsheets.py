"""Rows of the spreadsheet formats lists come in (xlsx, ODS), read under the parse caps.

Both are zip packages of XML. A package is opened only when the sizes its directory
declares fit the file-size cap (zipfile never inflates a member past its declared size, so
a deflate bomb stops there), and its XML is read without DTDs or entities (sources/xml.py).

xlsx: openpyxl reads the sheet (it knows cell types and date styles), after a pass of our
own over the package: no part may declare a DOCTYPE, and no shared string may pass the text
cap (openpyxl loads every shared string at once). openpyxl then uses defusedxml (installed
with the service) for its own XML. The declared sheet dimension is ignored: rows are read as
they are, and the row and column caps apply to what is filled.

ODS: streamed with lxml. Cells and rows carry repeat counts; the empty filler a sheet
declares to its edge (16,384 columns, a million rows) is not expanded, and a filled cell or
row repeated past the caps rejects the file.
"""

from __future__ import annotations

import datetime as dt
import struct
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import IO

from screening.sources.common import ParseError, display_name
from screening.sources.limits import ParseContext
from screening.sources.xml import iter_elements, local, release

_MAIN_NS = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
_TABLE = "urn:oasis:names:tc:opendocument:xmlns:table:1.0"
_OFFICE = "urn:oasis:names:tc:opendocument:xmlns:office:1.0"
_ROW = f"{{{_TABLE}}}table-row"
_REPEAT_COLUMNS = f"{{{_TABLE}}}number-columns-repeated"
_REPEAT_ROWS = f"{{{_TABLE}}}number-rows-repeated"
_VALUE_TYPE = f"{{{_OFFICE}}}value-type"
# A spreadsheet package has a few dozen parts; the end record sits in the last 64 KiB.
MAX_PARTS = 10_000
_EOCD_SEARCH = 65_536 + 22


def open_package(path: Path, ctx: ParseContext) -> zipfile.ZipFile:
    """The zip package, once its size, its number of parts and their declared unpacked
    size fit the caps."""
    name = display_name(path)
    ctx.check_size(path)
    parts = _declared_parts(path)
    if parts > MAX_PARTS:  # zipfile would build an object per part before we could look
        raise ParseError(f"{name}: {parts} parts, more than the {MAX_PARTS} a spreadsheet has")
    try:
        archive = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError) as exc:
        raise ParseError(f"{name}: not a readable zip package: {exc}") from exc
    unpacked = sum(info.file_size for info in archive.infolist())
    if unpacked > ctx.limits.max_file_bytes:
        archive.close()
        raise ParseError(
            f"{name}: {unpacked} bytes unpacked, more than the "
            f"{ctx.limits.max_file_bytes} bytes a list file may have"
        )
    return archive


def _declared_parts(path: Path) -> int:
    """The number of parts a zip's end record declares (0 when there is none to read)."""
    with path.open("rb") as fh:
        size = fh.seek(0, 2)
        fh.seek(max(0, size - _EOCD_SEARCH))
        tail = fh.read()
    at = tail.rfind(b"PK\x05\x06")
    if at < 0 or len(tail) < at + 12:
        return 0
    (parts,) = struct.unpack("<H", tail[at + 10 : at + 12])
    zip64 = tail.rfind(b"PK\x06\x06", 0, at)
    if parts == 0xFFFF and zip64 >= 0 and len(tail) >= zip64 + 40:
        (parts,) = struct.unpack("<Q", tail[zip64 + 32 : zip64 + 40])
    return int(parts)


# -- xlsx ----------------------------------------------------------------------------------


def _check_xlsx_parts(archive: zipfile.ZipFile, name: str, ctx: ParseContext) -> None:
    """Refuse DTDs in every XML part, over-long shared strings, and a first sheet with a
    filled cell past the row or column cap (before openpyxl walks up to it)."""
    sheet = _first_sheet(archive)
    for info in archive.infolist():
        if not info.filename.endswith((".xml", ".rels")):
            continue
        label = f"{name}: {info.filename}"
        with archive.open(info) as stream:
            if info.filename == "xl/sharedStrings.xml":
                for _, el in iter_elements(stream, label, tag=f"{{{_MAIN_NS}}}si"):
                    ctx.check_text("".join(el.itertext()), label)
                    release(el)
            elif info.filename == sheet:
                _check_sheet_extent(stream, label, ctx)
            else:
                for _ in iter_elements(stream, label):
                    break  # the prolog (where a DOCTYPE would be) has been read


def _check_sheet_extent(stream: IO[bytes], label: str, ctx: ParseContext) -> None:
    limits = ctx.limits
    for _, row in iter_elements(stream, label, tag=f"{{{_MAIN_NS}}}row"):
        number = str(row.get("r", "0"))
        if number.isdigit() and int(number) > limits.max_rows:
            raise ParseError(f"{label}: a row numbered {number}, past the {limits.max_rows} cap")
        for cell in row:
            if len(cell) and _column(str(cell.get("r", ""))) >= limits.max_columns:
                raise ParseError(
                    f"{label}: a filled cell at {cell.get('r')}, past the "
                    f"{limits.max_columns} columns allowed"
                )
        release(row)


def xlsx_rows(path: Path, ctx: ParseContext, limit: int | None = None) -> Iterator[list[str]]:
    """The first sheet's rows as text, under the caps; ParseError on a broken workbook."""
    import openpyxl

    name = display_name(path)
    with open_package(path, ctx) as archive:
        _check_xlsx_parts(archive, name, ctx)
    try:
        workbook = openpyxl.load_workbook(path, read_only=True, data_only=True)
    except (zipfile.BadZipFile, KeyError, OSError, ValueError, SyntaxError) as exc:
        raise ParseError(f"{name}: not a readable xlsx workbook: {exc}") from exc
    try:
        sheet = workbook.worksheets[0]
        sheet.reset_dimensions()  # read rows as they are, whatever the sheet declares
        rows = (
            ["" if v is None else _cell_text(v) for v in row]
            for row in sheet.iter_rows(values_only=True, max_row=limit)
        )
        yield from ctx.capped_rows(rows, name)
    except (zipfile.BadZipFile, KeyError, OSError, EOFError, ValueError, SyntaxError) as exc:
        raise ParseError(f"{name}: truncated or malformed workbook: {exc}") from exc
    finally:
        workbook.close()


def xlsx_head(path: Path, rows: int = 2) -> list[list[str]]:
    """The first rows of a workbook's first sheet as text ([] when it cannot be read).

    For detection and the publication date, in the process that discovers files: streamed
    with lxml and stopped early, so it costs little whatever the workbook holds (openpyxl
    would load every shared string first).
    """
    ctx = ParseContext()
    try:
        with open_package(path, ctx) as archive:
            sheet = _first_sheet(archive)
            cells = _head_cells(archive, sheet, rows, ctx)
            wanted = {int(v) for row in cells for kind, v in row.values() if kind == "s"}
            strings = _shared_strings(archive, wanted, ctx) if wanted else {}
    except (ParseError, KeyError, ValueError, zipfile.BadZipFile, OSError, EOFError):
        return []
    out = []
    for row in cells:
        width = max(row, default=-1) + 1
        values = [""] * width
        for column, (kind, value) in row.items():
            values[column] = strings.get(int(value), "") if kind == "s" else value
        out.append(values)
    return out


def _first_sheet(archive: zipfile.ZipFile) -> str:
    """The part name of the workbook's first sheet (workbook.xml, then its relationships)."""
    rel_id = ""
    with archive.open("xl/workbook.xml") as stream:
        for _, el in iter_elements(stream, "xl/workbook.xml"):
            if local(el.tag) == "sheet":
                rel_id = next((v for k, v in el.attrib.items() if local(k) == "id"), "")
                break
    with archive.open("xl/_rels/workbook.xml.rels") as stream:
        for _, el in iter_elements(stream, "xl/_rels/workbook.xml.rels"):
            if local(el.tag) == "Relationship" and el.get("Id") == rel_id:
                target = str(el.get("Target", ""))
                return target.lstrip("/") if target.startswith("/") else f"xl/{target}"
    raise KeyError("no first sheet")


def _column(ref: str) -> int:
    letters = "".join(ch for ch in ref if ch.isalpha()).upper()
    number = 0
    for ch in letters[:3]:
        number = number * 26 + ord(ch) - 64
    return number - 1


def _head_cells(
    archive: zipfile.ZipFile, sheet: str, rows: int, ctx: ParseContext
) -> list[dict[int, tuple[str, str]]]:
    """Column -> (cell type, raw value) for the first `rows` rows."""
    out: list[dict[int, tuple[str, str]]] = []
    with archive.open(sheet) as stream:
        for _, row in iter_elements(stream, sheet, tag=f"{{{_MAIN_NS}}}row"):
            cells: dict[int, tuple[str, str]] = {}
            for cell in row:
                column = _column(str(cell.get("r", "")))
                if not 0 <= column < ctx.limits.max_columns:
                    continue
                kind = str(cell.get("t", "n"))
                value = "".join(cell.itertext()).strip()
                ctx.check_text(value, sheet)
                cells[column] = (kind, value)
            out.append(cells)
            release(row)
            if len(out) >= rows:
                break
    return out


def _shared_strings(
    archive: zipfile.ZipFile, wanted: set[int], ctx: ParseContext
) -> dict[int, str]:
    found: dict[int, str] = {}
    last = max(wanted)
    part = "xl/sharedStrings.xml"
    with archive.open(part) as stream:
        for index, (_, el) in enumerate(iter_elements(stream, part, tag=f"{{{_MAIN_NS}}}si")):
            if index in wanted:
                found[index] = "".join(el.itertext())
                ctx.check_text(found[index], part)
            release(el)
            if index >= last:
                break
    return found


def _cell_text(value: object) -> str:
    """Workbook cells as the CSV writes them (dates day first)."""
    if isinstance(value, dt.datetime | dt.date):
        return value.strftime("%d/%m/%Y")
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


# -- ODS -----------------------------------------------------------------------------------


def _repeat(cell: object, attribute: str, where: str) -> int:
    raw = cell.get(attribute, "1")  # type: ignore[attr-defined]
    if not raw.isdigit() or not 0 < int(raw) <= 1 << 31:
        raise ParseError(f"{where}: {local(attribute)} is {raw[:20]!r}, not a count")
    return int(raw)


def _cell_value(cell: object) -> str:
    get = cell.get  # type: ignore[attr-defined]
    kind = get(_VALUE_TYPE)
    if kind == "date":
        return str(get(f"{{{_OFFICE}}}date-value", ""))[:10]
    if kind in ("float", "percentage", "currency"):
        return str(get(f"{{{_OFFICE}}}value", ""))
    return "\n".join("".join(p.itertext()) for p in cell)  # type: ignore[attr-defined]


def ods_rows(path: Path, ctx: ParseContext) -> Iterator[list[str]]:
    """Rows of the first sheet as text (dates as ISO), trailing empty cells dropped."""
    name = display_name(path)
    with open_package(path, ctx) as archive:
        try:
            content = archive.open("content.xml")
        except (KeyError, zipfile.BadZipFile, OSError) as exc:
            raise ParseError(f"{name}: not a readable ODS spreadsheet: {exc}") from exc
        with content:
            try:
                yield from ctx.capped_rows(_ods_sheet_rows(content, name, ctx), name)
            except (zipfile.BadZipFile, OSError, EOFError) as exc:
                raise ParseError(f"{name}: truncated or malformed spreadsheet: {exc}") from exc


def _ods_sheet_rows(content: IO[bytes], name: str, ctx: ParseContext) -> Iterator[list[str]]:
    max_columns = ctx.limits.max_columns
    for number, (_, row) in enumerate(iter_elements(content, name, tag=_ROW), 1):
        where = f"{name}: row element {number}"
        cells: list[str] = []
        filled = 0  # cells up to the last one with text
        for cell in row:
            repeat = _repeat(cell, _REPEAT_COLUMNS, where)
            text = _cell_value(cell)
            if not text.strip():
                # Empty filler (a sheet declares it to its edge): expanded only as far as
                # a cap needs to see, and dropped unless text follows it.
                cells.extend([""] * min(repeat, max(0, max_columns + 1 - len(cells))))
                continue
            if len(cells) + repeat > max_columns:
                raise ParseError(f"{where} fills more than the {max_columns} columns allowed")
            cells.extend([text] * repeat)
            filled = len(cells)
        del cells[filled:]
        times = _repeat(row, _REPEAT_ROWS, where)
        release(row)
        if cells:  # empty rows, however many, are no rows of the list
            for _ in range(times):  # a filled row repeated: capped_rows stops it at the cap
                yield cells
