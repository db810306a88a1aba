"""Reading list XML safely, and the element helpers the XML parsers share.

Every XML list (and the XML inside ODS and xlsx packages) is read through here, with lxml
set up for hostile input: no DTD (a DOCTYPE rejects the file, so no entity, internal or
external, is ever declared), no network, and libxml2's own caps on text and depth left on
(no `huge_tree`: a single text node past 10 MB is an error, not a string).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import IO

from lxml import etree

from screening.sources.common import ParseError, clean, display_name

_PARSER_OPTIONS = {
    "resolve_entities": False,
    "no_network": True,
    "load_dtd": False,
    "huge_tree": False,
}


def local(tag: object) -> str:
    """An element's name without its namespace ('{urn:x}Entry' -> 'Entry')."""
    return tag.rsplit("}", 1)[-1] if isinstance(tag, str) else ""


def children(el: etree._Element, name: str) -> list[etree._Element]:
    """The child elements named `name` (any namespace)."""
    return [c for c in el if local(c.tag) == name]


def child(el: etree._Element | None, name: str) -> etree._Element | None:
    """The first child element named `name` (any namespace)."""
    if el is None:
        return None
    for c in el:
        if local(c.tag) == name:
            return c
    return None


def child_text(el: etree._Element | None, name: str) -> str:
    """The cleaned text of the first child named `name` (any namespace); '' if none."""
    found = child(el, name)
    return clean(found.text) if found is not None else ""


def _reject_doctype(tree: etree._ElementTree, name: str) -> None:
    if tree.docinfo.doctype or tree.docinfo.internalDTD is not None:
        raise ParseError(f"{name}: declares a DOCTYPE; list files have none (entities refused)")


def parse_tree(path: Path) -> etree._Element:
    """The whole document (for small lists); ParseError when malformed or declaring a DTD."""
    name = display_name(path)
    try:
        # The name as bytes: it may not be UTF-8, and lxml would fail encoding it.
        tree = etree.parse(os.fsencode(path), etree.XMLParser(**_PARSER_OPTIONS))
    except etree.XMLSyntaxError as exc:
        raise ParseError(f"{name}: malformed or truncated XML: {exc}") from exc
    _reject_doctype(tree, name)
    return tree.getroot()


def iter_elements(
    source: Path | IO[bytes],
    name: str = "",
    *,
    tag: str | None = None,
    events: tuple[str, ...] = ("end",),
) -> Iterator[tuple[str, etree._Element]]:
    """Stream (event, element) pairs; ParseError when malformed or declaring a DTD.

    The caller releases what it has read (`release`), so memory stays flat on large files.
    """
    label = name or (display_name(source) if isinstance(source, Path) else "XML")
    # A file name as bytes: it may not be UTF-8, and lxml would fail encoding it.
    target = os.fsencode(source) if isinstance(source, Path) else source
    checked = False
    try:
        for event, el in etree.iterparse(target, events=events, tag=tag, **_PARSER_OPTIONS):
            if not checked:  # any first event comes after the prolog, where a DOCTYPE is
                _reject_doctype(el.getroottree(), label)
                checked = True
            yield event, el
    except etree.XMLSyntaxError as exc:
        raise ParseError(f"{label}: malformed or truncated XML: {exc}") from exc


def release(el: etree._Element) -> None:
    """Free an element that has been read, and the siblings read before it."""
    el.clear()
    parent = el.getparent()
    while el.getprevious() is not None and parent is not None:
        del parent[0]
