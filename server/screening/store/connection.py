"""Redis clients from one URL, for a standalone Redis, a Sentinel-managed one or a Cluster.

    redis://[[user]:password@]host[:port][/db]          standalone (also rediss://, unix://)
    redis+sentinel://[[user]:password@]host[:port][,host[:port]...]/service_name[/db]
    redis+cluster://[[user]:password@]host[:port][,host[:port]...]
    rediss+sentinel://... and rediss+cluster://...    the same over TLS

Sentinel and Cluster URLs list several seed nodes separated by commas; the default port is
26379 for a sentinel, 6379 for a cluster node. The user and password in the URL are those of
the Redis data nodes. Query parameters: `sentinel_password` (and `sentinel_username`) when the
sentinels require their own credentials; `ssl_cert_reqs=none` to skip certificate checks.

The service code is the same for all three: `connect()` and `connect_async()` return clients
that re-resolve the primary (Sentinel) or the slot owner (Cluster) on reconnection, so a
failover needs no restart. Keys carry a `{prefix}` hash tag (keys.py), so everything a snapshot
needs lives in one Cluster slot and a snapshot switch stays one transaction.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal, TypeAlias
from urllib.parse import parse_qs, unquote, urlsplit

import redis
import redis.asyncio as aioredis
from redis.asyncio.client import PubSub
from redis.asyncio.cluster import ClusterNode as AsyncClusterNode
from redis.asyncio.cluster import RedisCluster as AsyncRedisCluster
from redis.asyncio.retry import Retry as AsyncRetry
from redis.asyncio.sentinel import Sentinel as AsyncSentinel
from redis.backoff import ExponentialBackoff, NoBackoff
from redis.cluster import ClusterNode, RedisCluster
from redis.retry import Retry
from redis.sentinel import Sentinel

SOCKET_TIMEOUT_SECONDS = 5.0
DEFAULT_SENTINEL_PORT = 26379
DEFAULT_CLUSTER_PORT = 6379

# The clients the service uses: the same command API, whichever topology is behind them.
SyncRedis: TypeAlias = redis.Redis | RedisCluster
AsyncRedis: TypeAlias = aioredis.Redis | AsyncRedisCluster

Topology = Literal["standalone", "sentinel", "cluster"]


@dataclass(frozen=True)
class RedisTarget:
    """A parsed Redis URL."""

    topology: Topology
    url: str
    nodes: tuple[tuple[str, int], ...] = ()
    service_name: str = ""
    db: int = 0
    username: str | None = None
    password: str | None = None
    ssl: bool = False
    options: dict[str, str] = field(default_factory=dict)

    @classmethod
    def parse(cls, url: str) -> RedisTarget:
        scheme = url.split("://", 1)[0].lower() if "://" in url else ""
        if scheme in ("redis", "rediss", "unix"):
            return cls("standalone", url)
        base, _, kind = scheme.partition("+")
        if base not in ("redis", "rediss") or kind not in ("sentinel", "cluster"):
            raise ValueError(
                f"unsupported Redis URL scheme {scheme!r}: use redis://, rediss://, unix://, "
                "redis+sentinel:// or redis+cluster:// (rediss+... for TLS)"
            )
        parts = urlsplit(url)
        userinfo, _, hosts = parts.netloc.rpartition("@")
        username = password = None
        if userinfo:
            user, _, secret = userinfo.partition(":")
            username = unquote(user) or None
            password = unquote(secret) or None
        default_port = DEFAULT_SENTINEL_PORT if kind == "sentinel" else DEFAULT_CLUSTER_PORT
        nodes = tuple(_host_port(h, default_port) for h in hosts.split(",") if h.strip())
        if not nodes:
            raise ValueError(f"{kind} URL names no host")
        path = [p for p in parts.path.split("/") if p]
        service_name, db = "", 0
        if kind == "sentinel":
            if not path:
                raise ValueError("sentinel URL needs the service name: .../mymaster")
            service_name = unquote(path[0])
            db = int(path[1]) if len(path) > 1 else 0
        elif path:
            raise ValueError("cluster URLs take no path (a Redis Cluster has only db 0)")
        options = {k: v[-1] for k, v in parse_qs(parts.query).items()}
        return cls(
            kind,  # type: ignore[arg-type]
            url,
            nodes,
            service_name,
            db,
            username,
            password,
            base == "rediss",
            options,
        )

    def redacted(self) -> str:
        """The URL without its password, for logs."""
        if self.password is None:
            return self.url
        return self.url.replace(f":{self.password}@", ":***@", 1)

    def _common(self) -> dict[str, Any]:
        kwargs: dict[str, Any] = {
            "socket_timeout": SOCKET_TIMEOUT_SECONDS,
            "socket_connect_timeout": SOCKET_TIMEOUT_SECONDS,
            "username": self.username,
            "password": self.password,
        }
        if self.ssl:
            kwargs["ssl"] = True
            if self.options.get("ssl_cert_reqs") == "none":
                kwargs["ssl_cert_reqs"] = "none"
        return kwargs

    def _sentinel_kwargs(self) -> dict[str, Any]:
        kwargs: dict[str, Any] = {
            "socket_timeout": SOCKET_TIMEOUT_SECONDS,
            "socket_connect_timeout": SOCKET_TIMEOUT_SECONDS,
        }
        if "sentinel_password" in self.options:
            kwargs["password"] = self.options["sentinel_password"]
            kwargs["username"] = self.options.get("sentinel_username")
        if self.ssl:
            kwargs["ssl"] = True
        return kwargs


def _host_port(text: str, default_port: int) -> tuple[str, int]:
    text = text.strip()
    if text.startswith("["):  # [ipv6]:port
        host, _, rest = text[1:].partition("]")
        return host, int(rest.lstrip(":") or default_port)
    host, _, port = text.rpartition(":") if text.count(":") == 1 else (text, "", "")
    return host, int(port) if port else default_port


# A few quick retries ride over a failover or a moved slot; callers handle what remains.
def _retry() -> Retry:
    return Retry(ExponentialBackoff(cap=1.0, base=0.05), retries=3)


def _async_retry() -> AsyncRetry:
    return AsyncRetry(ExponentialBackoff(cap=1.0, base=0.05), retries=3)


def connect(url: str) -> SyncRedis:
    """A synchronous client (ingest, CLI, snapshot loading)."""
    target = RedisTarget.parse(url)
    if target.topology == "sentinel":
        sentinel = Sentinel(
            list(target.nodes), sentinel_kwargs=target._sentinel_kwargs(), **target._common()
        )
        return sentinel.master_for(
            target.service_name, db=target.db, retry=_retry(), health_check_interval=30
        )
    if target.topology == "cluster":
        return RedisCluster(
            startup_nodes=[ClusterNode(h, p) for h, p in target.nodes],
            retry=_retry(),
            **target._common(),
        )
    return redis.Redis.from_url(
        url,
        socket_timeout=SOCKET_TIMEOUT_SECONDS,
        socket_connect_timeout=SOCKET_TIMEOUT_SECONDS,
        health_check_interval=30,
    )


def connect_async(
    url: str, *, timeout: float | None = None, max_connections: int | None = None
) -> AsyncRedis:
    """An asyncio client (workers). Short timeouts: screening never waits on Redis.

    With `timeout`, every command fails after that long and is not retried: for callers
    (the result cache) that would rather go without than wait. With `max_connections`, the
    client never opens more than that many connections (per node); a standalone client's
    commands then wait their turn for one (up to the socket timeout).
    """
    target = RedisTarget.parse(url)
    common = target._common()
    if max_connections is not None:
        common["max_connections"] = max_connections
    retry = _async_retry()
    if timeout is not None:
        common.update(socket_timeout=timeout, socket_connect_timeout=timeout)
        retry = AsyncRetry(NoBackoff(), 0)
    if target.topology == "sentinel":
        sentinel = AsyncSentinel(
            list(target.nodes), sentinel_kwargs=target._sentinel_kwargs(), **common
        )
        return sentinel.master_for(
            target.service_name, db=target.db, retry=retry, health_check_interval=30
        )
    if target.topology == "cluster":
        return AsyncRedisCluster(
            startup_nodes=[AsyncClusterNode(h, p) for h, p in target.nodes],
            retry=retry,
            **common,
        )
    if max_connections is not None:
        pool = aioredis.BlockingConnectionPool.from_url(
            url,
            max_connections=max_connections,
            timeout=timeout or SOCKET_TIMEOUT_SECONDS,
            socket_timeout=timeout or SOCKET_TIMEOUT_SECONDS,
            socket_connect_timeout=timeout or SOCKET_TIMEOUT_SECONDS,
            health_check_interval=30,
        )
        return aioredis.Redis(connection_pool=pool, retry=retry)
    if timeout is not None:
        return aioredis.Redis.from_url(
            url, socket_timeout=timeout, socket_connect_timeout=timeout, retry=retry
        )
    return aioredis.Redis.from_url(
        url,
        socket_timeout=SOCKET_TIMEOUT_SECONDS,
        socket_connect_timeout=SOCKET_TIMEOUT_SECONDS,
        health_check_interval=30,
    )


async def open_pubsub(client: AsyncRedis) -> PubSub:
    """A pub/sub handle on any topology. A Cluster client learns its slots first: it routes
    SUBSCRIBE to the node owning the channel's slot (PUBLISH reaches every node anyway)."""
    if isinstance(client, AsyncRedisCluster):
        await client.initialize()
    return client.pubsub()
