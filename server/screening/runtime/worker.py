"""One worker process: a grpc.aio server on the shared port (SO_REUSEPORT), with the standard
health service and server reflection, an in-memory index following the current snapshot,
and a graceful stop on SIGTERM (health NOT_SERVING, drain in-flight calls, exit)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import time
from collections.abc import Coroutine
from typing import Any

import grpc
import redis
from grpc_health.v1 import _async as health_aio
from grpc_health.v1 import health_pb2, health_pb2_grpc

from screening.api.cache import ResultCache
from screening.api.repeat import KnownAnswer
from screening.api.servicer import ScreeningServicer
from screening.casework.watching import unless_stopped
from screening.config import Settings
from screening.index.files import IndexFiles
from screening.index.holder import IndexHolder, LoadedIndex
from screening.observability.metrics import (
    flush_buffered,
    flush_periodically,
    identify_worker,
    init_worker_series,
    record_index,
)
from screening.runtime.grpc_metrics import GrpcMetricsInterceptor
from screening.runtime.interceptors import WrappingRegistrar
from screening.runtime.lifeline import beat
from screening.runtime.message_size import TRANSPORT_FACTOR, MessageSizeInterceptor
from screening.runtime.reflection import enable_reflection
from screening.runtime.reuseport import Balancing, attach_round_robin
from screening.runtime.wiring import WorkerWiring, build_deps
from screening.store.connection import connect, connect_async
from screening.store.keys import Keys
from screening.store.snapshots import ListStore
from screening.v1 import screening_pb2, screening_pb2_grpc

log = logging.getLogger(__name__)

SERVICE_NAME = screening_pb2.DESCRIPTOR.services_by_name["ScreeningService"].full_name
MAX_MESSAGE_BYTES = 4 * 1024 * 1024


def server_options(
    max_message_bytes: int = MAX_MESSAGE_BYTES, max_connection_age_seconds: float = 0.0
) -> list[tuple[str, int]]:
    options = [
        ("grpc.so_reuseport", 1),
        # Up to this, a request over the limit gets INVALID_ARGUMENT (runtime/message_size.py).
        ("grpc.max_receive_message_length", max_message_bytes * TRANSPORT_FACTOR),
        ("grpc.max_send_message_length", max_message_bytes),
        ("grpc.keepalive_time_ms", 60_000),
        ("grpc.http2.max_pings_without_data", 0),
    ]
    if max_connection_age_seconds > 0:
        # The kernel hands each connection to one worker for its whole life (SO_REUSEPORT
        # hash), so a few long-lived clients can leave one worker with most of the load.
        # A GOAWAY after this age makes gRPC clients reconnect and be hashed afresh. No
        # grace limit: calls and streams (WatchAlerts) in flight finish on the old one.
        age_ms = max(1, int(max_connection_age_seconds * 1000))
        options.append(("grpc.max_connection_age_ms", age_ms))
    return options


async def serve_worker(
    settings: Settings, redis_url: str, worker_id: int = 0, heartbeat: Any = None
) -> None:
    identify_worker(worker_id)
    init_worker_series(("party", "shipment", "batch"))
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    # Beats from the start (waiting for an index included) to the end (draining included).
    beating = (
        asyncio.create_task(beat(heartbeat, settings.worker_heartbeat_seconds))
        if heartbeat is not None and settings.worker_heartbeat_seconds > 0
        else None
    )
    store = ListStore(connect(redis_url), settings.redis_prefix)
    cache: ResultCache[KnownAnswer] = ResultCache(
        connect_async(redis_url, timeout=settings.result_cache_timeout_seconds),
        Keys(settings.redis_prefix),
        ttl_seconds=settings.result_cache_ttl_seconds,
        local_entries=settings.result_cache_local_entries,
    )
    health_servicer = health_aio.HealthServicer()
    background: set[asyncio.Task[None]] = set()

    def on_swap(loaded: LoadedIndex) -> None:
        record_index(
            loaded.build_seconds,
            {name: state.entity_count for name, state in loaded.manifest.sources.items()},
        )
        # Health follows data: a worker without an index is not ready to serve.
        task = asyncio.get_running_loop().create_task(_set_serving(health_servicer, True))
        background.add(task)
        task.add_done_callback(background.discard)

    holder = IndexHolder(
        store,
        poll_seconds=settings.poll_seconds,
        on_swap=on_swap,
        files=IndexFiles(settings.effective_index_dir),
        redis_url=redis_url,
        share_key=settings.index_share_key,
    )
    await _set_serving(health_servicer, False)

    # Audit trail, accept-list, monitoring, tokens and rate limits, TLS (runtime/wiring.py).
    wiring = WorkerWiring.for_worker(settings, redis_url)
    metrics = GrpcMetricsInterceptor()
    size_check = MessageSizeInterceptor(
        settings.max_message_bytes, frozenset({f"/{SERVICE_NAME}/ScreenParties"})
    )
    # Per-call checks (tokens) run as interceptors, between the metrics (which count what
    # they refuse) and the size check. With none, the handlers are wrapped once, as they are
    # registered, and no interceptor runs per call.
    per_call = wiring.interceptors
    server = grpc.aio.server(
        interceptors=[metrics, *per_call, size_check] if per_call else None,
        options=server_options(settings.max_message_bytes, settings.max_connection_age_seconds),
    )
    registrar = WrappingRegistrar(server, [] if per_call else [metrics, size_check])
    deps = build_deps(
        settings,
        holder,
        store,
        cache=cache,
        casework=wiring.casework,
        stopping=stop,
        alert_feed=wiring.alert_feed,
    )
    servicer = ScreeningServicer(deps)
    screening_pb2_grpc.add_ScreeningServiceServicer_to_server(servicer, registrar)
    health_pb2_grpc.add_HealthServicer_to_server(health_servicer, registrar)
    enable_reflection(registrar, SERVICE_NAME)  # type: ignore[arg-type]
    address = f"{settings.host}:{settings.port}"
    if not await _load_first_index(holder, worker_id, stop):
        # Stopped before it had an index: it never listened.
        await cache.aclose()
        await wiring.close()
        await _stop_beating(beating)
        log.info("worker stopped before serving", extra={"worker": worker_id})
        return
    # Bind only now: grpc listens as soon as the port is added, and with SO_REUSEPORT the
    # kernel queues connections on every listening worker, so a worker still building its
    # index (a replacement for one that died), or without one (Redis away), would hold its
    # share of new clients without answering them, or answer NOT_SERVING.
    if wiring.credentials is not None:
        port = server.add_secure_port(address, wiring.credentials)
    else:
        port = server.add_insecure_port(address)
    balancing = spread_connections(port, settings)
    await server.start()
    log.info(
        "worker serving",
        extra={
            "address": address,
            "worker": worker_id,
            "connection_balancing": balancing.mode,
            **({"balancing_reason": balancing.reason} if balancing.reason else {}),
        },
    )

    watcher = asyncio.create_task(holder.watch(connect_async(redis_url), stop))
    monitor = asyncio.create_task(cache.monitor(stop))
    flusher = asyncio.create_task(flush_periodically(stop))
    wiring.start(deps, stop)
    await stop.wait()
    log.info("worker stopping: draining in-flight calls", extra={"worker": worker_id})
    await _set_serving(health_servicer, False)
    await server.stop(settings.grace_seconds)
    watcher.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await watcher
    await monitor
    await cache.aclose()
    await flusher
    await wiring.close()
    deps.workload.close()
    flush_buffered()  # the calls drained after stop
    await _stop_beating(beating)
    log.info("worker stopped", extra={"worker": worker_id})


async def _stop_beating(beating: asyncio.Task[None] | None) -> None:
    if beating is not None:
        beating.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await beating


def spread_connections(port: int, settings: Settings) -> Balancing:
    """Round robin of new connections over the workers (runtime/reuseport.py), where asked for
    and where the kernel lets this process do it; otherwise the kernel's hash."""
    if settings.connection_balancing != "round_robin":
        return Balancing("hash", 0, "configured")
    balancing = attach_round_robin(port, settings.workers)
    if balancing.mode != "round_robin" and settings.workers > 1:
        log.warning(
            "connections spread by the kernel's hash, not in turn",
            extra={"port": port, "reason": balancing.reason},
        )
    return balancing


