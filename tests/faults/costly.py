"""The costliest requests the API accepts: names and aliases filling a party's characters
(each name at most 512), made of words the lists use most (every word finds candidates), of
two-letter words (the most words per character), or of Hangul syllables (several
romanisations each). Deterministic. `old_limits` builds them at the limits before issue 25
(51 names of 512 characters per party, 50 parties and 10 vessels per shipment)."""

from __future__ import annotations

import random
import string
from collections.abc import Callable

from screening.v1 import screening_pb2 as pb

# Words found in many list entries: each one reaches many candidate names.
COMMON_WORDS = (
    "mohammad muhammad ahmad ali hassan hussein abdul abd al el bin ibn abu said ismail "
    "ibrahim khan rahman karim yusuf omar salem saleh nasser trading company limited "
    "international group industrial bank shipping general holding enterprises petroleum "
    "aviation development corporation services investment islamic republic national "
    "ivanov petrov sergey alexander vladimir nikolai kim jong chol song hyon lee park"
).split()
NAME_LENGTH = 512
PARTY_CHARACTERS = 1024  # SCREENING_MAX_PARTY_CHARACTERS
SHIPMENT_CHARACTERS = 2048  # SCREENING_MAX_SHIPMENT_CHARACTERS


def _words(rng: random.Random, length: int, word: Callable[[], str]) -> str:
    text = word()
    while True:
        more = f"{text} {word()}"
        if len(more) > length:
            return text
        text = more


def latin_name(rng: random.Random, length: int = NAME_LENGTH) -> str:
    return _words(rng, length, lambda: rng.choice(COMMON_WORDS))


def short_words_name(rng: random.Random, length: int = NAME_LENGTH) -> str:
    return _words(rng, length, lambda: "".join(rng.choices(string.ascii_lowercase, k=2)))


def hangul_name(rng: random.Random, length: int = NAME_LENGTH) -> str:
    syllable = lambda: chr(rng.randrange(0xAC00, 0xD7A4))  # noqa: E731
    return _words(rng, length, lambda: "".join(syllable() for _ in range(rng.randint(2, 3))))


SHAPES: dict[str, Callable[[random.Random, int], str]] = {
    "common": latin_name,
    "short": short_words_name,
    "hangul": hangul_name,
}


def party(
    shape: str, seed: int, *, names: int = 2, characters: int = PARTY_CHARACTERS, **fields: object
) -> pb.Party:
    """A party whose `names` names (the first its name, the others aliases) share
    `characters` characters, each at most 512."""
    rng = random.Random(seed)
    length = min(NAME_LENGTH, characters // names)
    texts = [SHAPES[shape](rng, length) for _ in range(names)]
    return pb.Party(name=texts[0], aliases=texts[1:], **fields)


def compare_request(shape: str, names: int = 2, characters: int = PARTY_CHARACTERS):  # type: ignore[no-untyped-def]
    return pb.ComparePartiesRequest(
        left=party(shape, 3, names=names, characters=characters),
        right=party(shape, 4, names=names, characters=characters),
    )


def shipment_request(
    shape: str,
    *,
    parties: int = 8,
    vessels: int = 0,
    characters: int = SHIPMENT_CHARACTERS,
    names: int = 1,
) -> pb.ScreenShipmentRequest:
    each = characters // (parties + vessels)
    return pb.ScreenShipmentRequest(
        shipment_ref="costly",
        parties=[
            party(
                shape,
                100 + n,
                names=names,
                characters=each,
                role=pb.PARTY_ROLE_CONSIGNEE if n % 2 else pb.PARTY_ROLE_SHIPPER,
            )
            for n in range(parties)
        ],
        vessels=[
            party(shape, 200 + n, names=names, characters=each, entity_type=pb.ENTITY_TYPE_VESSEL)
            for n in range(vessels)
        ],
        goods=[pb.GoodsItem(hs_code="854231") for _ in range(500)],
        route=pb.Route(origin_country="KR", destination_country="RU"),
    )


def old_limits() -> dict[str, object]:
    """The worst calls at the limits before issue 25 (now refused as INVALID_ARGUMENT)."""
    return {
        "compare 51x51 names of 512 (common words)": compare_request(
            "common", names=51, characters=51 * 512
        ),
        "party 51 Hangul names of 512": pb.ScreenPartyRequest(
            party=party("hangul", 2, names=51, characters=51 * 512)
        ),
        "shipment 60 parties of 51 names of 512 (common words)": shipment_request(
            "common", parties=50, vessels=10, characters=60 * 51 * 512, names=51
        ),
    }
