"""Places in free text: occupied-region names in addresses and ports, countries of ports."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass

from screening.model.countries import is_alpha2, to_alpha2

_APOSTROPHES = str.maketrans("", "", "'’ʼ`´")
_NOT_WORD = re.compile(r"[\W_]+")
# UN/LOCODE: country (2 letters), then 3 letters or digits 2-9; "RULED" or "RU LED".
_LOCODE = re.compile(r"^([A-Z]{2}) ?([A-Z2-9]{3})$")


def fold(text: str) -> str:
    """Lower case, no accents or apostrophes, words separated by single spaces (any script)."""
    text = unicodedata.normalize("NFKD", text)
    text = "".join(c for c in text if not unicodedata.combining(c)).casefold()
    return " ".join(_NOT_WORD.sub(" ", text.translate(_APOSTROPHES)).split())


@dataclass(frozen=True)
class RegionMatcher:
    """Finds a region's place names (whole words) in text, and its UN/LOCODEs in ports."""

    name: str
    pattern: re.Pattern[str]
    locodes: frozenset[str]

    @classmethod
    def build(cls, name: str, names: Iterable[str], locodes: Iterable[str]) -> RegionMatcher:
        folded = sorted({fold(n) for n in names if fold(n)}, key=len, reverse=True)
        pattern = re.compile(r"(?<!\w)(?:" + "|".join(re.escape(n) for n in folded) + r")(?!\w)")
        return cls(name, pattern, frozenset(c.replace(" ", "").upper() for c in locodes))

    def find(self, text: str) -> str:
        """The place name found in `text`, or ''."""
        return self.find_folded(fold(text)) if text else ""

    def find_folded(self, folded: str) -> str:
        """As `find`, on text already folded (fold once, search every region)."""
        m = self.pattern.search(folded)
        return m.group(0) if m else ""

    def find_port(self, port: str) -> str:
        code = locode(port)
        if code and code in self.locodes:
            return code
        return self.find(port)


def locode(port: str) -> str:
    """The UN/LOCODE written in `port` ("RULED", "RU LED"), or ''."""
    m = _LOCODE.match(port.strip())
    if m and is_alpha2(m.group(1)):
        return m.group(1) + m.group(2)
    return ""


def port_country(port: str) -> str:
    """Country of a port given as UN/LOCODE or as free text ending in a country name."""
    code = locode(port)
    if code:
        return code[:2]
    if "," in port:
        return to_alpha2(port.rsplit(",", 1)[1])
    return ""
