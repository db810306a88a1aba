"""What the list-file fault tests share: seeding a key prefix with good data, and reading
what a running service says about its sources (GetDataStatus, its JSON log, its metrics)."""

from __future__ import annotations

import json
import re
import urllib.request
from pathlib import Path

import grpc
import redis

from screening.sources.ingest import ingest_directory
from screening.store.snapshots import ListStore
from screening.v1 import screening_pb2 as pb
from screening.v1 import screening_pb2_grpc as pb_grpc
from tests.conftest import Service, copy_lists

UN_LIST = "un/UN_consolidated_2026-02-27.xml"
DPL_LIST = "bis/dpl_2022-09.txt"


def seed(redis_url: str, prefix: str, lists_dir: Path, tmp_path: Path, *files: str) -> None:
    """Publish these real files under `prefix`: the last good data a fault must not lose."""
    folder = copy_lists(lists_dir, tmp_path / "seed", *files)
    result = ingest_directory(ListStore(redis.Redis.from_url(redis_url), prefix), folder)
    assert not result.rejected, result.rejected


def data_status(service: Service) -> dict[str, pb.SourceStatus]:
    with grpc.insecure_channel(service.target) as channel:
        reply = pb_grpc.ScreeningServiceStub(channel).GetDataStatus(
            pb.GetDataStatusRequest(), timeout=10
        )
    return {s.source: s for s in reply.sources}


def get_entity(service: Service, entity_id: str) -> pb.Entity:
    with grpc.insecure_channel(service.target) as channel:
        reply = pb_grpc.ScreeningServiceStub(channel).GetEntity(
            pb.GetEntityRequest(entity_id=entity_id), timeout=10
        )
    return reply.entity


def log_entries(service: Service, msg: str) -> list[dict[str, object]]:
    """The service's JSON log lines with this message."""
    out = []
    for line in service.logs().splitlines():
        if line.startswith("{") and f'"msg": "{msg}"' in line:
            out.append(json.loads(line))
    return out


def metric(service: Service, name: str, **labels: str) -> float:
    """One sample from the service's metrics port (0 when absent)."""
    with urllib.request.urlopen(f"http://127.0.0.1:{service.metrics_port}/metrics") as reply:
        text = reply.read().decode()
    wanted = ",".join(f'{k}="{v}"' for k, v in sorted(labels.items()))
    for line in text.splitlines():
        match = re.match(rf"^{name}\{{([^}}]*)\}} (\S+)$", line)
        if match and ",".join(sorted(match[1].split(","))) == wanted:
            return float(match[2])
    return 0.0
