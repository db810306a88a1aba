"""Real Redis topologies on loopback for tests: a Redis Cluster and a Sentinel-managed group.

Every process is a real redis-server / redis-sentinel on free loopback ports, in a temporary
directory of its own; `stop()` ends each process it started, by its own handle.
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import redis

from tests.conftest import RedisServer, free_port, start_redis


def _wait(predicate: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if predicate():
                return
        except (redis.RedisError, OSError):
            pass
        time.sleep(0.1)
    pytest.fail(f"timed out waiting for {what}")


def _binary(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        pytest.fail(f"{name} is not installed (deploy/local/setup.sh --dev installs it)")
    return path


@dataclass
class Cluster:
    nodes: list[RedisServer]

    @property
    def url(self) -> str:
        return "redis+cluster://" + ",".join(f"127.0.0.1:{n.port}" for n in self.nodes)

    def stop(self) -> None:
        for node in self.nodes:
            node.stop()
            shutil.rmtree(node.workdir, ignore_errors=True)


def start_cluster(size: int = 3) -> Cluster:
    """`size` primaries (no replicas), slots spread by `redis-cli --cluster create`."""
    cli = _binary("redis-cli")
    nodes: list[RedisServer] = []
    try:
        for _ in range(size):
            # An explicit bus port: the default (port + 10000) may not be free or valid.
            nodes.append(
                start_redis(
                    None,
                    "--cluster-enabled",
                    "yes",
                    "--cluster-config-file",
                    "nodes.conf",
                    "--cluster-port",
                    str(free_port()),
                    "--cluster-node-timeout",
                    "2000",
                )
            )
        subprocess.run(
            [
                cli,
                "--cluster",
                "create",
                *[f"127.0.0.1:{n.port}" for n in nodes],
                "--cluster-replicas",
                "0",
                "--cluster-yes",
            ],
            check=True,
            capture_output=True,
            timeout=60,
        )
        for node in nodes:
            _wait(
                lambda n=node: n.client().cluster("INFO").get("cluster_state") == "ok",
                30,
                f"cluster node {node.port} to be ok",
            )
    except BaseException:
        Cluster(nodes).stop()
        raise
    return Cluster(nodes)


@dataclass
class SentinelGroup:
    """A primary, its replica and three sentinels watching them as `service_name`."""

    service_name: str
    primary: RedisServer
    replica: RedisServer
    sentinels: list[subprocess.Popen[bytes]] = field(default_factory=list)
    sentinel_ports: list[int] = field(default_factory=list)
    workdir: str = ""

    @property
    def url(self) -> str:
        hosts = ",".join(f"127.0.0.1:{p}" for p in self.sentinel_ports)
        return f"redis+sentinel://{hosts}/{self.service_name}"

    def sentinel_client(self, index: int = 0) -> redis.Redis:
        return redis.Redis(host="127.0.0.1", port=self.sentinel_ports[index])

    def master_port(self) -> int:
        _host, port = self.sentinel_client().sentinel_get_master_addr_by_name(self.service_name)
        return int(port)

    def stop(self) -> None:
        for proc in self.sentinels:
            if proc.poll() is None:
                proc.terminate()
                try:
                    proc.wait(10)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait()
        for server in (self.primary, self.replica):
            server.stop()
            shutil.rmtree(server.workdir, ignore_errors=True)
        if self.workdir:
            shutil.rmtree(self.workdir, ignore_errors=True)


def start_sentinel_group(service_name: str = "screening") -> SentinelGroup:
    binary = _binary("redis-sentinel")
    primary = start_redis()
    replica = start_redis(None, "--replicaof", "127.0.0.1", str(primary.port))
    group = SentinelGroup(service_name, primary, replica, workdir=tempfile.mkdtemp(prefix="sent-"))
    try:
        _wait(
            lambda: replica.client().info("replication").get("master_link_status") == "up",
            30,
            "the replica to sync",
        )
        for i in range(3):
            port = free_port()
            conf = Path(group.workdir) / f"sentinel-{i}.conf"
            # Sentinel rewrites its config file, so each needs a writable one of its own.
            conf.write_text(
                f"port {port}\nbind 127.0.0.1\ndir {group.workdir}\n"
                "sentinel resolve-hostnames no\n"
                f"sentinel monitor {service_name} 127.0.0.1 {primary.port} 2\n"
                f"sentinel down-after-milliseconds {service_name} 1000\n"
                f"sentinel failover-timeout {service_name} 10000\n"
                f"sentinel parallel-syncs {service_name} 1\n"
            )
            group.sentinels.append(
                subprocess.Popen(
                    [binary, str(conf), "--loglevel", "warning"],
                    stdout=subprocess.DEVNULL,
                    stderr=subprocess.DEVNULL,
                )
            )
            group.sentinel_ports.append(port)
        for i in range(3):
            # Ready when each sentinel knows the replica and the two other sentinels.
            _wait(
                lambda i=i: (
                    int(group.sentinel_client(i).sentinel_master(service_name)["num-slaves"]) >= 1
                    and int(
                        group.sentinel_client(i).sentinel_master(service_name)[
                            "num-other-sentinels"
                        ]
                    )
                    >= 2
                ),
                30,
                f"sentinel {i} to see the group",
            )
    except BaseException:
        group.stop()
        raise
    return group
