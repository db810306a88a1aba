"""The policy file of a running service: validated at start, reloaded on change, and a bad
file refused while the policy in force keeps answering."""

from __future__ import annotations

import os
import re
import shutil
import time
from pathlib import Path

import grpc
import pytest

from screening.risk.policy import DEFAULT_POLICY_PATH
from screening.v1 import screening_pb2 as pb
from screening.v1 import screening_pb2_grpc as pb_grpc
from tests.conftest import start_service

SHIPPED = DEFAULT_POLICY_PATH.read_text(encoding="utf-8")


def policy_text(version: str, **replace: str) -> str:
    text = re.sub(r'(?m)^version = ".*"$', f'version = "{version}"', SHIPPED)
    for old, new in replace.items():
        text = text.replace(old, new)
    return text


def rewrite(path: Path, text: str) -> None:
    path.write_text(text, encoding="utf-8")
    stat = path.stat()  # a later mtime even on coarse-grained file systems
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 2_000_000_000))


KG_SHIPMENT = pb.ScreenShipmentRequest(
    parties=[
        pb.Party(name="Ala-Too Elektronik Service OsOO", country="KG", role=pb.PARTY_ROLE_CONSIGNEE)
    ],
    goods=[pb.GoodsItem(hs_code="854231")],
    route=pb.Route(origin_country="KR", destination_country="KG"),
)


def screen(stub) -> pb.ScreenShipmentResponse:
    return stub.ScreenShipment(KG_SHIPMENT, timeout=10)


def wait_for_version(stub, version: str, timeout: float = 15) -> pb.ScreenShipmentResponse:
    deadline = time.monotonic() + timeout
    while True:
        reply = screen(stub)
        if reply.policy_version == version or time.monotonic() > deadline:
            return reply
        time.sleep(0.3)


@pytest.fixture
def un_only(lists_dir, tmp_path) -> Path:
    target = tmp_path / "lists"
    target.mkdir()
    shutil.copy(lists_dir / "un" / "UN_consolidated_2026-02-27.xml", target)
    return target


def test_policy_reload_and_refusal(redis_server, prefix, un_only, tmp_path):
    policy = tmp_path / "policy.toml"
    rewrite(policy, policy_text("v1"))
    service = start_service(
        redis_server.url,
        prefix,
        lists_dir=un_only,
        workers=1,
        env={"SCREENING_POLICY_FILE": str(policy)},
    )
    try:
        with grpc.insecure_channel(service.target) as channel:
            stub = pb_grpc.ScreeningServiceStub(channel)
            first = screen(stub)
            assert first.policy_version == "v1"
            assert first.decision == pb.DECISION_REVIEW  # CHPL goods to a diversion country

            # A bad file is refused: the old policy keeps answering, and the log says why.
            rewrite(policy, policy_text("v2-bad", **{'"KG", "KZ"': '"KG", "Kazakhstan"'}))
            time.sleep(2.5)
            still = screen(stub)
            assert still.policy_version == "v1"
            assert still.decision == pb.DECISION_REVIEW
            assert "policy refused" in service.logs()
            assert "Kazakhstan" in service.logs()

            # A good file takes over: here Kyrgyzstan is no longer a diversion country.
            rewrite(policy, policy_text("v3", **{'"KG", "KZ"': '"KZ"'}))
            reply = wait_for_version(stub, "v3")
            assert reply.policy_version == "v3"
            assert reply.decision == pb.DECISION_CLEAR
    finally:
        service.stop()


def test_serve_refuses_a_bad_policy_at_start(tmp_path):
    policy = tmp_path / "policy.toml"
    rewrite(policy, policy_text("v1", **{"block_score = 95": "block_score = 500"}))
    service = start_service(None, "unused", extra_args=("--policy", str(policy)), wait=False)
    try:
        code = service.proc.wait(60)
    finally:
        service.stop()
    assert code != 0
    logs = service.logs()
    assert f"policy {policy} is invalid" in logs
    assert "decision.block_score" in logs
