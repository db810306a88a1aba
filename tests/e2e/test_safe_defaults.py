"""Safe defaults, on real `screening serve` processes: the gRPC and metrics ports listen on
loopback unless told otherwise; another interface without TLS is refused at start unless
SCREENING_ALLOW_INSECURE_NETWORK allows it, and then the log warns."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc

from tests.conftest import RedisServer, copy_lists, free_port, start_service

UN_FILE = "un/UN_consolidated_2026-02-27.xml"


def outside_address() -> str | None:
    """An address of this machine that is not loopback (the one its default route uses)."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        try:
            probe.connect(("192.0.2.254", 9))  # no packet is sent
        except OSError:
            return None
        address = str(probe.getsockname()[0])
    return None if address.startswith("127.") else address


def reachable(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=2):
            return True
    except OSError:
        return False


def serving(target: str) -> bool:
    with grpc.insecure_channel(target) as channel:
        reply = health_pb2_grpc.HealthStub(channel).Check(
            health_pb2.HealthCheckRequest(), timeout=5
        )
    return bool(reply.status == health_pb2.HealthCheckResponse.SERVING)


def _env(prefix: str) -> dict[str, str]:
    env = {**os.environ, "SCREENING_REDIS_PREFIX": prefix, "SCREENING_POLL_SECONDS": "1"}
    for name in ("SCREENING_HOST", "SCREENING_ALLOW_INSECURE_NETWORK", "PROMETHEUS_MULTIPROC_DIR"):
        env.pop(name, None)
    return env


def test_by_default_grpc_and_metrics_listen_on_loopback_only(
    redis_server: RedisServer, prefix: str, lists_dir: Path, tmp_path: Path
) -> None:
    lists = copy_lists(lists_dir, tmp_path / "lists", UN_FILE)
    port, metrics_port = free_port(), free_port()
    log = tmp_path / "serve.log"
    command = [
        *(sys.executable, "-m", "screening.cli", "serve", "--workers", "1"),
        *("--port", str(port), "--metrics-port", str(metrics_port)),
        *("--redis-url", redis_server.url, "--lists-dir", str(lists)),
    ]
    with log.open("wb") as out:
        proc = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT, env=_env(prefix))
    try:
        deadline = time.monotonic() + 180
        while '"msg": "serving"' not in log.read_text():
            assert proc.poll() is None and time.monotonic() < deadline, log.read_text()[-3000:]
            time.sleep(0.2)
        said = next(
            json.loads(line) for line in log.read_text().splitlines() if '"msg": "serving"' in line
        )
        assert said["address"] == f"127.0.0.1:{port}"
        assert serving(f"127.0.0.1:{port}") and reachable("127.0.0.1", metrics_port)
        assert "WITHOUT TLS" not in log.read_text()
        outside = outside_address()
        if outside is None:
            pytest.skip("this machine has no address beyond loopback to try from")
        assert not reachable(outside, port), f"gRPC answers on {outside}"
        assert not reachable(outside, metrics_port), f"metrics answer on {outside}"
    finally:
        proc.terminate()
        proc.wait(30)


def test_plaintext_on_every_interface_is_refused_without_the_setting(
    redis_server: RedisServer, prefix: str, tmp_path: Path
) -> None:
    port = free_port()
    started = time.monotonic()
    run = subprocess.run(
        [
            *(sys.executable, "-m", "screening.cli", "serve", "--host", "0.0.0.0"),
            *("--port", str(port), "--metrics-port", "0", "--redis-url", redis_server.url),
        ],
        env=_env(prefix),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert run.returncode == 1
    assert "refusing to listen beyond loopback without TLS (gRPC on 0.0.0.0:" in run.stderr
    assert "SCREENING_ALLOW_INSECURE_NETWORK=1" in run.stderr
    refusal = json.loads(run.stderr.splitlines()[0])
    assert refusal["level"] == "critical" and refusal["msg"] == "not starting"
    # Refused before anything started: no worker, no port.
    assert "worker started" not in run.stderr and not reachable("127.0.0.1", port)
    assert time.monotonic() - started < 30


def test_allowed_by_name_it_serves_beyond_loopback_and_warns(
    redis_server: RedisServer, prefix: str, lists_dir: Path, tmp_path: Path
) -> None:
    lists = copy_lists(lists_dir, tmp_path / "lists", UN_FILE)
    service = start_service(
        redis_server.url,
        prefix,
        lists_dir=lists,
        extra_args=("--host", "0.0.0.0"),
        # Metrics follow the gRPC host only to loopback; beyond it they are asked for by name.
        env={"SCREENING_ALLOW_INSECURE_NETWORK": "1", "SCREENING_METRICS_HOST": "0.0.0.0"},
    )
    try:
        warnings = [
            json.loads(line)
            for line in service.logs().splitlines()
            if "LISTENING BEYOND LOOPBACK WITHOUT TLS" in line
        ]
        assert {(w["level"], w["listener"]) for w in warnings} == {
            ("warning", "gRPC"),
            ("warning", "metrics"),
        }
        assert f"0.0.0.0:{service.port}" in {w["address"] for w in warnings}
        outside = outside_address()
        if outside is None:
            pytest.skip("this machine has no address beyond loopback to try from")
        assert serving(f"{outside}:{service.port}")
    finally:
        service.stop()
