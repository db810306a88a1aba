"""Caps on reading a list file, and what a parse noticed on the way.

List files come from the network: a parser treats them as hostile until they are parsed.
The caps bound what one file can cost (bytes, text, rows, columns); the time and memory
caps are enforced by the process that parses (sources/sandbox.py). The defaults live in
config.Settings, and pass the largest real publications with a wide margin.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import msgspec

from screening import list_limits
from screening.model.entities import Entity
from screening.sources.common import ParseError, display_name

if TYPE_CHECKING:
    from screening.config import Settings

# A byte sequence that is valid UTF-8 and not ASCII: text holding one is UTF-8 (Windows-1252
# text almost never spells one: it would read as mojibake such as 'Ã©').
_UTF8_SEQUENCE = re.compile(
    rb"[\xc2-\xdf][\x80-\xbf]|[\xe0-\xef][\x80-\xbf]{2}|[\xf0-\xf4][\x80-\xbf]{3}"
)


@dataclass(frozen=True)
class ParseLimits:
    max_file_bytes: int = list_limits.MAX_FILE_BYTES
    max_string_chars: int = list_limits.MAX_STRING_CHARS
    max_rows: int = list_limits.MAX_ROWS
    max_columns: int = list_limits.MAX_COLUMNS
    max_seconds: float = list_limits.PARSE_SECONDS
    max_memory_bytes: int = list_limits.PARSE_MEMORY_BYTES

    @classmethod
    def from_settings(cls, settings: Settings) -> ParseLimits:
        return cls(
            max_file_bytes=settings.list_max_file_bytes,
            max_string_chars=settings.list_max_string_chars,
            max_rows=settings.list_max_rows,
            max_columns=settings.list_max_columns,
            max_seconds=settings.list_parse_seconds,
            max_memory_bytes=settings.list_parse_memory_bytes,
        )


@dataclass
class ParseContext:
    """The caps one parse runs under, and what it noticed (reported after the parse)."""

    limits: ParseLimits = field(default_factory=ParseLimits)
    # File -> the encoding it was decoded with, when not the one it should have had.
    decode_fallbacks: dict[str, str] = field(default_factory=dict)
    # Text fields from which control characters were removed.
    control_fields: int = 0

    def decode(self, raw: bytes, name: str) -> str:
        """Text of a file published in UTF-8 (with or without BOM), strictly.

        A file with no UTF-8 sequence at all is taken as Windows-1252 (older agency
        exports), and that fallback is noted. A file that is UTF-8 but holds a byte that is
        not is rejected: read as Windows-1252 it would turn every non-Latin name into
        mojibake, and the bad byte says the file was damaged on the way.
        """
        try:
            return raw.decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            line = raw.count(b"\n", 0, exc.start) + 1
            where = f"byte {exc.start} (line {line})"
            bad = raw[exc.start : exc.start + 4]
            if _UTF8_SEQUENCE.search(raw):
                raise ParseError(
                    f"{name}: not valid UTF-8 at {where}: {bad!r}; the rest of the file is "
                    "UTF-8, so it is rejected rather than read as Windows-1252"
                ) from exc
        try:
            text = raw.decode("cp1252")
        except UnicodeDecodeError as exc:
            raise ParseError(
                f"{name}: neither UTF-8 nor Windows-1252 (byte {exc.start}: "
                f"{raw[exc.start : exc.start + 1]!r})"
            ) from exc
        self.decode_fallbacks[name] = "cp1252"
        return text

    def csv_rows(self, path: Path, *, delimiter: str = ",", strip: str = "") -> list[list[str]]:
        """A delimited text file's rows, read strictly and under the caps (`strip`: characters
        to drop from the end of the text, such as OFAC's DOS end-of-file byte)."""
        name = display_name(path)
        self.check_size(path)
        text = self.decode(path.read_bytes(), name)
        if strip:
            text = text.rstrip(strip)
        reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=True)
        try:
            return list(self.capped_rows(reader, name))
        except csv.Error as exc:
            raise ParseError(f"{name}: {exc} (truncated or malformed file)") from exc

    def check_size(self, path: Path, size: int | None = None) -> None:
        size = path.stat().st_size if size is None else size
        if size > self.limits.max_file_bytes:
            raise ParseError(
                f"{display_name(path)}: {size} bytes, more than the "
                f"{self.limits.max_file_bytes} a list file may have"
            )

    def check_text(self, text: str, where: str) -> None:
        if len(text) > self.limits.max_string_chars:
            raise ParseError(
                f"{where}: a text of {len(text)} characters, more than the "
                f"{self.limits.max_string_chars} allowed"
            )

    def capped_rows(self, rows: Iterable[list[str]], name: str) -> Iterator[list[str]]:
        """Pass rows through, rejecting the file at the first row past a cap: too many
        rows, too many filled columns, or one cell too long."""
        limits = self.limits
        max_columns, max_chars = limits.max_columns, limits.max_string_chars
        for number, row in enumerate(rows, 1):
            if number > limits.max_rows:
                raise ParseError(f"{name}: more than {limits.max_rows} rows")
            # The common row passes both checks at C speed; only one near a cap is walked.
            if len(row) > max_columns:
                filled = len(row)
                while filled and not row[filled - 1]:
                    filled -= 1
                if filled > max_columns:
                    raise ParseError(
                        f"{name}: row {number} fills {filled} columns, more than the "
                        f"{max_columns} allowed"
                    )
            if row and max(map(len, row)) > max_chars:
                cell = next(c for c in row if len(c) > max_chars)
                raise ParseError(
                    f"{name}: row {number} holds a cell of {len(cell)} characters, more "
                    f"than the {max_chars} allowed"
                )
            yield row


