"""Make a party file for batch and load runs: names from the real lists (as published, with
their tokens reordered, or with a typo) mixed with innocent names made up from common given
names, family names and company words. Deterministic for a given --seed.

    python tests/load/make_parties.py --count 10000 -o /tmp/parties.csv

The `origin` column says where each row came from ("list:<entity id>:<variant>" or
"innocent"); the batch command ignores it, a reader of the results can use it.
"""

from __future__ import annotations

import argparse
import csv
import random
import sys
from pathlib import Path

from screening.model.entities import Entity, EntityType
from screening.sources.registry import discover, parse_fileset

ROOT = Path(__file__).resolve().parents[2]
GIVEN = (
    "Anna Maria Lukas Sofia Jonas Elena Marco Giulia Pierre Camille Jan Eva Pedro Lucia "
    "Tomasz Katarzyna Mikko Aino Ingrid Lars Sean Aoife Hiroshi Yuki Min-jun Seo-yeon "
    "Wei Fang Arjun Priya Kwame Ama Chidi Ngozi Diego Valentina Mateo Camila Noah Olivia "
    "Liam Emma Oskar Freja Henrik Astrid Rui Beatriz Nikos Eleni Andrei Ioana Marta Pablo"
).split()
FAMILY = (
    "Schneider Fischer Weber Rossi Bianchi Dubois Lefevre Kowalski Nowak Virtanen Korhonen "
    "Hansen Johansson Murphy Kelly Tanaka Suzuki Kim Park Wang Chen Sharma Patel Mensah "
    "Boateng Okafor Eze Garcia Fernandez Lopez Martinez Silva Santos Papadopoulos Ionescu "
    "Popescu Smith Brown Wilson Taylor Andersen Nielsen Lindqvist Costa Moreau Keller Novak"
).split()
COMPANY_WORDS = (
    "Nordic Alpine Coastal Summit Harbor Meridian Pioneer Evergreen Granite Crescent Atlas "
    "Horizon Lakeside Sterling Cobalt Maple Orchard Riverside Beacon Keystone Prairie Silver"
).split()
COMPANY_TRADES = (
    "Logistics Textiles Instruments Foods Valves Components Plastics Timber Packaging "
    "Analytics Bearings Optics Ceramics Furniture Pumps Coatings Freight Agritech Robotics"
).split()
COMPANY_FORMS = "GmbH Ltd S.p.A. SARL AB Oy BV Inc. LLC S.A. A/S Pty Ltd KG".split()
COUNTRIES = "DE IT FR PL FI SE NO IE JP KR CN IN GH NG ES PT GR RO US GB DK NL AT CH".split()


def listed_entities(lists_dir: Path) -> list[Entity]:
    """Entities of the newest publication of each source found (persons and organisations)."""
    newest = {}
    for fileset in discover(lists_dir):
        newest[fileset.source] = fileset  # discover() sorts oldest first within a source
    out = []
    for fileset in newest.values():
        try:
            publication = parse_fileset(fileset)
        except Exception as exc:  # a source this checkout cannot parse is left out
            print(f"skipping {fileset.main.name}: {exc}", file=sys.stderr)
            continue
        out += [
            e
            for e in publication.entities
            if e.entity_type in (EntityType.PERSON, EntityType.ORGANIZATION)
        ]
    return out


def typo(name: str, rng: random.Random) -> str:
    letters = [i for i, c in enumerate(name) if c.isalpha()]
    if len(letters) < 6:
        return name
    i = rng.choice(letters[1:-1])
    kind = rng.choice(("drop", "swap", "double"))
    if kind == "drop":
        return name[:i] + name[i + 1 :]
    if kind == "swap" and name[i + 1 : i + 2].isalpha():
        return name[:i] + name[i + 1] + name[i] + name[i + 2 :]
    return name[:i] + name[i] + name[i:]


def reorder(name: str) -> str:
    tokens = name.replace(",", " ").split()
    return " ".join(tokens[1:] + tokens[:1]) if len(tokens) > 1 else name


def innocent(rng: random.Random) -> dict[str, str]:
    if rng.random() < 0.6:
        name = f"{rng.choice(GIVEN)} {rng.choice(FAMILY)}"
        return {"name": name, "entity_type": "person", "country": rng.choice(COUNTRIES)}
    words = rng.sample(COMPANY_WORDS, 1 + (rng.random() < 0.3))
    name = " ".join([*words, rng.choice(COMPANY_TRADES), rng.choice(COMPANY_FORMS)])
    return {"name": name, "entity_type": "organization", "country": rng.choice(COUNTRIES)}


def make_parties(
    lists_dir: Path, count: int, listed_share: float, seed: int
) -> list[dict[str, str]]:
    rng = random.Random(seed)
    entities = listed_entities(lists_dir)
    if not entities:
        raise SystemExit(f"no list entries found under {lists_dir}")
    rows = []
    for i in range(count):
        row: dict[str, str]
        if rng.random() < listed_share:
            entity = rng.choice(entities)
            variant = rng.choices(("as-listed", "reordered", "typo"), (0.5, 0.25, 0.25))[0]
            name = entity.name
            if variant == "reordered" and entity.entity_type == EntityType.PERSON:
                name = reorder(name)
            elif variant == "typo":
                name = typo(name, rng)
            else:
                variant = "as-listed"
            kind = "person" if entity.entity_type == EntityType.PERSON else "organization"
            row = {"name": name, "entity_type": kind, "country": ""}
            if entity.countries and rng.random() < 0.5:
                row["country"] = entity.countries[0]
            row["origin"] = f"list:{entity.id}:{variant}"
        else:
            row = {**innocent(rng), "origin": "innocent"}
        rows.append({"party_ref": f"P{i + 1:06d}", **row})
    return rows


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lists-dir", type=Path, default=ROOT.parent / "shared/data/lists")
    parser.add_argument("--count", type=int, default=10_000)
    parser.add_argument("--listed-share", type=float, default=0.2)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("-o", "--output", type=Path, required=True)
    args = parser.parse_args()
    rows = make_parties(args.lists_dir, args.count, args.listed_share, args.seed)
    with args.output.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, ["party_ref", "name", "entity_type", "country", "origin"])
        writer.writeheader()
        writer.writerows(rows)
    listed = sum(r["origin"] != "innocent" for r in rows)
    print(f"wrote {len(rows)} parties ({listed} from the lists) to {args.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