async def _load_first_index(holder: IndexHolder, worker_id: int, stop: asyncio.Event) -> bool:
    """Build the index of the current snapshot before taking calls. Without a snapshot yet,
    or without Redis, wait for one (the port is left to the workers that have one); False if
    stopped first."""
    backoff = 0.5
    waiting_since = 0.0
    while not stop.is_set():
        try:
            refreshed = await unless_stopped(holder.refresh(), stop)
            if refreshed is None:
                return False  # stopped while the index was read or built
            if refreshed or holder.current is not None:
                if waiting_since:
                    log.info(
                        "index loaded; listening",
                        extra={
                            "worker": worker_id,
                            "waited_seconds": round(time.monotonic() - waiting_since, 1),
                        },
                    )
                return True
            reason = "no snapshot in Redis yet"
        except (redis.RedisError, OSError, LookupError) as exc:
            reason = f"{type(exc).__name__}: {exc}"
        if not waiting_since:
            waiting_since = time.monotonic()
            log.warning(
                "no index to serve yet; not listening until one is loaded",
                extra={"worker": worker_id, "reason": reason},
            )
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), timeout=backoff)
        backoff = min(backoff * 2, 2.0)
    return False


async def _set_serving(servicer: health_aio.HealthServicer, serving: bool) -> None:
    status = (
        health_pb2.HealthCheckResponse.SERVING
        if serving
        else health_pb2.HealthCheckResponse.NOT_SERVING
    )
    await servicer.set("", status)
    await servicer.set(SERVICE_NAME, status)


def run_event_loop(main: Coroutine[Any, Any, None], kind: str = "uvloop") -> None:
    """Run a worker's event loop: uvloop (the default) or the standard asyncio loop."""
    if kind == "uvloop":
        import uvloop

        uvloop.run(main)
    else:
        asyncio.run(main)
