"""Name normalisation: one comparable token list for any spelling of a name.

Steps: transliterate to Latin, fold case and accents, drop punctuation (apostrophes join,
other marks split), drop honorifics, and reduce legal forms in any language to one
canonical token each ("ООО", "Limited Liability Company", "Obshchestvo s Ogranichennoy
Otvetstvennostyu" -> "llc"), which the scorer then weighs low.
"""

from __future__ import annotations

import functools
import re
import unicodedata

from screening.matching.translit import to_latin
from screening.model.entities import EntityType

# Honorifics and titles carry no identity. Dropped from persons and unknown parties.
HONORIFICS = frozenset(
    [
        "mr",
        "mrs",
        "ms",
        "miss",
        "mister",
        "madam",
        "dr",
        "doctor",
        "prof",
        "professor",
        "sir",
        "dame",
        "lord",
        "lady",
        "sheikh",
        "shaikh",
        "shaykh",
        "sheik",
        "cheikh",
        "haji",
        "hajji",
        "hajj",
        "alhaji",
        "mullah",
        "mulla",
        "maulvi",
        "maulavi",
        "mawlawi",
        "moulavi",
        "mawlana",
        "maulana",
        "molvi",
        "qari",
        "hafiz",
        "imam",
        "sayyid",
        "sayed",
        "syed",
        "gen",
        "general",
        "col",
        "colonel",
        "capt",
        "captain",
        "lt",
        "lieutenant",
        "maj",
        "major",
        "brig",
        "brigadier",
        "adm",
        "admiral",
        "sgt",
        "sergeant",
        "cmdr",
        "commander",
        "monsieur",
        "madame",
        "mme",
        "mlle",
        "herr",
        "frau",
        "senor",
        "senora",
        "sr",
        "sra",
        "hon",
        "honourable",
        "honorable",
        "rev",
        "reverend",
    ]
)

# Arabic articles and patronymic particles, spelled one way ("el-Assad" = "al-Assad").
_PARTICLES = {"el": "al", "ul": "al", "ibn": "bin", "ben": "bin", "bn": "bin", "binti": "bint"}
PATRONYMIC_PARTICLES = frozenset({"bin", "bint", "ould", "walad"})

_NUMBER_WORDS = {
    w: i
    for i, w in enumerate(
        "zero one two three four five six seven eight nine ten eleven twelve thirteen "
        "fourteen fifteen sixteen seventeen eighteen nineteen".split()
    )
}
_TENS = {
    w: 10 * (i + 2)
    for i, w in enumerate("twenty thirty forty fifty sixty seventy eighty ninety".split())
}
_ORDINALS = {
    w: i + 1
    for i, w in enumerate(
        "first second third fourth fifth sixth seventh eighth ninth tenth".split()
    )
}
_ORDINAL_SUFFIX = re.compile(r"^(\d+)(st|nd|rd|th)$")

# Legal forms -> canonical token. Multi-word forms are matched before single tokens.
_LEGAL_FORMS: dict[str, str] = {
    # limited liability company
    "limited liability company": "llc",
    "limited liability co": "llc",
    "obshchestvo s ogranichennoy otvetstvennostyu": "llc",
    "obshchestvo s ogranichennoi otvetstvennostiu": "llc",
    "obshestvo s ogranichennoj otvetstvennostju": "llc",
    "obshchestvo s organichennoy otvetstvennostyu": "llc",
    "tovarystvo z obmezhenoiu vidpovidalnistiu": "llc",
    "tovarystvo z obmezhenoyu vidpovidalnistyu": "llc",
    "societe a responsabilite limitee": "llc",
    "sociedad de responsabilidad limitada": "llc",
    "societa a responsabilita limitata": "llc",
    "gesellschaft mit beschrankter haftung": "llc",
    "llc": "llc",
    "l l c": "llc",
    "ooo": "llc",
    "too": "llc",
    "tov": "llc",
    "gmbh": "llc",
    "sarl": "llc",
    "srl": "llc",
    "s r l": "llc",
    "sro": "llc",
    "s r o": "llc",
    "spzoo": "llc",
    "sp zoo": "llc",
    "sp z o o": "llc",
    "kft": "llc",
    "doo": "llc",
    "d o o": "llc",
    "bv": "llc",
    "b v": "llc",
    "fzco": "llc",
    "fze": "llc",
    "fzc": "llc",
    "fz llc": "llc",
    "pllc": "llc",
    # joint-stock companies
    "public joint stock company": "jsc",
    "closed joint stock company": "jsc",
    "open joint stock company": "jsc",
    "joint stock company": "jsc",
    "joint stock co": "jsc",
    "aktsionernoe obshchestvo": "jsc",
    "aktsionernoye obshchestvo": "jsc",
    "publichnoe aktsionernoe obshchestvo": "jsc",
    "publichnoye aktsionernoye obshchestvo": "jsc",
    "zakrytoe aktsionernoe obshchestvo": "jsc",
    "otkrytoe aktsionernoe obshchestvo": "jsc",
    "aktiengesellschaft": "jsc",
    "societe anonyme": "jsc",
    "sociedad anonima": "jsc",
    "societa per azioni": "jsc",
    "jsc": "jsc",
    "ojsc": "jsc",
    "cjsc": "jsc",
    "pjsc": "jsc",
    "ao": "jsc",
    "zao": "jsc",
    "oao": "jsc",
    "pao": "jsc",
    "nao": "jsc",
    "ag": "jsc",
    "sa": "jsc",
    "s a": "jsc",
    "spa": "jsc",
    "s p a": "jsc",
    "nv": "jsc",
    "n v": "jsc",
    "as": "jsc",
    "asa": "jsc",
    "ab": "jsc",
    "oyj": "jsc",
    "a s": "jsc",
    "plc": "jsc",
    "public limited company": "jsc",
    "tic ltd sti": "ltd",
    "ltd sti": "ltd",
    "sti": "ltd",
    "as sti": "ltd",
    # limited / company / incorporated
    "company limited": "ltd",
    "co ltd": "ltd",
    "co limited": "ltd",
    "pte ltd": "ltd",
    "pvt ltd": "ltd",
    "private limited": "ltd",
    "pty ltd": "ltd",
    "sdn bhd": "ltd",
    "limited": "ltd",
    "ltd": "ltd",
    "ltda": "ltd",
    "pte": "ltd",
    "pvt": "ltd",
    "bhd": "ltd",
    "kk": "ltd",
    "kabushiki kaisha": "ltd",
    "incorporated": "inc",
    "inc": "inc",
    "corporation": "corp",
    "corp": "corp",
    "company": "co",
    "co": "co",
    "cie": "co",
    "limited partnership": "lp",
    "lp": "lp",
    "l p": "lp",
    "llp": "lp",
    "gmbh co kg": "lp",
    "kg": "lp",
    "unitary enterprise": "enterprise",
    "federal state unitary enterprise": "enterprise",
    "fgup": "enterprise",
    "gup": "enterprise",
    "mup": "enterprise",
    "pe": "enterprise",
}

