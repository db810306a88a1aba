"""One worker process: a grpc.aio server on the shared port (SO_REUSEPORT), with the standard
health service and server reflection, an in-memory index following the current snapshot,
and a graceful stop on SIGTERM (health NOT_SERVING, drain in-flight calls, exit)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal

import grpc
import redis
from grpc_health.v1 import _async as health_aio
from grpc_health.v1 import health, health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection

from screening.api.servicer import ScreeningServicer
from screening.api.trust_runtime import TrustRuntime
from screening.config import Settings
from screening.index.holder import IndexHolder
from screening.store.connection import connect, connect_async
from screening.store.snapshots import ListStore
from screening.v1 import screening_pb2, screening_pb2_grpc

log = logging.getLogger(__name__)

SERVICE_NAME = screening_pb2.DESCRIPTOR.services_by_name["ScreeningService"].full_name
MAX_MESSAGE_BYTES = 4 * 1024 * 1024


def server_options(max_message_bytes: int = MAX_MESSAGE_BYTES) -> list[tuple[str, int]]:
    return [
        ("grpc.so_reuseport", 1),
        ("grpc.max_receive_message_length", max_message_bytes),
        ("grpc.max_send_message_length", max_message_bytes),
        ("grpc.keepalive_time_ms", 60_000),
        ("grpc.http2.max_pings_without_data", 0),
    ]


async def serve_worker(settings: Settings, redis_url: str, worker_id: int = 0) -> None:
    store = ListStore(connect(redis_url), settings.redis_prefix)
    health_servicer = health_aio.HealthServicer()
    background: set[asyncio.Task[None]] = set()

    def on_swap(_: object) -> None:
        # Health follows data: a worker without an index is not ready to serve.
        task = asyncio.get_running_loop().create_task(_set_serving(health_servicer, True))
        background.add(task)
        task.add_done_callback(background.discard)

    holder = IndexHolder(store, poll_seconds=settings.poll_seconds, on_swap=on_swap)
    await _set_serving(health_servicer, False)

    # Audit trail, accept-list, monitoring, tokens and rate limits, TLS (api/trust_runtime.py).
    trust = TrustRuntime.for_worker(settings, redis_url)
    server = grpc.aio.server(
        interceptors=trust.interceptors, options=server_options(settings.max_message_bytes)
    )
    servicer = ScreeningServicer(holder, settings, store, trust=trust.trust)
    screening_pb2_grpc.add_ScreeningServiceServicer_to_server(servicer, server)
    health_pb2_grpc.add_HealthServicer_to_server(health_servicer, server)
    reflection.enable_server_reflection(
        (SERVICE_NAME, health.SERVICE_NAME, reflection.SERVICE_NAME), server
    )
    address = f"{settings.host}:{settings.port}"
    if trust.credentials is not None:
        server.add_secure_port(address, trust.credentials)
    else:
        server.add_insecure_port(address)
    await _load_first_index(holder, worker_id)
    # Bind only now: with SO_REUSEPORT the kernel hands connections to every bound worker,
    # so a worker still building its index must not be bound yet.
    await server.start()
    log.info("worker serving", extra={"address": address, "worker": worker_id})

    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)

    watcher = asyncio.create_task(holder.watch(connect_async(redis_url), stop))
    servicer.stopping = stop
    trust.start(servicer, holder, stop)
    await stop.wait()
    log.info("worker stopping: draining in-flight calls", extra={"worker": worker_id})
    await _set_serving(health_servicer, False)
    await server.stop(settings.grace_seconds)
    watcher.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await watcher
    await trust.close()
    log.info("worker stopped", extra={"worker": worker_id})


async def _load_first_index(holder: IndexHolder, worker_id: int) -> None:
    """Build the index of the current snapshot before taking calls. Without a snapshot yet
    (or without Redis) the worker starts NOT_SERVING and the watcher loads one later."""
    try:
        loaded = await holder.refresh()
    except (redis.RedisError, OSError, LookupError) as exc:
        log.warning("no index at start", extra={"worker": worker_id, "error": str(exc)})
        return
    if not loaded:
        log.warning("no snapshot in Redis yet; serving NOT_SERVING", extra={"worker": worker_id})


async def _set_serving(servicer: health_aio.HealthServicer, serving: bool) -> None:
    status = (
        health_pb2.HealthCheckResponse.SERVING
        if serving
        else health_pb2.HealthCheckResponse.NOT_SERVING
    )
    await servicer.set("", status)
    await servicer.set(SERVICE_NAME, status)


def run_worker(settings: Settings, redis_url: str, worker_id: int) -> None:
    """Process entry point (multiprocessing spawn target)."""
    from screening.observability.logging import setup_logging

    setup_logging(settings.log_level)
    asyncio.run(serve_worker(settings, redis_url, worker_id))
