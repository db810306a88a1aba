"""`screening bench`: handler time of ScreenParty, CompareParties and ScreenShipment on real
list data.

The worker's own code path: the index is built from a snapshot in Redis exactly as a worker
builds it, and the servicer's handlers are awaited in process (no result cache, so every call
runs the matcher), so the figures are the server's handler time without network and HTTP/2
framing. With `--target` the shipments are also sent over gRPC to a running server, for the
round trip.

ScreenParty and CompareParties requests come from the ghz request data in deploy/ghz/data
(names drawn from the list files, as listed and mistyped, and innocent people and companies).
The shipments are synthetic: 8 parties in the usual roles with company names built from
word lists (a few are listed names, so matches, findings and evidence are exercised too),
20 goods lines mixing CHPL and ordinary HS codes, and a route.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import random
import statistics
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from google.protobuf.message import Message

from screening.config import Settings
from screening.harness import console
from screening.v1 import screening_pb2 as pb

_M = TypeVar("_M", bound=Message)
# The ghz request data, from the repository root.
DEFAULT_DATA_DIR = Path("deploy/ghz/data")

if TYPE_CHECKING:
    from screening.index.holder import IndexHolder
    from screening.store.snapshots import ListStore

_PREFIXES = [
    "Hanil",
    "Alpine",
    "Baltic",
    "Caspian",
    "Danube",
    "Eurasia",
    "Kestrel",
    "Meridian",
    "Nordic",
    "Orion",
    "Pacific",
    "Polaris",
    "Sino",
    "Vostok",
    "Zenith",
    "Aurora",
    "Atlas",
    "Granit",
    "Severny",
    "Yuzhny",
    "Taurus",
    "Lotus",
    "Sapphire",
    "Crescent",
]
_MIDDLES = [
    "Precision",
    "Electronics",
    "Trading",
    "Components",
    "Industrial",
    "Machinery",
    "Semiconductor",
    "Automation",
    "Supply",
    "Engineering",
    "Instruments",
    "Systems",
    "Technology",
    "Import",
    "Export",
]
_SUFFIXES = ("Co., Ltd.", "GmbH", "LLC", "OOO", "Limited", "JSC", "S.A.", "FZE", "Sp. z o.o.")
_CITIES = {
    "KR": "Seoul",
    "DE": "Hamburg",
    "CN": "Shenzhen",
    "HK": "Hong Kong",
    "AE": "Dubai",
    "TR": "Istanbul",
    "KZ": "Almaty",
    "RU": "Moscow",
    "IT": "Milan",
    "NL": "Rotterdam",
}
# Names a list carries: some shipments go to a listed party.
_LISTED = ("LIMITED LIABILITY COMPANY AURUS", "ARGO I")
_HS_CODES = (
    "854231",
    "8542310000",
    "853710",
    "85371091",
    "847150",
    "850440",
    "870899",
    "9405100000",
    "392690",
    "732690",
    "848210",
    "903020",
)
_ROLES = (
    pb.PARTY_ROLE_SHIPPER,
    pb.PARTY_ROLE_SUPPLIER,
    pb.PARTY_ROLE_CONSIGNEE,
    pb.PARTY_ROLE_INTERMEDIATE_CONSIGNEE,
    pb.PARTY_ROLE_END_USER,
    pb.PARTY_ROLE_NOTIFY_PARTY,
    pb.PARTY_ROLE_FREIGHT_FORWARDER,
    pb.PARTY_ROLE_BANK,
)


def _company(rng: random.Random) -> str:
    return f"{rng.choice(_PREFIXES)} {rng.choice(_MIDDLES)} {rng.choice(_SUFFIXES)}"


def make_shipments(
    count: int, *, parties: int = 8, goods: int = 20, vessels: int = 0, seed: int = 7
) -> list[pb.ScreenShipmentRequest]:
    rng = random.Random(seed)
    countries = list(_CITIES)
    out = []
    for n in range(count):
        origin, destination = rng.sample(countries, 2)
        transit = rng.sample([c for c in countries if c not in (origin, destination)], 1)
        party_list = []
        for i in range(parties):
            role = _ROLES[i % len(_ROLES)]
            country = (
                origin
                if role in (pb.PARTY_ROLE_SHIPPER, pb.PARTY_ROLE_SUPPLIER)
                else (destination if rng.random() < 0.8 else rng.choice(countries))
            )
            name = _company(rng)
            if role == pb.PARTY_ROLE_CONSIGNEE and n % 4 == 0:
                name = _LISTED[0]
            party_list.append(
                pb.Party(
                    name=name,
                    entity_type=pb.ENTITY_TYPE_ORGANIZATION,
                    country=country,
                    role=role,
                    address=pb.Address(
                        street=f"{rng.randint(1, 200)} {rng.choice(_PREFIXES)} Street",
                        city=_CITIES[country],
                        country=country,
                    ),
                    party_ref=f"p{i}",
                )
            )
        lines = [
            pb.GoodsItem(
                hs_code=rng.choice(_HS_CODES),
                description="goods line",
                value=round(rng.uniform(100, 50_000), 2),
                currency="USD",
                origin_country=origin,
                quantity=rng.randint(1, 500),
                unit="pcs",
            )
            for _ in range(goods)
        ]
        vessel_list = [
            pb.Party(name=_LISTED[1] if n % 8 == 0 and v == 0 else f"{rng.choice(_PREFIXES)} Star")
            for v in range(vessels)
        ]
        out.append(
            pb.ScreenShipmentRequest(
                shipment_ref=f"bench-{n}",
                parties=party_list,
                vessels=vessel_list,
                goods=lines,
                route=pb.Route(
                    origin_country=origin,
                    destination_country=destination,
                    transit_countries=transit,
                ),
            )
        )
    return out


def _percentiles(samples: Sequence[float]) -> dict[str, float]:
    ordered = sorted(samples)
    q = statistics.quantiles(ordered, n=100, method="inclusive")
    return {
        "n": len(ordered),
        "mean_ms": round(statistics.fmean(ordered), 3),
        "p50_ms": round(q[49], 3),
        "p90_ms": round(q[89], 3),
        "p99_ms": round(q[98], 3),
        "max_ms": round(ordered[-1], 3),
    }


def _load_index(
    settings: Settings, redis_url: str, lists_dir: Path | None, show_progress: bool | None = None
) -> tuple[IndexHolder, ListStore]:
    """The index a worker would build: from `redis_url`'s snapshot, or from `lists_dir`
    ingested into a throw-away embedded Redis."""
    with loaded_index(settings, redis_url, lists_dir, show_progress) as (holder, store, _):
        return holder, store


@contextlib.contextmanager
def loaded_index(
    settings: Settings, redis_url: str, lists_dir: Path | None, show_progress: bool | None = None
) -> Iterator[tuple[IndexHolder, ListStore, str]]:
    """As _load_index, the embedded Redis (if any) kept running until the block ends; yields
    the holder, the store and the Redis URL."""
    from screening.index.holder import IndexHolder
    from screening.sources.ingest import ingest_directory
    from screening.store.connection import connect
    from screening.store.embedded import EmbeddedRedis
    from screening.store.snapshots import ListStore

    embedded = None
    if not redis_url:
        if lists_dir is None:
            raise SystemExit("give --redis-url (a loaded service's Redis) or --lists-dir")
        embedded = EmbeddedRedis().start()
        redis_url = embedded.url
    try:
        store = ListStore(connect(redis_url), settings.redis_prefix)
        if embedded is not None:
            assert lists_dir is not None
            with console.progress_bar(None, "ingesting", show_progress, "files") as bar:
                ingest_directory(
                    store,
                    lists_dir,
                    max_drop_share=settings.max_drop_share,
                    progress=console.step_counter(bar),
                )
        holder = IndexHolder(store)
        loaded = holder.load_sync()
        if loaded is None:
            raise SystemExit("no list snapshot in Redis")
        holder.swap(loaded)
        yield holder, store, redis_url
    finally:
        if embedded is not None:
            embedded.stop()


def load_requests(path: Path, message: type[_M]) -> list[_M]:
    """Requests from a ghz data file (a JSON array of requests in protobuf JSON form)."""
    from google.protobuf import json_format

    return [json_format.ParseDict(item, message()) for item in json.loads(path.read_text())]


async def _handler_times(
    handler: Callable[[Any, Any], Awaitable[Any]],
    requests: Sequence[Any],
    rounds: int,
    warmup: int,
    on_call: Callable[[], object] = lambda: None,
) -> tuple[list[float], list[float], Counter[str]]:
    """Wall-clock and CPU time (ms) of each handler call, and the decisions (if any)."""
    # The handlers use their context only to abort; these requests are valid.
    context: Any = None
    for i in range(warmup):
        await handler(requests[i % len(requests)], context)
        on_call()
    wall, cpu = [], []
    decisions: Counter[str] = Counter()
    for i in range(rounds):
        request = requests[i % len(requests)]
        started, started_cpu = time.perf_counter(), time.thread_time()
        response = await handler(request, context)
        wall.append((time.perf_counter() - started) * 1000)
        cpu.append((time.thread_time() - started_cpu) * 1000)
        on_call()
        if hasattr(response, "decision"):
            decisions[pb.Decision.Name(response.decision)] += 1
        elif hasattr(response, "is_match"):
            decisions["match" if response.is_match else "no match"] += 1
    return wall, cpu, decisions


def _grpc_times(
    target: str, requests: list[pb.ScreenShipmentRequest], rounds: int, warmup: int
) -> list[float]:
    import grpc

    from screening.v1 import screening_pb2_grpc as pb_grpc

    with grpc.insecure_channel(target) as channel:
        stub = pb_grpc.ScreeningServiceStub(channel)
        for i in range(warmup):
            stub.ScreenShipment(requests[i % len(requests)], timeout=10)
        times = []
        for i in range(rounds):
            started = time.perf_counter()
            stub.ScreenShipment(requests[i % len(requests)], timeout=10)
            times.append((time.perf_counter() - started) * 1000)
    return times


RPCS = ("party", "compare", "shipment")


def run_benchmark(
    settings: Settings,
    *,
    redis_url: str,
    lists_dir: Path | None,
    rounds: int,
    warmup: int,
    rpcs: Sequence[str] = RPCS,
    data_dir: Path = DEFAULT_DATA_DIR,
    parties: int = 8,
    goods: int = 20,
    vessels: int = 0,
    distinct: int = 256,
    target: str = "",
    json_out: str = "",
    show_progress: bool | None = None,
) -> int:
    from screening.api.servicer import ScreeningServicer
    from screening.runtime.wiring import build_deps

    started = time.perf_counter()
    holder, store = _load_index(settings, redis_url, lists_dir, show_progress)
    index = holder.current
    assert index is not None
    as_json = json_out == "-"
    say = (lambda _text: None) if as_json else print
    say(
        f"index: data version {index.version}, {len(index.entities)} entities, "
        f"{index.matcher.name_count} names "
        f"(ready in {console.duration(time.perf_counter() - started)})"
    )
    servicer = ScreeningServicer(build_deps(settings, holder, store))
    figures: dict[str, object] = {"cpus": os.cpu_count()}
    plans: list[tuple[str, str, Callable[[Any, Any], Awaitable[Any]], Sequence[Any]]] = []
    if "party" in rpcs:
        requests: Sequence[Any] = load_requests(
            data_dir / "screen_party.json", pb.ScreenPartyRequest
        )
        what = f"{len(requests)} distinct requests from {data_dir}/screen_party.json"
        plans.append(("ScreenParty", what, servicer.ScreenParty, requests))
    if "compare" in rpcs:
        requests = load_requests(data_dir / "compare_parties.json", pb.ComparePartiesRequest)
        what = f"{len(requests)} distinct pairs from {data_dir}/compare_parties.json"
        plans.append(("CompareParties", what, servicer.CompareParties, requests))
    if "shipment" in rpcs:
        shipments = make_shipments(distinct, parties=parties, goods=goods, vessels=vessels)
        shape = shipments[0]
        what = (
            f"{len(shipments)} distinct synthetic shipments, {len(shape.parties)} parties + "
            f"{len(shape.vessels)} vessels, {len(shape.goods)} goods lines each; "
            f"policy {servicer.deps.policies.current().version}"
        )
        plans.append(("ScreenShipment", what, servicer.ScreenShipment, shipments))
    load_before = os.getloadavg()[0]
    rows: list[tuple[object, ...]] = []
    for name, what, handler, requests in plans:
        say(f"{name}: {what}")
        with console.progress_bar(rounds + warmup, name, show_progress, "calls") as bar:
            wall, cpu, decisions = asyncio.run(
                _handler_times(handler, requests, rounds, warmup, bar.update)
            )
        figures[name] = {
            "handler": _percentiles(wall),
            "handler_cpu": _percentiles(cpu),
            "outcomes": dict(decisions),
        }
        # CPU time leaves out the time the process waited for a core: on a busy machine it
        # is what the same calls take on an idle one.
        rows.append((name, "handler time", *_row(_percentiles(wall)), _outcomes(decisions)))
        rows.append((name, "handler CPU time", *_row(_percentiles(cpu)), ""))
    figures["load_average"] = [load_before, os.getloadavg()[0]]
    if target and "shipment" in rpcs:
        shipments = make_shipments(distinct, parties=parties, goods=goods, vessels=vessels)
        rtt = _percentiles(_grpc_times(target, shipments, rounds, warmup))
        figures["ScreenShipment grpc_round_trip"] = rtt
        rows.append(("ScreenShipment", f"gRPC round trip to {target}", *_row(rtt), ""))
    headers = ("rpc", "what", "calls", "mean", "p50", "p90", "p99", "max", "outcomes")
    say("")
    say(console.table(headers, rows, right={2, 3, 4, 5, 6, 7}))
    say(
        f"\nload average {load_before:.2f} before, {os.getloadavg()[0]:.2f} after, "
        f"on {figures['cpus']} cores"
    )
    if as_json:
        console.print_json(figures)
    elif json_out:
        Path(json_out).write_text(json.dumps(figures, indent=2))
    return console.Exit.OK


def _row(figures: dict[str, float]) -> tuple[object, ...]:
    return (
        int(figures["n"]),
        *(
            console.milliseconds(figures[k])
            for k in ("mean_ms", "p50_ms", "p90_ms", "p99_ms", "max_ms")
        ),
    )


def _outcomes(decisions: Counter[str]) -> str:
    return ", ".join(f"{k.removeprefix('DECISION_')} {v}" for k, v in decisions.most_common())