LEGAL_FORM_TOKENS = frozenset(_LEGAL_FORMS.values())


def is_legal_form(token: str) -> bool:
    """Is this token a canonical legal form ("llc", "jsc")?"""
    return token in LEGAL_FORM_TOKENS


_MAX_FORM_WORDS = max(len(k.split()) for k in _LEGAL_FORMS)

_APOSTROPHES = re.compile(r"['\u2019\u2018\u02bc\u02bb`´]")
_NON_WORD = re.compile(r"[^a-z0-9]+")


@functools.lru_cache(maxsize=65536)
def fold(text: str) -> str:
    """Latin script, lower case, no accents, no punctuation; words separated by one space."""
    latin = to_latin(text)
    decomposed = unicodedata.normalize("NFKD", latin)
    stripped = "".join(c for c in decomposed if not unicodedata.combining(c))
    lowered = stripped.lower().replace("ß", "ss").replace("ø", "o").replace("đ", "d")
    lowered = lowered.replace("ł", "l").replace("æ", "ae").replace("œ", "oe").replace("ı", "i")
    joined = _APOSTROPHES.sub("", lowered)
    return " ".join(_NON_WORD.split(joined)).strip()


def canonical_legal_forms(words: list[str]) -> list[str]:
    """Replace legal-form phrases with their canonical token (longest phrase first)."""
    out: list[str] = []
    i = 0
    while i < len(words):
        for size in range(min(_MAX_FORM_WORDS, len(words) - i), 0, -1):
            phrase = " ".join(words[i : i + size])
            form = _LEGAL_FORMS.get(phrase)
            if form is not None:
                out.append(form)
                i += size
                break
        else:
            out.append(words[i])
            i += 1
    return out


def _numbers(words: list[str]) -> list[str]:
    """Numbers in one spelling: 'forty four' -> '44', 'first' / '1st' -> '1'."""
    out: list[str] = []
    for word in words:
        m = _ORDINAL_SUFFIX.match(word)
        if m:
            out.append(m[1])
        elif word in _ORDINALS:
            out.append(str(_ORDINALS[word]))
        elif word in _NUMBER_WORDS:
            if (
                out
                and out[-1].isdigit()
                and int(out[-1]) in _TENS.values()
                and _NUMBER_WORDS[word] < 10
            ):
                out[-1] = str(int(out[-1]) + _NUMBER_WORDS[word])
            else:
                out.append(str(_NUMBER_WORDS[word]))
        elif word in _TENS:
            out.append(str(_TENS[word]))
        else:
            out.append(word)
    return out


def _join_letters(words: list[str]) -> list[str]:
    """Runs of single letters are one abbreviation: 'g m b h' -> 'gmbh', 'j p' -> 'jp'."""
    out: list[str] = []
    run: list[str] = []
    for word in [*words, ""]:
        if len(word) == 1 and word.isalpha():
            run.append(word)
            continue
        if len(run) > 1:
            out.append("".join(run))
        else:
            out.extend(run)
        run = []
        if word:
            out.append(word)
    return out


@functools.lru_cache(maxsize=65536)
def name_tokens(name: str, kind: EntityType = EntityType.UNKNOWN) -> tuple[str, ...]:
    """Comparable tokens of a name. Honorifics are dropped from persons, legal forms made
    canonical for organisations, vessels and aircraft, both for parties of unknown kind."""
    words = _numbers(_join_letters(fold(name).split()))
    if kind in (EntityType.PERSON, EntityType.UNKNOWN):
        kept = [_PARTICLES.get(w, w) for w in words if w not in HONORIFICS]
        words = kept or words
    if kind != EntityType.PERSON:
        words = canonical_legal_forms(words)
    return tuple(words)
