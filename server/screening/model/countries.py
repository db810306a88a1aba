"""Country names as the lists write them -> ISO 3166 alpha-2.

pycountry gives the ISO names; the lists add their own spellings ("Korea, North", "Burma",
"Iran (Islamic Republic of)", "Congo, Democratic Republic of the"), which are mapped here.
"""

from __future__ import annotations

import functools
import re
import unicodedata

import pycountry

# Spellings used by the lists that ISO names do not cover. Keys are folded (see _fold).
_EXTRA = {
    "russia": "RU",
    "russian federation": "RU",
    "iran": "IR",
    "syria": "SY",
    "north korea": "KP",
    "korea north": "KP",
    "korea democratic peoples republic of": "KP",
    "democratic peoples republic of korea": "KP",
    "dprk": "KP",
    "south korea": "KR",
    "korea south": "KR",
    "republic of korea": "KR",
    "korea republic of": "KR",
    "korea": "KR",
    "burma": "MM",
    "myanmar burma": "MM",
    "congo democratic republic of the": "CD",
    "democratic republic of the congo": "CD",
    "democratic republic of congo": "CD",
    "drc": "CD",
    "congo republic of the": "CG",
    "republic of the congo": "CG",
    "congo": "CG",
    "venezuela": "VE",
    "bolivia": "BO",
    "tanzania": "TZ",
    "united republic of tanzania": "TZ",
    "vietnam": "VN",
    "viet nam": "VN",
    "laos": "LA",
    "lao peoples democratic republic": "LA",
    "moldova": "MD",
    "republic of moldova": "MD",
    "palestine": "PS",
    "palestinian territories": "PS",
    "west bank": "PS",
    "gaza": "PS",
    "gaza strip": "PS",
    "state of palestine": "PS",
    "occupied palestinian territory": "PS",
    "kosovo": "XK",
    "turkey": "TR",
    "turkiye": "TR",
    "uk": "GB",
    "united kingdom": "GB",
    "great britain": "GB",
    "britain": "GB",
    "england": "GB",
    "united kingdom of great britain and northern ireland": "GB",
    "usa": "US",
    "us": "US",
    "united states": "US",
    "united states of america": "US",
    "uae": "AE",
    "emirates": "AE",
    "czech republic": "CZ",
    "czechia": "CZ",
    "macedonia": "MK",
    "north macedonia": "MK",
    "the former yugoslav republic of macedonia": "MK",
    "ivory coast": "CI",
    "cote divoire": "CI",
    "cape verde": "CV",
    "swaziland": "SZ",
    "eswatini": "SZ",
    "holland": "NL",
    "netherlands": "NL",
    "the netherlands": "NL",
    "vatican": "VA",
    "holy see": "VA",
    "brunei": "BN",
    "micronesia": "FM",
    "taiwan": "TW",
    "hong kong": "HK",
    "macau": "MO",
    "macao": "MO",
    "bahamas": "BS",
    "the bahamas": "BS",
    "gambia": "GM",
    "the gambia": "GM",
    "sudan": "SD",
    "south sudan": "SS",
    "yugoslavia": "RS",
    "serbia and montenegro": "RS",
    "kyrgyz republic": "KG",
    "kyrgyzstan": "KG",
    "slovak republic": "SK",
    "st kitts and nevis": "KN",
    "st lucia": "LC",
    "st vincent and the grenadines": "VC",
    "saint vincent and the grenadines": "VC",
    "region crimea": "UA",
    "crimea": "UA",
    "soviet union": "RU",
    "ussr": "RU",
    "iraq": "IQ",
    "libya": "LY",
    "libyan arab jamahiriya": "LY",
    "afghanistan": "AF",
}


def _fold(text: str) -> str:
    text = unicodedata.normalize("NFKD", text)
    text = "".join(c for c in text if not unicodedata.combining(c)).lower()
    text = re.sub(r"\(([^)]*)\)", r" \1 ", text)
    text = re.sub(r"[^a-z0-9 ]+", "", text.replace("-", " ").replace(",", " "))
    return " ".join(text.split())


@functools.cache
def _table() -> dict[str, str]:
    table: dict[str, str] = {}
    for country in pycountry.countries:
        code = country.alpha_2
        for attr in ("name", "official_name", "common_name"):
            value = getattr(country, attr, None)
            if value:
                table[_fold(value)] = code
        table[country.alpha_3.lower()] = code
    for key, code in _EXTRA.items():
        table[_fold(key)] = code
    return table


@functools.cache
def alpha2_codes() -> frozenset[str]:
    return frozenset(c.alpha_2 for c in pycountry.countries) | {"XK"}


def is_alpha2(code: str) -> bool:
    return code in alpha2_codes()


@functools.lru_cache(maxsize=8192)
def to_alpha2(name: str | None) -> str:
    """Resolve a country name or code to alpha-2; '' when it is not a country."""
    if not name:
        return ""
    raw = name.strip()
    if len(raw) == 2 and raw.upper() in alpha2_codes():
        return raw.upper()
    folded = _fold(raw)
    if not folded:
        return ""
    table = _table()
    if folded in table:
        return table[folded]
    # "Moscow, Russia" / "Tehran Iran": try the trailing words.
    words = folded.split()
    for size in (4, 3, 2, 1):
        if len(words) > size:
            tail = " ".join(words[-size:])
            if tail in table and len(tail) > 3:
                return table[tail]
    return ""


def country_name(code: str) -> str:
    country = pycountry.countries.get(alpha_2=code)
    if country is None:
        return code
    return str(getattr(country, "common_name", None) or country.name)
