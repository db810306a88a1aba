"""Safe XML reading (sources/xml.py): no DTD, no entities, libxml2's caps kept."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from screening.sources.common import ParseError
from screening.sources.xml import iter_elements, parse_tree
from tests.faults.hostile_files import BILLION_LAUGHS


def _write(tmp_path: Path, body: bytes, name: str = "list.xml") -> Path:
    path = tmp_path / name
    path.write_bytes(b'<?xml version="1.0"?>' + body)
    return path


def _read_all(path: Path) -> list[str]:
    return [str(el.tag) for _, el in iter_elements(path)]


@pytest.mark.parametrize(
    "doctype, body",
    [
        (b'<!DOCTYPE r [<!ENTITY e "entity">]>', b"<r><n>&e;</n></r>"),
        (b'<!DOCTYPE r [<!ENTITY e SYSTEM "file:///etc/hostname">]>', b"<r><n>&e;</n></r>"),
        (b"<!DOCTYPE r>", b"<r><n>x</n></r>"),
        (BILLION_LAUGHS.replace(b"sst", b"r"), b"<r><n>&lol9;</n></r>"),
    ],
    ids=["internal-entity", "external-entity", "bare-doctype", "billion-laughs"],
)
def test_a_doctype_rejects_the_file(tmp_path, doctype, body):
    path = _write(tmp_path, doctype + body)
    with pytest.raises(ParseError, match=r"DOCTYPE|amplification"):
        parse_tree(path)
    with pytest.raises(ParseError, match=r"DOCTYPE|amplification"):
        _read_all(path)


def test_malformed_xml_is_a_parse_error(tmp_path):
    path = _write(tmp_path, b"<r><n>cut off")
    with pytest.raises(ParseError, match="malformed or truncated"):
        _read_all(path)


def test_a_text_node_past_libxml2s_cap_is_refused(tmp_path):
    path = _write(tmp_path, b"<r><n>" + b"A" * 11_000_000 + b"</n></r>")
    with pytest.raises(ParseError, match="malformed or truncated"):
        _read_all(path)


def test_a_file_name_that_is_not_utf8_is_read(tmp_path):
    raw = os.path.join(os.fsencode(tmp_path), b"list\xff.xml")
    Path(os.fsdecode(raw)).write_bytes(b"<r><n>x</n></r>")
    path = Path(os.fsdecode(raw))
    assert parse_tree(path).tag == "r"
    assert _read_all(path) == ["n", "r"]
