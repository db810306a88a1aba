"""A steady load of real screenings (ScreenParty, ScreenShipment, ScreenParties items) from
several client threads, each on its own channel (so SO_REUSEPORT spreads them over the
workers). Every answered screening id and every failure is counted."""

from __future__ import annotations

import json
import threading
import time
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

import grpc
import redis

from screening.v1 import screening_pb2 as pb
from screening.v1 import screening_pb2_grpc as pb_grpc
from tests.conftest import Service, copy_lists, start_service

NAMES = ["Usama bin Laden", "Ivan Petrov", "Acme Trading GmbH", "KEMPES SANON", "Maria Lopez"]
# Retry what a dead worker leaves unanswered (the usual gRPC client set-up for a replicated
# service); screening has no side effect a client could see twice.
RETRY_CONFIG = json.dumps(
    {
        "methodConfig": [
            {
                "name": [{"service": "screening.v1.ScreeningService"}],
                "retryPolicy": {
                    "maxAttempts": 5,
                    "initialBackoff": "0.05s",
                    "maxBackoff": "0.5s",
                    "backoffMultiplier": 2,
                    "retryableStatusCodes": ["UNAVAILABLE"],
                },
            }
        ]
    }
)


@dataclass
class Load:
    target: str
    threads: int = 4
    retry: bool = True
    answered: list[str] = field(default_factory=list)
    failures: Counter[str] = field(default_factory=Counter)
    _stop: threading.Event = field(default_factory=threading.Event)
    _workers: list[threading.Thread] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def start(self) -> Load:
        for n in range(self.threads):
            thread = threading.Thread(target=self._run, args=(n,), daemon=True)
            thread.start()
            self._workers.append(thread)
        return self

    def stop(self) -> None:
        self._stop.set()
        for thread in self._workers:
            thread.join(30)

    def _run(self, n: int) -> None:
        options = [("grpc.service_config", RETRY_CONFIG), ("grpc.enable_retries", 1)]
        with grpc.insecure_channel(self.target, options=options if self.retry else []) as ch:
            stub = pb_grpc.ScreeningServiceStub(ch)
            i = 0
            while not self._stop.is_set():
                i += 1
                name = NAMES[(i + n) % len(NAMES)]
                try:
                    if i % 7 == 0:
                        ids = self._shipment(stub, name)
                    elif i % 5 == 0:
                        ids = self._batch_with_retry(stub, name)
                    else:
                        reply = stub.ScreenParty(
                            pb.ScreenPartyRequest(party=pb.Party(name=name)), timeout=10
                        )
                        ids = [reply.screening_id]
                except grpc.RpcError as exc:
                    with self._lock:
                        self.failures[exc.code().name] += 1
                    time.sleep(0.05)
                    continue
                with self._lock:
                    self.answered += ids
                time.sleep(0.005)

    def _shipment(self, stub: pb_grpc.ScreeningServiceStub, name: str) -> list[str]:
        reply = stub.ScreenShipment(
            pb.ScreenShipmentRequest(
                parties=[pb.Party(name=name, role=pb.PARTY_ROLE_CONSIGNEE)],
                goods=[pb.GoodsItem(hs_code="854231")],
                route=pb.Route(origin_country="KR", destination_country="DE"),
            ),
            timeout=10,
        )
        return [reply.screening_id]

    def _batch_with_retry(self, stub: pb_grpc.ScreeningServiceStub, name: str) -> list[str]:
        """gRPC retries a stream only before its first answer; a batch client resends the
        batch itself when its worker dies mid-stream (answers already read still count)."""
        ids: list[str] = []
        attempts = 5 if self.retry else 1
        for attempt in range(attempts):
            try:
                self._batch(stub, name, ids)
                return ids
            except grpc.RpcError as exc:
                if exc.code() != grpc.StatusCode.UNAVAILABLE or attempt == attempts - 1:
                    with self._lock:
                        self.answered += ids
                    raise
                time.sleep(0.05 * 2**attempt)
        return ids

    def _batch(self, stub: pb_grpc.ScreeningServiceStub, name: str, ids: list[str]) -> None:
        items = [
            pb.ScreenPartiesRequest(request=pb.ScreenPartyRequest(party=pb.Party(name=n)))
            for n in (name, "Ivan Petrov", "Acme")
        ]
        for reply in stub.ScreenParties(iter(items), timeout=10):
            if reply.HasField("error"):
                with self._lock:
                    self.failures[f"item:{reply.error.code}"] += 1
            else:
                ids.append(reply.response.screening_id)

    @property
    def failed(self) -> int:
        return sum(self.failures.values())


def audit_ids(client: redis.Redis, prefix: str) -> list[str]:
    """Screening ids in the audit stream, in stream order (duplicates kept)."""
    stream = "{" + prefix + "}:audit"
    out: list[str] = []
    start = "-"
    while True:
        page = client.xrange(stream, min=start, max="+", count=2000)
        if not page:
            return out
        out += [json.loads(fields[b"r"])["screening_id"] for _, fields in page]
        start = "(" + page[-1][0].decode()


def audit_ids_when_shipped(
    client: redis.Redis, prefix: str, answered: Iterable[str], timeout: float
) -> list[str]:
    """audit_ids once the stream holds every answered screening, or at the timeout (the
    caller's assertions then say what is missing)."""
    wanted = set(answered)
    deadline = time.monotonic() + timeout
    while True:
        recorded = audit_ids(client, prefix)
        if wanted <= set(recorded) or time.monotonic() > deadline:
            return recorded
        time.sleep(0.3)


UN_LIST = "un/UN_consolidated_2025-04-19.xml"


def start_fault_service(
    redis_url: str,
    prefix: str,
    lists_dir: Path,
    tmp_path: Path,
    *,
    workers: int = 1,
    env: dict[str, str] | None = None,
) -> Service:
    """A service with the UN list and its audit spool under `tmp_path` (a fault test looks
    at what its workers journaled), on the Redis at `redis_url`."""
    return start_service(
        redis_url,
        prefix,
        lists_dir=copy_lists(lists_dir, tmp_path / "lists", UN_LIST),
        workers=workers,
        env={"SCREENING_AUDIT_SPOOL_DIR": str(tmp_path / "spool"), **(env or {})},
    )
