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
from pathlib import Path

from rapidfuzz.distance import OSA

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

# Legal forms -> their generic form ("llc", "jsc", "lp", ...): the table built from
# rigour's database of organisation types (screening.harness.legal_forms), plus the
# generic words rigour leaves in names on purpose, which the lists and requests add or
# drop at will ("X COMPANY", "X CORP"), with their Russian transliterations and the
# English word as Russian registries write it in Cyrillic ("Компани").
LEGAL_FORMS_FILE = Path(__file__).parent / "data" / "legal_forms.tsv"
_GENERIC_WORDS = {
    "company": "co",
    "co": "co",
    "cie": "co",
    "kompaniya": "co",
    "kompani": "co",
    "kampani": "co",
    "corporation": "corp",
    "corp": "corp",
    "korporatsiya": "corp",
}


def _load_legal_forms() -> dict[str, str]:
    forms = dict(_GENERIC_WORDS)
    for line in LEGAL_FORMS_FILE.read_text(encoding="utf-8").splitlines():
        phrase, form = line.split("\t")
        forms[phrase] = form
    return forms


_LEGAL_FORMS = _load_legal_forms()
LEGAL_FORM_TOKENS = frozenset(_LEGAL_FORMS.values())


def is_legal_form(token: str) -> bool:
    """Is this token a canonical legal form ("llc", "jsc")?"""
    return token in LEGAL_FORM_TOKENS


# The forms that make a legal person of a kind (not the generic words "co", "corp").
_LEGAL_PERSON_FORMS = LEGAL_FORM_TOKENS - frozenset(_GENERIC_WORDS.values())


def legal_forms_of(tokens: tuple[str, ...]) -> frozenset[str]:
    """The legal-person forms among a name's tokens ("llc", "jsc", "lp"...)."""
    return frozenset(t for t in tokens if t in _LEGAL_PERSON_FORMS)


_MAX_FORM_WORDS = max(len(k.split()) for k in _LEGAL_FORMS)

_APOSTROPHES = re.compile(r"['\u2019\u2018\u02bc\u02bb`´]")
_NON_WORD = re.compile(r"[^a-z0-9]+")


@functools.lru_cache(maxsize=65536)
def fold(text: str) -> str:
    """Latin script, lower case, no accents, no punctuation; words separated by one space."""
    latin = to_latin(text)
    if latin.isascii():
        # Nearly always (to_latin romanises): ASCII has no accents to decompose or letters
        # to replace, and the character loop below is most of a name's tokenising.
        lowered = latin.lower()
    else:
        decomposed = unicodedata.normalize("NFKD", latin)
        stripped = "".join(c for c in decomposed if not unicodedata.combining(c))
        lowered = stripped.lower().replace("ß", "ss").replace("ø", "o").replace("đ", "d")
        lowered = lowered.replace("ł", "l").replace("æ", "ae").replace("œ", "oe")
        lowered = lowered.replace("ı", "i")
    joined = _APOSTROPHES.sub("", lowered)
    return " ".join(_NON_WORD.split(joined)).strip()


def _typo_index() -> tuple[dict[str, list[tuple[int, str, str]]], dict[str, set[str]]]:
    """Where a legal form may be written with one typo: multi-word forms with one of their
    words of 5+ letters replaced by '*' (-> position, word, phrase); single words of 6+
    letters by their one-deletion variants (-> words)."""
    phrases: dict[str, list[tuple[int, str, str]]] = {}
    words: dict[str, set[str]] = {}
    for phrase in _LEGAL_FORMS:
        parts = phrase.split()
        if len(parts) > 1:
            for j, part in enumerate(parts):
                if len(part) >= TYPO_FORM_WORD:
                    key = " ".join([*parts[:j], "*", *parts[j + 1 :]])
                    phrases.setdefault(key, []).append((j, part, phrase))
        elif len(phrase) >= TYPO_FORM_ALONE:
            for variant in {phrase} | {phrase[:k] + phrase[k + 1 :] for k in range(len(phrase))}:
                words.setdefault(variant, set()).add(phrase)
    return phrases, words


# A legal-form word this long may carry one typo inside a multi-word form ("PUBLIC JOINT
# TOCK COMPANY"); alone, a longer one ("CONPANY"); a short form one doubled letter
# ("PJSSC"). Only at either end of a name, where legal forms stand.
TYPO_FORM_WORD = 5
TYPO_FORM_ALONE = 6
_TYPO_PHRASES, _TYPO_WORDS = _typo_index()


