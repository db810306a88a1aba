"""The container image, built here by deploy/image/build.sh and run for real: against a Redis
this test starts on loopback and with its embedded Redis, then as the compose stack. Each run
screens the seed case over gRPC (AURUS blocked, and the Korean controllers shipped to it),
runs unprivileged on a read-only root filesystem, and answers its health probe.

The build installs and starts an engine where it can (root, apt-get); where none can start
(exit 69) every test here skips with the reason. Containers use the host's network, as the
engine may run without a bridge."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import grpc
import pytest
import yaml
from grpc_health.v1 import health_pb2, health_pb2_grpc

from screening.v1 import screening_pb2 as pb
from screening.v1 import screening_pb2_grpc
from tests.conftest import ROOT, RedisServer, free_port
from tests.e2e.test_shipment import consignee, shipment

IMAGE = os.environ.get("SCREENING_TEST_IMAGE", "sanctions-screening:local")
BUILD = ROOT / "deploy" / "image" / "build.sh"
NO_ENGINE = 69
AURUS = "ofac-sdn:47956"
UID = "10001"

# A cold build (base image by debootstrap, wheels from the index) takes minutes; cached, seconds.
pytestmark = pytest.mark.timeout(2400)


def docker(*args: str, check: bool = True, timeout: float = 120) -> str:
    run = subprocess.run(["docker", *args], capture_output=True, text=True, timeout=timeout)
    if check and run.returncode != 0:
        pytest.fail(f"docker {' '.join(args[:3])} failed ({run.returncode}):\n{run.stderr}")
    return run.stdout.strip()


@pytest.fixture(scope="module")
def image() -> str:
    started = time.monotonic()
    build = subprocess.run(
        [str(BUILD)],
        capture_output=True,
        text=True,
        timeout=2000,
        env={**os.environ, "IMAGE": IMAGE},
    )
    if build.returncode == NO_ENGINE:
        pytest.skip(f"IMAGE NOT BUILT, no container engine here: {build.stderr.strip()[-600:]}")
    assert build.returncode == 0, f"image build failed:\n{build.stderr[-4000:]}"
    built = build.stderr.strip().splitlines()[-1]
    print(f"\n{built} (test saw {time.monotonic() - started:.0f} s)")
    return IMAGE


@dataclass
class Container:
    name: str
    port: int

    @property
    def target(self) -> str:
        return f"127.0.0.1:{self.port}"

    def inspect(self) -> dict[str, Any]:
        return dict(json.loads(docker("inspect", self.name))[0])

    def logs(self) -> str:
        run = subprocess.run(["docker", "logs", self.name], capture_output=True, text=True)
        return (run.stdout + run.stderr)[-4000:]

    def exec(self, *command: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            ["docker", "exec", self.name, *command], capture_output=True, text=True, timeout=60
        )


def run_container(image: str, lists_dir: Path, env: dict[str, str]) -> Container:
    """The image started read-only and unprivileged on the host network, lists mounted."""
    name = f"screening-test-{uuid.uuid4().hex[:8]}"
    port = free_port()
    settings = {
        "SCREENING_HOST": "127.0.0.1",
        "SCREENING_PORT": str(port),
        "SCREENING_METRICS_PORT": str(free_port()),
        "SCREENING_LISTS_DIR": "/data/lists",
        # One worker: each worker builds its own index (the compose stack runs two).
        "SCREENING_WORKERS": "1",
        # Without CAP_BPF the workers take connections by the kernel's hash: said here so
        # that they do not warn about it.
        "SCREENING_CONNECTION_BALANCING": "hash",
        **env,
    }
    docker(
        "run",
        "--detach",
        "--name",
        name,
        "--network",
        "host",
        "--read-only",
        "--tmpfs",
        "/tmp",
        # The image's own HEALTHCHECK command, probed more often than in production.
        "--health-interval",
        "2s",
        "--volume",
        f"{lists_dir}:/data/lists:ro",
        *(arg for key, value in settings.items() for arg in ("--env", f"{key}={value}")),
        image,
    )
    return Container(name, port)


@pytest.fixture(scope="module")
def containers(image: str, lists_dir: Path, redis_server: RedisServer) -> Iterator[Any]:
    """Both single containers, started together: each loads the lists and builds its index
    on one core, so side by side they take the time of one."""
    prefix = f"image-{uuid.uuid4().hex[:8]}"
    started: dict[str, Container] = {}
    try:
        started["real"] = run_container(
            image,
            lists_dir,
            {"SCREENING_REDIS_URL": redis_server.url, "SCREENING_REDIS_PREFIX": prefix},
        )
        started["embedded"] = run_container(image, lists_dir, {})
        yield started, prefix
    finally:
        for container in started.values():
            subprocess.run(
                ["docker", "rm", "--force", "--volumes", container.name], capture_output=True
            )


def wait_healthy(container: Container, timeout: float = 300) -> None:
    """Until the engine's HEALTHCHECK (the image's probe) says healthy."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        state = container.inspect()["State"]
        if not state["Running"]:
            pytest.fail(f"container exited {state['ExitCode']}:\n{container.logs()}")
        if state.get("Health", {}).get("Status") == "healthy":
            return
        time.sleep(1)
    pytest.fail(f"container not healthy within {timeout} s:\n{container.logs()}")


