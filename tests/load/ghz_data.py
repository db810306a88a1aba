"""Write the request data of the ghz configurations in deploy/ghz/data/.

Realistic traffic for a screening service: mostly innocent counterparties (common given
names and surnames, ordinary company names), plus names drawn from the list files as they
are listed and as a clerk or an evader would write them (typos, reordered parts, changed
case). Deterministic (fixed seed), so the committed files can be regenerated exactly:

    .venv/bin/python -m tests.load.ghz_data [--lists-dir ../shared/data/lists]
"""

from __future__ import annotations

import argparse
import json
import random
from pathlib import Path

from screening.model.entities import Entity, EntityType
from screening.sources.registry import discover, parse_fileset

ROOT = Path(__file__).resolve().parents[2]
OUT_DIR = ROOT / "deploy" / "ghz" / "data"
DEFAULT_LISTS = ROOT.parent / "shared" / "data" / "lists"

# Word lists, kept as text for readability.
GIVEN = (
    "Anna Maria Jose Ahmed Mohamed Wei Li Juan Sofia Olga Ivan Peter Laura Hiroshi Yuki "
    "Carlos Fatima Priya Rahul Chen Kim Minjun Seo-yeon Lucas Emma Noah Mia Giulia Marco "
    "Andreas Katarzyna Piotr Elena Dmitri Aisha Omar Grace Samuel Chloe Mateo Valentina "
    "Ngozi Chinedu Thabo Ayesha Bilal Mehmet Zeynep Lars Ingrid Sean Siobhan"
).split()
FAMILY = (
    "Smith Garcia Muller Rossi Novak Kowalski Tanaka Sato Kim Park Nguyen Tran Silva Santos "
    "Johansson Nielsen Dubois Martin Fischer Weber Schneider Moreau Costa Pereira Fernandez "
    "Lopez Gonzalez Hernandez Wilson Taylor Brown Okafor Adeyemi Mensah Khumalo Patel Sharma "
    "Gupta Yilmaz Kaya Demir Jansen de-Vries Bakker Lindqvist Horvath Popescu Ionescu Murphy"
).split()
COMPANY_WORDS = (
    "Atlas Meridian Northwind Harbor Summit Pioneer Evergreen Sterling Orion Delta Crescent "
    "Bluewater Granite Horizon Lighthouse Keystone Redwood Silverline Trident Cobalt"
).split()
INDUSTRIES = (
    "Trading Logistics Shipping Electronics Components Textiles Foods Machinery Chemicals "
    "Automotive Instruments Supply Freight Industrial Packaging"
).split()
LEGAL_FORMS = ("Ltd", "LLC", "GmbH", "S.p.A.", "SARL", "Co., Ltd.", "Inc.", "B.V.", "AB", "AG")
COUNTRIES = "DE IT KR CN HK US GB FR NL PL TR IN JP AE SG BR ES SE".split()
ENTITY_TYPE_JSON = {
    EntityType.PERSON: "ENTITY_TYPE_PERSON",
    EntityType.ORGANIZATION: "ENTITY_TYPE_ORGANIZATION",
    EntityType.VESSEL: "ENTITY_TYPE_VESSEL",
    EntityType.AIRCRAFT: "ENTITY_TYPE_AIRCRAFT",
    EntityType.UNKNOWN: "ENTITY_TYPE_UNSPECIFIED",
}
# Goods lines: programmable controllers and sensors (on the Common High Priority list for
# Russia) and everyday goods.
GOODS = (
    ("853710", "Programmable logic controllers"),
    ("903289", "Automatic regulating instruments"),
    ("854231", "Processors and controllers, electronic integrated circuits"),
    ("847150", "Processing units for automatic data processing machines"),
    ("870829", "Motor vehicle body parts"),
    ("940360", "Wooden furniture"),
    ("610910", "Cotton T-shirts"),
    ("090111", "Coffee, not roasted"),
    ("392310", "Plastic boxes and crates"),
    ("732690", "Articles of iron or steel"),
)


def innocent_person(rng: random.Random) -> dict:
    party: dict = {
        "name": f"{rng.choice(GIVEN)} {rng.choice(FAMILY)}",
        "entity_type": "ENTITY_TYPE_PERSON",
    }
    if rng.random() < 0.5:
        party["birth_date"] = f"{rng.randint(1950, 2000)}-{rng.randint(1, 12):02d}"
    if rng.random() < 0.6:
        party["country"] = rng.choice(COUNTRIES)
    return party


def innocent_company(rng: random.Random) -> dict:
    name = f"{rng.choice(COMPANY_WORDS)} {rng.choice(INDUSTRIES)} {rng.choice(LEGAL_FORMS)}"
    party: dict = {"name": name, "entity_type": "ENTITY_TYPE_ORGANIZATION"}
    if rng.random() < 0.7:
        party["country"] = rng.choice(COUNTRIES)
    return party