# C0 and C1 control characters, and DEL; tab, line feed and carriage return are layout.
_CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")


def _uncontrol(match: re.Match[str]) -> str:
    """C1 controls in list text are Windows-1252 punctuation decoded as Latin-1 on the way
    ('Gui\x92an' is 'Gui’an'): put the character back. Anything else goes."""
    code = ord(match[0])
    if 0x80 <= code <= 0x9F:
        return bytes([code]).decode("cp1252", errors="ignore")
    return ""


def scrub_entities(entities: list[Entity], ctx: ParseContext, name: str) -> list[Entity]:
    """Every text of every entry within the text cap, with control characters removed.

    Whatever parser made them: a NUL or an escape byte in a list name is no part of the
    name (and would go live, then into answers and logs, as it is). C1 controls are put
    back as the Windows-1252 characters they stand for. Fields changed are counted in the
    context; an over-long text rejects the file.
    """
    limit = ctx.limits.max_string_chars
    out = []
    for entity in entities:
        # Nearly every entry is clean: one pass over its JSON (C code) shows it, instead of a
        # walk over its fields. An entry whose JSON is within the cap has no text over it.
        encoded = _JSON.encode(entity)
        if len(encoded) <= limit and not _CONTROL_IN_JSON.search(encoded):
            out.append(entity)
        else:
            out.append(_scrub(entity, ctx, name))
    return out


_JSON = msgspec.json.Encoder()
# What a control character of _CONTROL becomes in msgspec's JSON (UTF-8): an escape below
# U+0020 (\uXXXX, \b or \f; an escaped backslash before a 'b' matches too, which only
# sends the entry the slow way), DEL, or a C1 control's two bytes.
_CONTROL_IN_JSON = re.compile(rb"\\u00[01][0-9a-fA-F]|\\[bf]|\x7f|\xc2[\x80-\x9f]")


def _scrub(value: Any, ctx: ParseContext, name: str) -> Any:
    kind = type(value)
    if kind is str:
        if len(value) > ctx.limits.max_string_chars:
            ctx.check_text(value, name)
        if _CONTROL.search(value):
            ctx.control_fields += 1
            return _CONTROL.sub(_uncontrol, value)
        return value
    if kind is list:
        items = [_scrub(v, ctx, name) for v in value]
        return value if all(a is b for a, b in zip(items, value, strict=True)) else items
    if kind is dict:
        pairs = [(_scrub(k, ctx, name), _scrub(v, ctx, name)) for k, v in value.items()]
        same = all(k is a and v is b for (k, v), (a, b) in zip(pairs, value.items(), strict=True))
        return value if same else dict(pairs)
    if isinstance(value, msgspec.Struct):
        changes = {}
        for field_name in value.__struct_fields__:
            old = getattr(value, field_name)
            new = _scrub(old, ctx, name)
            if new is not old:
                changes[field_name] = new
        return msgspec.structs.replace(value, **changes) if changes else value
    return value  # enums, numbers