def health(target: str) -> int:
    with grpc.insecure_channel(target) as channel:
        reply = health_pb2_grpc.HealthStub(channel).Check(
            health_pb2.HealthCheckRequest(service=""), timeout=5
        )
    return int(reply.status)


def screen_seed_case(target: str) -> None:
    with grpc.insecure_channel(target) as channel:
        stub = screening_pb2_grpc.ScreeningServiceStub(channel)
        party = stub.ScreenParty(
            pb.ScreenPartyRequest(
                party=pb.Party(
                    name="LIMITED LIABILITY COMPANY AURUS",
                    entity_type=pb.ENTITY_TYPE_ORGANIZATION,
                )
            ),
            timeout=10,
        )
        reply = stub.ScreenShipment(
            shipment(consignee("LIMITED LIABILITY COMPANY AURUS", "RU", "Moscow"), "RU"),
            timeout=10,
        )
    assert party.decision == pb.DECISION_BLOCK
    top = party.matches[0]
    assert (top.entity_id, top.designation_date) == (AURUS, "2024-02-23")
    assert top.designation_date_basis == pb.DESIGNATION_DATE_BASIS_FIRST_SEEN
    assert reply.decision == pb.DECISION_BLOCK
    codes = {f.code for f in reply.findings}
    assert {"PARTY_SANCTIONS_MATCH", "CHPL_GOODS_RUSSIA"} <= codes, codes
    assert any(
        AURUS in f.entity_ids and "2024-02-23" in f.message
        for f in reply.findings
        if f.code == "PARTY_SANCTIONS_MATCH"
    )
    assert reply.party_results[1].matches[0].entity_id == AURUS
    assert reply.party_results[0].decision == pb.DECISION_CLEAR


def assert_unprivileged_and_read_only(container: Container) -> None:
    info = container.inspect()
    assert info["HostConfig"]["ReadonlyRootfs"] is True
    assert info["Config"]["User"] == f"{UID}:{UID}"
    # The server itself (pid 1 in the container), not only what `exec` runs as.
    status = container.exec("cat", "/proc/1/status").stdout
    uids = next(line.split()[1:] for line in status.splitlines() if line.startswith("Uid:"))
    assert set(uids) == {UID}, status
    assert container.exec("id", "-u").stdout.strip() == UID
    for path in ("/home/screening/x", "/opt/screening/x", "/x"):
        write = container.exec("touch", path)
        assert write.returncode != 0 and "Read-only file system" in write.stderr, path
    assert container.exec("touch", "/tmp/x").returncode == 0  # the tmpfs


def assert_probes(container: Container) -> None:
    wait_healthy(container)
    probe = container.exec("python", "-m", "screening.cli.healthcheck")
    assert probe.returncode == 0, probe.stdout + probe.stderr
    assert health(container.target) == health_pb2.HealthCheckResponse.SERVING
    log = container.inspect()["State"]["Health"]["Log"]
    assert log and log[-1]["ExitCode"] == 0


