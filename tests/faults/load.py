"""A steady load of real screenings (ScreenParty, ScreenShipment, ScreenParties items) from
several client threads, each on its own channel (so SO_REUSEPORT spreads them over the
workers). Every answered screening id and every failure is counted."""

from __future__ import annotations

import json
import os
import subprocess
import sys
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


@dataclass
class ConnectionProbe:
    """New connections, one after another: each a channel of its own (a new TCP
    connection, which the kernel hands to one of the listening workers) making one
    ScreenParty with a 1 s deadline and no retry. Each outcome is kept with its time
    (time.monotonic()), so a test can say when failures happened."""

    target: str
    deadline: float = 1.0
    pause: float = 0.05
    outcomes: list[tuple[float, str]] = field(default_factory=list)
    answered: list[str] = field(default_factory=list)
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None

    def start(self) -> ConnectionProbe:
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(30)

    def _run(self) -> None:
        request = pb.ScreenPartyRequest(party=pb.Party(name="Ivan Petrov"))
        while not self._stop.is_set():
            started = time.monotonic()
            options = [("grpc.use_local_subchannel_pool", 1)]
            with grpc.insecure_channel(self.target, options=options) as channel:
                try:
                    reply = pb_grpc.ScreeningServiceStub(channel).ScreenParty(
                        request, timeout=self.deadline
                    )
                    self.answered.append(reply.screening_id)
                    outcome = "OK"
                except grpc.RpcError as exc:
                    outcome = exc.code().name
            self.outcomes.append((started, outcome))
            time.sleep(self.pause)

    def failures(self, since: float = 0.0, until: float = float("inf")) -> int:
        return sum(1 for t, o in self.outcomes if since <= t < until and o != "OK")

    def count(self, since: float = 0.0, until: float = float("inf")) -> int:
        return sum(1 for t, _ in self.outcomes if since <= t < until)


def exported_ids(redis_url: str, prefix: str) -> list[str]:
    """Screening ids of `screening audit export` (the archive an auditor gets)."""
    out = subprocess.run(
        [sys.executable, "-m", "screening.cli", "audit", "export", "--redis-url", redis_url],
        env={**os.environ, "SCREENING_REDIS_PREFIX": prefix},
        capture_output=True,
        check=True,
        timeout=120,
    ).stdout
    return [json.loads(line)["screening_id"] for line in out.splitlines() if line.strip()]


def log_entries(service: Service, message: str) -> list[dict[str, object]]:
    """The JSON log lines of `service` with this message."""
    found = []
    for line in service.logs().splitlines():
        if f'"msg": "{message}"' in line:
            found.append(json.loads(line))
    return found
