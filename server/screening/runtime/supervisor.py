"""`screening serve`: Redis (embedded or given), initial ingest and the host's index (in a
process of their own: runtime/prepare.py), metrics, worker processes.

Workers are spawned (not forked: gRPC does not survive fork) and share the port with
SO_REUSEPORT, once the supervisor has made sure nobody else serves it (runtime/port_guard.py).
A worker that dies is restarted, and so is one whose heartbeat stops (stopped, or its event
loop hung: runtime/lifeline.py); workers die with the supervisor. An embedded redis-server
that dies is reaped and started again on its data directory, which it reloads. SIGTERM is
passed on to every worker, which turns its health to NOT_SERVING and drains its in-flight
calls before exiting.
"""

from __future__ import annotations

import contextlib
import logging
import multiprocessing
import multiprocessing.process
import os
import signal
import threading
import time
from collections.abc import Callable
from types import FrameType
from typing import TYPE_CHECKING, Any

from screening.config import Settings

if TYPE_CHECKING:
    from multiprocessing.connection import Connection

    from screening.sources.refresh import RefreshScheduler
    from screening.store.embedded import EmbeddedRedis
    from screening.store.freshness import SourceAge
    from screening.store.snapshots import ListStore, Manifest

log = logging.getLogger(__name__)

RESTART_WINDOW_SECONDS = 60.0
MAX_RESTARTS_IN_WINDOW = 10
# A worker's first heartbeat comes once its event loop runs (imports, Redis clients).
FIRST_BEAT_SECONDS = 60.0
REDIS_RETRY_MAX_SECONDS = 30.0