def _one_edit(a: str, b: str) -> bool:
    return OSA.distance(a, b, score_cutoff=1) <= 1


# Cached: the words at either end of organisation names repeat ("co ltd", "company").
@functools.lru_cache(maxsize=65536)
def _form_with_typo(span: tuple[str, ...]) -> str | None:
    """The legal-form phrase the words of `span` spell with one typo, if any."""
    if len(span) > 1:
        for j, word in enumerate(span):
            if len(word) < TYPO_FORM_WORD - 1:
                continue
            key = " ".join([*span[:j], "*", *span[j + 1 :]])
            for position, form_word, phrase in _TYPO_PHRASES.get(key, ()):
                if position == j and _one_edit(word, form_word):
                    return phrase
        return None
    word = span[0]
    if len(word) >= TYPO_FORM_ALONE - 1:
        variants = {word} | {word[:k] + word[k + 1 :] for k in range(len(word))}
        near = {f for v in variants for f in _TYPO_WORDS.get(v, ()) if _one_edit(word, f)}
        if near:
            # Several forms one edit away ("kompania": kompani, kompaniya, compania): the
            # same choice in every process (set order follows the str hash seed, which
            # differs between hosts), a form of the same first letter first.
            return min(near, key=lambda form: (form[0] != word[0], form))
    for k in range(1, len(word)):
        if word[k] == word[k - 1] and len(word) > 3 and word[:k] + word[k + 1 :] in _LEGAL_FORMS:
            return word[:k] + word[k + 1 :]
    return None


# The words of multi-word legal forms: a phrase written with one typo holds only these
# but for the mistyped word.
_PHRASE_WORDS = frozenset(
    word for phrase in _LEGAL_FORMS if " " in phrase for word in phrase.split()
)


def _may_be_mistyped_form(span: list[str]) -> bool:
    """Could _form_with_typo find a form in `span`? False where it surely would not (most
    spans): a cheap test before it, which tries every word of the span as the mistyped one."""
    if len(span) == 1:
        word = span[0]
        return len(word) >= TYPO_FORM_ALONE - 1 or (
            len(word) > 3 and any(word[k] == word[k - 1] for k in range(1, len(word)))
        )
    others = [word for word in span if word not in _PHRASE_WORDS]
    return not others or (len(others) == 1 and len(others[0]) >= TYPO_FORM_WORD - 1)


def _exact_forms(words: list[str]) -> list[tuple[str, bool]]:
    """(token, is a legal form): legal-form phrases replaced, longest phrase first."""
    out: list[tuple[str, bool]] = []
    i = 0
    while i < len(words):
        for size in range(min(_MAX_FORM_WORDS, len(words) - i), 0, -1):
            form = _LEGAL_FORMS.get(" ".join(words[i : i + size]))
            if form is not None:
                out.append((form, True))
                i += size
                break
        else:
            out.append((words[i], False))
            i += 1
    return out


def _with_typos_corrected(words: list[str]) -> list[str]:
    """Legal forms written with one typo at either end of the name (or next to the
    one-word forms there: "CONPANY LTD") spelled as the form."""
    n = len(words)
    left = 0
    while left < n - 1 and words[left] in _LEGAL_FORMS:
        left += 1
    right = n - 1
    while right > 0 and words[right] in _LEGAL_FORMS:
        right -= 1
    spans = {(start, size) for start in {0, left} for size in range(1, _MAX_FORM_WORDS + 1)}
    spans |= {
        (end - size + 1, size) for end in {n - 1, right} for size in range(1, _MAX_FORM_WORDS + 1)
    }
    out = list(words)
    for start, size in sorted(spans, key=lambda span: -span[1]):
        if start < 0 or start + size > n or size >= n:
            continue
        if not _may_be_mistyped_form(words[start : start + size]):
            continue
        if any(out[k] != words[k] for k in range(start, start + size)):
            continue  # already corrected
        if " ".join(words[start : start + size]) in _LEGAL_FORMS:
            continue
        phrase = _form_with_typo(tuple(words[start : start + size]))
        if phrase is not None:
            out[start : start + size] = [phrase] + [""] * (size - 1)
    return " ".join(out).split()


def canonical_legal_forms(words: list[str]) -> list[str]:
    """Replace legal-form phrases with their generic form (longest phrase first); at either
    end of the name, also forms written with one typo."""
    return [token for token, _ in _exact_forms(_with_typos_corrected(words))]


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