def test_image_config(image):
    config = json.loads(docker("image", "inspect", image))[0]["Config"]
    assert config["User"] == f"{UID}:{UID}"
    assert config["Healthcheck"]["Test"] == [
        "CMD",
        "python",
        "-m",
        "screening.cli.healthcheck",
    ]
    assert config["Entrypoint"] == ["screening"] and config["Cmd"] == ["serve"]
    env = dict(item.split("=", 1) for item in config["Env"])
    assert env["SCREENING_HOST"] == "0.0.0.0" and env["SCREENING_PORT"] == "50051"


def test_container_against_a_real_redis(containers, redis_server: RedisServer):
    started, prefix = containers
    container = started["real"]
    assert_probes(container)
    screen_seed_case(container.target)
    assert_unprivileged_and_read_only(container)
    # The lists went into the Redis this test started, not into an embedded one.
    assert next(redis_server.client().scan_iter(f"{prefix}*", count=1000), None) is not None
    assert "redis-server" not in docker("top", container.name)


def test_container_with_its_embedded_redis(containers):
    container = containers[0]["embedded"]
    assert_probes(container)
    screen_seed_case(container.target)
    assert_unprivileged_and_read_only(container)
    processes = docker("top", container.name)
    assert "redis-server" in processes and "unixsocket" in processes, processes


def _compose_command() -> list[str] | None:
    if subprocess.run(["docker", "compose", "version"], capture_output=True).returncode == 0:
        return ["docker", "compose"]
    probe = subprocess.run(["docker-compose", "version"], capture_output=True)
    return ["docker-compose"] if probe.returncode == 0 else None


def _free_port_pair() -> int:
    """A port p with p and p + 1 free: the stack publishes its two replicas on a range."""
    for _ in range(50):
        port = free_port()
        with socket.socket() as probe:
            try:
                probe.bind(("127.0.0.1", port + 1))
            except OSError:
                continue
        return port
    pytest.fail("no two consecutive free ports")


def test_compose_stack(image, lists_dir, tmp_path):
    """deploy/compose.yaml as it is: Redis, the one-shot ingester and two replicas. Only the
    Redis image is swapped, for the service image's own redis-server (no registry to pull
    redis:7.2-alpine from); Prometheus and Grafana are not started (nor pullable)."""
    compose = _compose_command()
    if compose is None:
        pytest.skip("neither `docker compose` nor docker-compose is installed")
    offline = {
        "services": {
            "redis": {
                "image": image,
                "entrypoint": ["redis-server"],
                "command": [
                    "--appendonly",
                    "yes",
                    "--save",
                    "",
                    "--dir",
                    "/data",
                    "--protected-mode",
                    "no",
                ],
                # The named volume is created root-owned: Redis writes its AOF there.
                "user": "0:0",
            }
        }
    }
    override = tmp_path / "compose.offline.yaml"
    override.write_text(yaml.safe_dump(offline))
    project = f"screening-test-{uuid.uuid4().hex[:8]}"
    first = _free_port_pair()
    base = [
        *compose,
        "--project-name",
        project,
        "--file",
        str(ROOT / "deploy" / "compose.yaml"),
        "--file",
        str(override),
    ]
    env = {**os.environ, "LISTS_DIR": str(lists_dir), "SCREENING_PORTS": f"{first}-{first + 1}"}

    def run(*args: str, timeout: float = 300) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [*base, *args], capture_output=True, text=True, env=env, timeout=timeout
        )

    try:
        up = run("up", "--detach", "--no-build", "screening")
        assert up.returncode == 0, up.stdout + up.stderr
        ids = run("ps", "--quiet", "screening").stdout.split()
        assert len(ids) == 2, run("ps").stdout
        published = set()
        for container_id in ids:
            info = json.loads(docker("inspect", container_id))[0]
            (binding,) = info["NetworkSettings"]["Ports"]["50051/tcp"][:1]
            published.add(int(binding["HostPort"]))
            wait_healthy(Container(container_id, int(binding["HostPort"])), timeout=420)
        assert published == {first, first + 1}
        for port in sorted(published):
            screen_seed_case(f"127.0.0.1:{port}")
        ingest = run("ps", "--all", "ingest").stdout
        assert "Exit 0" in ingest or "exited (0)" in ingest.lower(), ingest
    finally:
        logs = run("logs", "--no-color", "--tail", "20").stdout
        down = run("down", "--volumes", "--remove-orphans")
        print(f"compose logs (tail):\n{logs[-3000:]}")
        assert down.returncode == 0, down.stderr