class Supervisor:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._stopping = False
        self._procs: dict[int, multiprocessing.process.BaseProcess] = {}
        self._beats: dict[int, tuple[Any, float]] = {}  # worker id -> (shared double, started)
        self._restarts: list[float] = []
        self._ctx = multiprocessing.get_context("spawn")
        self._prepare: multiprocessing.process.BaseProcess | None = None
        self._prepare_pipe: Connection | None = None
        # Set once the workers may read the data: they are started before it is ready, and
        # do their imports while it is being prepared (runtime/worker_process.py, run_worker).
        self._go = self._ctx.Event()
        self._redis_retry_at = 0.0
        self._redis_backoff = 0.5

    def _on_signal(self, signum: int, _frame: FrameType | None) -> None:
        log.info("stopping on signal", extra={"signal": signal.Signals(signum).name})
        self._stopping = True

    def run(self) -> int:
        from screening.observability import metrics as _preload  # noqa: F401
        from screening.runtime.metrics_server import WebConfig
        from screening.runtime.port_guard import claim_port
        from screening.runtime.readiness import ServingProbe

        # Checked before anything starts: a bad file stops the service, saying why.
        web_config = WebConfig.load(self.settings.metrics_web_config_file)
        # Nobody else may serve the port (workers of a killed instance drain and exit
        # within the grace time: waited for).
        claim_port(self.settings.host, self.settings.port, self.settings.grace_seconds + 5)
        metrics_dir = ""
        if self.settings.metrics_port:
            from screening.observability.metrics import prepare_multiprocess_dir

            metrics_dir = prepare_multiprocess_dir()
        from screening.store.embedded import EmbeddedRedis

        embedded: EmbeddedRedis | None = None
        scheduler: RefreshScheduler | None = None
        probe: ServingProbe | None = None
        signal.signal(signal.SIGTERM, self._on_signal)
        signal.signal(signal.SIGINT, self._on_signal)
        try:
            redis_url = self.settings.redis_url
            if not redis_url:
                embedded = EmbeddedRedis(data_dir=self.settings.data_dir).start()
                redis_url = embedded.url
            self._prepare_data(redis_url)
            if self._stopping:  # signalled while the data was prepared: start nothing more
                return 0
            scheduler = self._start_refresh(redis_url)
            if self.settings.metrics_port:
                from screening.observability.metrics import supervisor_registry
                from screening.runtime.metrics_server import serve_metrics

                serve_metrics(
                    supervisor_registry(),
                    self.settings.metrics_bind_host,
                    self.settings.metrics_port,
                    web_config,
                )
                log.info("metrics serving", extra={"port": self.settings.metrics_port})
            # Not serving yet: each worker listens once its index is built (runtime/readiness.py
            # says `serving` when the port answers).
            log.info(
                "workers starting",
                extra={
                    "port": self.settings.port,
                    "workers": self.settings.workers,
                    "redis": "embedded" if embedded else "external",
                },
            )
            probe = ServingProbe(
                self.settings.host,
                self.settings.port,
                tls=self.settings.tls_cert_file is not None,
                workers=self.settings.workers,
            )
            probe.start()
            return self._monitor(redis_url, embedded)
        finally:
            if probe is not None:
                probe.stop()
            if scheduler is not None:
                scheduler.stop()
            self._stop_workers()
            if embedded is not None:
                embedded.stop()
            if metrics_dir:
                from screening.observability.metrics import cleanup_multiprocess_dir

                cleanup_multiprocess_dir(metrics_dir)

    def _prepare_data(self, redis_url: str) -> None:
        """Ingest --lists-dir and build the host's index of the current snapshot, in a
        process of its own (runtime/prepare.py); return once the workers may start."""
        from screening.index.files import host_hash_seed
        from screening.index.shared import shared_hash_seed
        from screening.runtime.prepare import run_prepare

        # One str hash seed for every process of this service, kept by the host: its index
        # files key their lookups by hash() (index/files.py). Hosts that share their index
        # files through Redis share a seed too, derived from their key (index/shared.py).
        if self.settings.index_share_key:
            seed = shared_hash_seed(self.settings.index_share_key)
        else:
            seed = host_hash_seed(self.settings.effective_index_dir)
        os.environ.setdefault("PYTHONHASHSEED", seed)
        host_has_index = self._host_has_index(redis_url)
        receiving, sending = self._ctx.Pipe(duplex=False)
        proc = self._ctx.Process(
            target=run_prepare,
            args=(self.settings, redis_url, sending, host_has_index),
            name="screening-prepare",
            daemon=False,  # it starts parsing processes
        )
        _start_ignoring_ctrl_c(proc)
        sending.close()
        self._prepare = proc
        # Open until the process is collected: it says when it is ready, read or not.
        self._prepare_pipe = receiving
        # The workers' imports and set-up (about a second of CPU each) need no data: done
        # while the data is prepared, they are not in the way of the index build after it.
        for worker_id in range(self.settings.workers):
            self._start(worker_id, redis_url)
        if host_has_index:
            # A restart on data Redis holds, whose index this host has built: the workers
            # go on beside the preparation and read that index. What the preparation
            # publishes (files changed since) reaches them as any new snapshot does.
            log.info("workers start beside data preparation: the host has the index")
        else:
            while not self._stopping and proc.is_alive():
                if receiving.poll(0.05):
                    with contextlib.suppress(EOFError):
                        receiving.recv()
                    break
        if not self._stopping:  # else they are stopped as they wait
            self._release_workers()

    def _release_workers(self) -> None:
        """Let the workers go on to the data; their first heartbeat is due from now."""
        now = time.monotonic()
        for worker_id, (heartbeat, _) in self._beats.items():
            self._beats[worker_id] = (heartbeat, now)
        self._go.set()

    def _host_has_index(self, redis_url: str) -> bool:
        """Whether Redis holds a current snapshot whose index file this host has."""
        import redis

        from screening.index.files import IndexFiles
        from screening.store.connection import connect
        from screening.store.snapshots import ListStore

        try:
            manifest = ListStore(connect(redis_url), self.settings.redis_prefix).manifest()
        except (redis.RedisError, OSError):
            return False
        if manifest is None:
            return False
        return IndexFiles(self.settings.effective_index_dir).path(manifest).exists()

    def _start_refresh(self, redis_url: str) -> RefreshScheduler | None:
        """The periodic refresh from the official URLs (a thread of the supervisor)."""
        from screening.observability.metrics import PUBLICATION_AGE
        from screening.store.connection import connect
        from screening.store.snapshots import ListStore

        store = ListStore(connect(redis_url), self.settings.redis_prefix)
        manifest = store.manifest()
        if manifest is not None:
            PUBLICATION_AGE.update({k: v.publication_date for k, v in manifest.sources.items()})
            _warn_stale(store, manifest, self.settings)
        PUBLICATION_AGE.watch_ages(_age_reader(store, self.settings))
        interval = self.settings.effective_refresh_interval
        if interval <= 0:
            log.info("list refresh off", extra={"lists_dir": str(self.settings.lists_dir)})
            return None
        # Imported only now: the parsers and their libraries cost the supervisor ~15 MB.
        from screening.sources.last_good import LastGoodStore
        from screening.sources.limits import ParseLimits
        from screening.sources.refresh import RefreshOptions, RefreshScheduler, targets

        to_fetch = targets(self.settings.refresh_formats, self.settings.refresh_urls)
        options = RefreshOptions(
            max_drop_share=self.settings.max_drop_share,
            timeout=self.settings.refresh_timeout,
            max_seconds=self.settings.refresh_max_seconds,
            limits=ParseLimits.from_settings(self.settings),
        )
        last_good = LastGoodStore(
            self.settings.effective_list_state_dir, self.settings.redis_prefix
        )
        scheduler = RefreshScheduler(store, to_fetch, options, interval, last_good)
        scheduler.start()
        log.info(
            "list refresh scheduled",
            extra={"interval_seconds": interval, "formats": [t.format.name for t in to_fetch]},
        )
        return scheduler

    def _start(self, worker_id: int, redis_url: str) -> None:
        from screening.runtime.worker_process import run_worker

        heartbeat = self._ctx.Value("d", 0.0, lock=False)
        proc = self._ctx.Process(
            target=run_worker,
            args=(self.settings, redis_url, worker_id, os.getpid(), heartbeat, self._go),
            name=f"screening-worker-{worker_id}",
            daemon=False,
        )
        _start_ignoring_ctrl_c(proc)
        self._procs[worker_id] = proc
        self._beats[worker_id] = (heartbeat, time.monotonic())
        log.info("worker started", extra={"worker": worker_id, "worker_pid": proc.pid})

    def _monitor(self, redis_url: str, embedded: EmbeddedRedis | None) -> int:
        from screening.runtime.lifeline import missed

        timeout = self.settings.worker_heartbeat_seconds
        while not self._stopping:
            time.sleep(0.2)
            if self._stopping:  # signalled while asleep: a process gone now is stopping too
                break
            if embedded is not None:
                self._watch_redis(embedded)
            self._reap_prepare()
            for worker_id, proc in list(self._procs.items()):
                if self._stopping:
                    break
                if proc.is_alive():
                    heartbeat, started = self._beats[worker_id]
                    late = missed(heartbeat, timeout, started, FIRST_BEAT_SECONDS) if timeout else 0
                    if not late:
                        continue
                    # Stopped (SIGSTOP) or its event loop hung: its connections wait on a
                    # worker that answers nothing. SIGKILL works on a stopped process too.
                    log.error(
                        "worker missed its heartbeats; killing and restarting it",
                        extra={"worker": worker_id, "worker_pid": proc.pid, "late_seconds": late},
                    )
                    proc.kill()
                    proc.join(5)
                else:
                    log.error(
                        "worker died; restarting",
                        extra={"worker": worker_id, "exitcode": proc.exitcode},
                    )
                if os.environ.get("PROMETHEUS_MULTIPROC_DIR") and proc.pid:
                    from screening.observability.metrics import mark_worker_dead

                    mark_worker_dead(proc.pid)
                now = time.monotonic()
                self._restarts = [t for t in self._restarts if now - t < RESTART_WINDOW_SECONDS]
                if len(self._restarts) >= MAX_RESTARTS_IN_WINDOW:
                    log.critical("workers keep dying; giving up")
                    return 1
                self._restarts.append(now)
                self._start(worker_id, redis_url)
        return 0

    def _reap_prepare(self) -> None:
        """Collect the data-preparing process once it has built the host's index (it would
        stay a zombie for the service's life otherwise)."""
        proc = self._prepare
        if proc is None or proc.is_alive():  # is_alive() reaps an exited child
            return
        self._prepare = None
        if self._prepare_pipe is not None:
            self._prepare_pipe.close()
            self._prepare_pipe = None
        if proc.exitcode:
            log.error("data preparation failed", extra={"exitcode": proc.exitcode})

    def _watch_redis(self, embedded: EmbeddedRedis) -> None:
        """Reap a dead embedded redis-server and start it again on its data (the workers
        serve from memory meanwhile, spool their audit records, and put the snapshot back if
        it came back without it)."""
        from screening.store.embedded import EmbeddedRedisError

        status = embedded.exited()
        if status is None or time.monotonic() < self._redis_retry_at:
            return
        log.error(
            "embedded redis-server died; restarting it",
            extra={"exitcode": status, "restarts": embedded.restarts},
        )
        started = time.monotonic()
        try:
            embedded.restart()
        except EmbeddedRedisError as exc:
            self._redis_retry_at = time.monotonic() + self._redis_backoff
            log.critical(
                "embedded redis-server did not restart; retrying",
                extra={"error": str(exc), "retry_in": self._redis_backoff},
            )
            self._redis_backoff = min(self._redis_backoff * 2, REDIS_RETRY_MAX_SECONDS)
            return
        self._redis_backoff = 0.5
        log.info(
            "embedded redis-server restarted",
            extra={"seconds": round(time.monotonic() - started, 2), "restarts": embedded.restarts},
        )

    def _stop_workers(self) -> None:
        if self._prepare is not None and self._prepare.is_alive():
            # Still ingesting or building the host's index: the next start does it again.
            self._prepare.terminate()
        for proc in self._procs.values():
            if proc.is_alive() and proc.pid:
                os.kill(proc.pid, signal.SIGTERM)
        deadline = time.monotonic() + self.settings.grace_seconds + 5
        for proc in self._procs.values():
            proc.join(max(0.1, deadline - time.monotonic()))
            if proc.is_alive():
                log.warning("worker did not stop in time; killing", extra={"worker_pid": proc.pid})
                proc.kill()
                proc.join(5)
        self._procs.clear()


