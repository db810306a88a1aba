"""Transliteration of any script to Latin (anyascii), with ASCII text passed straight through."""

from __future__ import annotations

import functools

from anyascii import anyascii


@functools.lru_cache(maxsize=65536)
def to_latin(text: str) -> str:
    if text.isascii():
        return text
    return anyascii(text)