def disguise(name: str, rng: random.Random) -> str:
    """A listed name as someone might type it: a typo, reordered parts or changed case."""
    tokens = name.split()
    kind = rng.choice(("typo", "reorder", "case", "typo"))
    if kind == "reorder" and len(tokens) > 1:
        rng.shuffle(tokens)
        return " ".join(tokens)
    if kind == "case":
        return name.title() if name.isupper() else name.upper()
    letters = [i for i, c in enumerate(name) if c.isalpha()]
    if len(letters) < 4:
        return name
    i = rng.choice(letters[1:-1])
    edit = rng.choice(("drop", "double", "swap"))
    if edit == "drop":
        return name[:i] + name[i + 1 :]
    if edit == "double":
        return name[:i] + name[i] + name[i:]
    return name[: i - 1] + name[i] + name[i - 1] + name[i + 1 :]


def listed_party(entity: Entity, rng: random.Random, disguised: bool) -> dict:
    name = entity.name
    if entity.aliases and rng.random() < 0.2:
        name = rng.choice(entity.aliases).full
    party: dict = {
        "name": disguise(name, rng) if disguised else name,
        "entity_type": ENTITY_TYPE_JSON[entity.entity_type],
    }
    if entity.countries and rng.random() < 0.5:
        party["country"] = entity.countries[0]
    if entity.birth_dates and rng.random() < 0.5:
        party["birth_date"] = entity.birth_dates[0][:4]
    return party


def load_entities(lists_dir: Path) -> list[Entity]:
    newest: dict[str, list[Entity]] = {}
    for fileset in discover(lists_dir):  # oldest first within a source: keep the newest
        newest[fileset.source] = parse_fileset(fileset).entities
    named = [e for entities in newest.values() for e in entities if len(e.name) >= 4]
    return sorted(named, key=lambda e: e.id)


def party_mix(entities: list[Entity], rng: random.Random) -> dict:
    """60% innocent, 20% listed as listed, 20% listed and disguised."""
    roll = rng.random()
    if roll < 0.35:
        return innocent_person(rng)
    if roll < 0.6:
        return innocent_company(rng)
    return listed_party(rng.choice(entities), rng, disguised=roll >= 0.8)


def screen_party_requests(entities: list[Entity], rng: random.Random, n: int) -> list[dict]:
    """`n` parties of distinct names: a run without the result cache screens `n` names."""
    seen: set[str] = set()
    out: list[dict[str, object]] = []
    while len(out) < n:
        party = party_mix(entities, rng)
        key = " ".join(party["name"].casefold().split())
        if key not in seen:
            seen.add(key)
            out.append({"party": party})
    return out


def compare_requests(entities: list[Entity], rng: random.Random, n: int) -> list[dict]:
    out = []
    for _ in range(n):
        entity = rng.choice(entities)
        listed = listed_party(entity, rng, disguised=False)
        roll = rng.random()
        if roll < 0.5:
            other = listed_party(entity, rng, disguised=True)
        elif roll < 0.75:
            person = entity.entity_type == EntityType.PERSON
            other = innocent_person(rng) if person else innocent_company(rng)
        else:
            other = listed_party(rng.choice(entities), rng, disguised=False)
        out.append({"left": listed, "right": other})
    return out


def shipment_requests(entities: list[Entity], rng: random.Random, n: int) -> list[dict]:
    roles = ("PARTY_ROLE_SHIPPER", "PARTY_ROLE_CONSIGNEE", "PARTY_ROLE_NOTIFY_PARTY")
    out = []
    for i in range(n):
        parties = []
        for role in roles[: rng.randint(2, 3)]:
            party = party_mix(entities, rng)
            party["role"] = role
            parties.append(party)
        origin, destination = rng.sample([*COUNTRIES, "RU", "BY"], 2)
        goods = [
            {
                "hs_code": code,
                "description": description,
                "value": round(rng.uniform(1_000, 250_000), 2),
                "currency": "USD",
                "origin_country": origin,
            }
            for code, description in rng.sample(GOODS, rng.randint(1, 3))
        ]
        out.append(
            {
                "shipment_ref": f"LOAD-{i:05d}",
                "parties": parties,
                "goods": goods,
                "route": {"origin_country": origin, "destination_country": destination},
            }
        )
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--lists-dir", type=Path, default=DEFAULT_LISTS)
    parser.add_argument("--out", type=Path, default=OUT_DIR)
    parser.add_argument("--parties", type=int, default=2000)
    parser.add_argument("--pairs", type=int, default=500)
    parser.add_argument("--shipments", type=int, default=300)
    parser.add_argument(
        "--only", choices=("screen_party", "compare_parties", "screen_shipment"), help="one file"
    )
    args = parser.parse_args()
    entities = load_entities(args.lists_dir)
    args.out.mkdir(parents=True, exist_ok=True)
    sets = {
        "screen_party.json": screen_party_requests(entities, random.Random(5), args.parties),
        "compare_parties.json": compare_requests(entities, random.Random(6), args.pairs),
        "screen_shipment.json": shipment_requests(entities, random.Random(7), args.shipments),
    }
    for name, requests in sets.items():
        if args.only and name != f"{args.only}.json":
            continue
        path = args.out / name
        lines = ",\n".join(json.dumps(r, ensure_ascii=False) for r in requests)
        path.write_text(f"[\n{lines}\n]\n")
        print(f"{path.relative_to(ROOT)}: {len(requests)} requests")


if __name__ == "__main__":
    main()