def _data_ages(store: ListStore, manifest: Manifest, settings: Settings) -> dict[str, SourceAge]:
    from screening.store.freshness import source_ages

    refreshes = {name: store.refresh_status(name) for name in manifest.sources}
    return source_ages(manifest, settings.max_data_age, refreshes)


def _warn_stale(store: ListStore, manifest: Manifest, settings: Settings) -> None:
    """Say at start-up which sources are past their maximum age: the service screens
    against them all the same (health stays SERVING), and every answer names them."""
    from screening.store.freshness import describe_age

    for age in _data_ages(store, manifest, settings).values():
        if age.stale:
            log.warning(
                "list data stale",
                extra={
                    "source": age.source,
                    "publication_date": age.publication_date,
                    "age_days": age.age_days,
                    "max_age_days": age.max_age_days,
                    "current_as_of": age.current_as_of.isoformat() if age.current_as_of else None,
                    "detail": describe_age(age),
                },
            )


def _age_reader(
    store: ListStore, settings: Settings
) -> Callable[[], dict[str, tuple[float, float, bool]]]:
    """What the metrics endpoint reads at each scrape: the data ages as of now."""

    def read() -> dict[str, tuple[float, float, bool]]:
        manifest = store.manifest()
        if manifest is None:
            return {}
        return {
            name: (age.age_seconds, age.max_age_days * 86400, age.stale)
            for name, age in _data_ages(store, manifest, settings).items()
        }

    return read


def _start_ignoring_ctrl_c(proc: multiprocessing.process.BaseProcess) -> None:
    """Start a child with Ctrl-C ignored from its first instruction (a spawned process keeps
    an ignored signal through exec, and Python then leaves it ignored): the key reaches the
    whole process group at a terminal, and stopping the children is the supervisor's work.
    The data preparation passes it on to the processes it starts; a worker sets its own
    handlers once its event loop runs (runtime/worker.py)."""
    if threading.current_thread() is not threading.main_thread():
        proc.start()  # signal dispositions are the main thread's to set
        return
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        proc.start()
    finally:
        signal.signal(signal.SIGINT, previous)
