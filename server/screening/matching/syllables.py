"""The syllable table of Chinese and Korean names, which structure.py reads names with:
each romanised spelling of a syllable and the sounds it may write. The rules below make
it: pinyin and Wade-Giles for the syllables anyascii gives the Han characters; Revised
Romanization and McCune-Reischauer for Hangul, with the spellings lists also use. A
matching process reads the table from SYLLABLES_FILE, which harness/syllables.py writes
from these rules (a unit test fails when the two differ): building it at every start cost
each matching process 0.12 s of CPU, reading it costs 0.04 s (and 3 MB against 12 just
after, most of that the garbage of building, which the process reused later on)."""

from __future__ import annotations

from pathlib import Path

from anyascii import anyascii

from screening.matching.translit import (
    _FINALS,
    _INITIALS_MR,
    _INITIALS_RR,
    _MEDIALS_MR,
    _MEDIALS_RR,
)

SYLLABLES_FILE = Path(__file__).parent / "data" / "syllables.tsv"


# Two-letter initials first, so that "zhang" opens on "zh", not "z".
_PINYIN_INITIALS: tuple[str, ...] = tuple(
    "zh ch sh b p m f d t n l g k h j q x r z c s y w".split()
)
# Wade-Giles writes pinyin's initials so (aspiration marks dropped, as lists drop them).
_WG_INITIALS = {
    "b": "p",
    "d": "t",
    "g": "k",
    "j": "ch",
    "q": "ch",
    "x": "hs",
    "zh": "ch",
    "r": "j",
    "z": "ts",
    "c": "ts",
}
_WG_WHOLE = {
    "zi": "tzu",
    "ci": "tzu",
    "si": "ssu",
    "zhi": "chih",
    "chi": "chih",
    "shi": "shih",
    "ri": "jih",
    "yi": "i",
    "you": "yu",
    "yan": "yen",
    "ye": "yeh",
    "yong": "yung",
    "yue": "yueh",
    "er": "erh",
}


def wade_giles(pinyin: str) -> str:
    """The Wade-Giles spelling of a pinyin syllable, without apostrophes and umlauts, as
    Taiwanese and older names are written ("xiong" -> "hsiung", "zedong" -> "tse tung")."""
    if pinyin in _WG_WHOLE:
        return _WG_WHOLE[pinyin]
    initial = next((i for i in _PINYIN_INITIALS if pinyin.startswith(i)), "")
    final = pinyin[len(initial) :]
    velar = initial in ("g", "k", "h")
    if (final == "e" and velar) or (final == "uo" and not velar and initial != "sh"):
        final = "o"
    elif final == "ui" and initial in ("g", "k"):
        final = "uei"
    elif final.endswith("ong"):
        final = final[:-3] + "ung"
    elif final == "ian":
        final = "ien"
    elif final in ("ie", "ue", "ve"):
        final = final[0] + "eh" if final == "ie" else "ueh"
    return _WG_INITIALS.get(initial, initial) + final


def _chinese_sounds() -> dict[str, set[str]]:
    # About 400 syllables among the 20,902 characters: each spelled once.
    syllables = {anyascii(chr(code)).lower() for code in range(0x4E00, 0x9FA6)}
    sounds: dict[str, set[str]] = {}
    for pinyin in sorted(syllables):
        if pinyin.isalpha():
            for form in (pinyin, wade_giles(pinyin)):
                sounds.setdefault(form, set()).add("c" + pinyin)
    return sounds


# Korean finals written as their letter (ICU's and many registries' transliteration:
# "baggyeongsug"), besides the sound Revised Romanization gives them.
_FINALS_LETTER = " g kk gs n nj nh d l lg lm lb ls lt lp lh m b bs s ss ng j ch k t p h".split(" ")
# McCune-Reischauer outside the DPRK: ㅈ is "ch" ("Chong", "Chung").
_INITIALS_MR_CH = "k kk n t tt r m p pp s ss _ ch tch ch k t p h".split()
# Medials before which ㅅ is written "sh" ("Shin", "Shim").
_SH_MEDIALS = frozenset({2, 6, 7, 12, 16, 17, 20})


def _korean_sounds() -> dict[str, set[str]]:
    sounds: dict[str, set[str]] = {}
    for index in range(11172):
        initial, rest = divmod(index, 588)
        medial, final = divmod(rest, 28)
        sound = "k" + chr(0xAC00 + index)
        for initials, medials in (
            (_INITIALS_RR, _MEDIALS_RR),
            (_INITIALS_MR, _MEDIALS_MR),
            (_INITIALS_MR_CH, _MEDIALS_MR),
        ):
            leads = {initials[initial].replace("_", "")}
            if initial == 5:
                leads.add("l")  # ㄹ: "Ryu", "Lyu", "Ri", "Li"
            if initial == 9 and medial in _SH_MEDIALS:
                leads.add("sh")
            for lead in leads:
                for finals in (_FINALS, _FINALS_LETTER):
                    form = lead + medials[medial] + finals[final]
                    sounds.setdefault(form, set()).add(sound)
    return sounds


VOWELS = frozenset("aeiou")


def syllable_inventory() -> dict[str, tuple[str, ...]]:
    """Each romanised spelling of a Chinese or Korean syllable -> the sounds it may write
    (sorted), by the rules above: what SYLLABLES_FILE holds."""
    merged: dict[str, set[str]] = {}
    for table in (_chinese_sounds(), _korean_sounds()):
        for form, keys in table.items():
            # Syllables without a vowel (Cantonese "ng", "m") would cut any word anywhere.
            if VOWELS & set(form):
                merged.setdefault(form, set()).update(keys)
    return {form: tuple(sorted(merged[form])) for form in sorted(merged)}


def read_syllables(path: Path) -> dict[str, tuple[str, ...]]:
    """The table as harness/syllables.py writes it: a line a spelling, `form<TAB>sound
    sound...`; lines opening with # are comments."""
    one: dict[str, str] = {}  # each sound one string, however many spellings write it
    table: dict[str, tuple[str, ...]] = {}
    with path.open(encoding="utf-8") as lines:
        for line in lines:
            if not line.startswith("#"):
                form, _, sounds = line.rstrip("\n").partition("\t")
                table[form] = tuple(one.setdefault(sound, sound) for sound in sounds.split())
    return table
