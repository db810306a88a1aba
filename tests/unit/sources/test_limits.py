"""Caps and text checks of sources/limits.py: strict decoding, row caps, entry scrubbing."""

from __future__ import annotations

import pytest

from screening.model.entities import Address, Entity, EntityType, Name
from screening.sources.common import ParseError
from screening.sources.limits import ParseContext, ParseLimits, scrub_entities


def _entity(name: str, **fields: object) -> Entity:
    return Entity(
        id="x:1", source="x", source_ref="1", entity_type=EntityType.PERSON, name=name, **fields
    )


def test_utf8_with_or_without_bom_is_read_as_is():
    ctx = ParseContext()
    assert ctx.decode("Андрей".encode(), "a.csv") == "Андрей"
    assert ctx.decode(b"\xef\xbb\xbfJos\xc3\xa9", "a.csv") == "José"
    assert ctx.decode_fallbacks == {}


def test_a_file_with_no_utf8_is_read_as_windows_1252_and_noted():
    ctx = ParseContext()
    assert ctx.decode(b"AAR\xd3N \x93VILLA\x94", "dpl.txt") == "AARÓN “VILLA”"
    assert ctx.decode_fallbacks == {"dpl.txt": "cp1252"}


def test_one_bad_byte_in_a_utf8_file_rejects_it():
    ctx = ParseContext()
    raw = "Андрей\nПетров\n".encode() + b"Iv\xffan\n"
    with pytest.raises(ParseError, match=r"not valid UTF-8 at byte 28 \(line 3\)"):
        ctx.decode(raw, "ConList.csv")
    assert ctx.decode_fallbacks == {}


def test_bytes_that_windows_1252_does_not_define_reject_the_file():
    with pytest.raises(ParseError, match="neither UTF-8 nor Windows-1252"):
        ParseContext().decode(b"abc\x81def", "x.csv")


def test_capped_rows_counts_rows_filled_columns_and_cell_length():
    ctx = ParseContext(ParseLimits(max_rows=3, max_columns=2, max_string_chars=5))
    # Trailing empty cells are no columns; a filled third one is.
    assert list(ctx.capped_rows([["a", "b", "", ""], ["c"]], "f")) == [["a", "b", "", ""], ["c"]]
    with pytest.raises(ParseError, match="row 1 fills 3 columns"):
        list(ctx.capped_rows([["a", "", "b"]], "f"))
    with pytest.raises(ParseError, match="more than 3 rows"):
        list(ctx.capped_rows([["a"]] * 4, "f"))
    with pytest.raises(ParseError, match="cell of 6 characters"):
        list(ctx.capped_rows([["abcdef"]], "f"))


def test_file_size_cap(tmp_path):
    path = tmp_path / "big.csv"
    path.write_bytes(b"x" * 101)
    ctx = ParseContext(ParseLimits(max_file_bytes=100))
    with pytest.raises(ParseError, match="101 bytes, more than the 100"):
        ctx.csv_rows(path)


def test_scrub_removes_control_characters_and_counts_the_fields():
    ctx = ParseContext()
    [clean] = scrub_entities(
        [
            _entity(
                "AERO\x00\x1bCARIBBEAN",
                aliases=[Name("Gui\x92an"), Name("plain")],
                addresses=[Address(city="Tab\tand\nnewline stay")],
                properties={"k\x7f": "v"},
            )
        ],
        ctx,
        "sdn.csv",
    )
    assert clean.name == "AEROCARIBBEAN"
    assert [a.full for a in clean.aliases] == ["Gui’an", "plain"]  # C1: its cp1252 character
    assert clean.addresses[0].city == "Tab\tand\nnewline stay"
    assert clean.properties == {"k": "v"}
    assert clean.entity_type is EntityType.PERSON
    assert ctx.control_fields == 3


def test_scrub_keeps_clean_entries_untouched_and_rejects_over_long_text():
    entity = _entity("Plain Name", aliases=[Name("Other")])
    ctx = ParseContext(ParseLimits(max_string_chars=20))
    assert scrub_entities([entity], ctx, "f")[0] is entity
    assert ctx.control_fields == 0
    with pytest.raises(ParseError, match="a text of 21 characters"):
        scrub_entities([_entity("n", remarks="r" * 21)], ctx, "f")
