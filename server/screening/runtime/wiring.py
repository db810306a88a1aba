"""A worker wired once: the settings turned into plain values and the handlers' frozen Deps
(api/deps.py); the casework (audit trail, accept-list, monitoring job), bearer tokens and
rate limits, TLS credentials; and the background tasks that keep them current."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import dataclass, field
from functools import partial

import grpc

from screening.api.auth import AuthInterceptor, TokenTable, use_certificate_names
from screening.api.cache import ResultCache, code_fingerprint
from screening.api.data_age import AnswerAges
from screening.api.deps import Deps
from screening.api.monitoring_rpcs import rescreen_monitored
from screening.api.ratelimit import RateLimiter
from screening.api.repeat import KnownAnswer
from screening.api.validation import Limits
from screening.api.workload import Workload
from screening.casework.acceptlist import AcceptCache, AcceptStore, sweep
from screening.casework.audit.journal import Journal
from screening.casework.audit.trail import AuditTrail, spool_directory
from screening.casework.monitoring import MonitoringJob, MonitorStore
from screening.casework.settle import Casework
from screening.casework.watching import AlertFeed
from screening.config import Settings
from screening.index.data_age_watch import DataAgeWatch
from screening.index.holder import IndexHolder, LoadedIndex
from screening.risk.party import PartyThresholds
from screening.risk.policy import PolicyHolder
from screening.runtime.tls import server_credentials
from screening.store.connection import AsyncRedis, connect_async
from screening.store.keys import Keys
from screening.store.snapshots import ListStore

log = logging.getLogger(__name__)

ACCEPT_POLL_SECONDS = 1.0
MONITOR_POLL_SECONDS = 1.0


def party_thresholds(settings: Settings) -> PartyThresholds:
    return PartyThresholds(review=settings.review_threshold, block=settings.block_threshold)


def build_deps(
    settings: Settings,
    holder: IndexHolder,
    store: ListStore,
    *,
    cache: ResultCache[KnownAnswer] | None = None,
    casework: Casework | None = None,
    stopping: asyncio.Event | None = None,
    alert_feed: AlertFeed | None = None,
) -> Deps:
    """The handlers' Deps. Without `casework`: no accept-list, audit trail or monitoring."""
    thresholds = party_thresholds(settings)
    return Deps(
        holder=holder,
        store=store,
        casework=casework or Casework(thresholds),
        ages=AnswerAges(DataAgeWatch(store, settings.max_data_age)),
        policies=PolicyHolder(settings.policy_file),
        limits=Limits(
            max_name_length=settings.max_name_length,
            max_aliases=settings.max_aliases,
            max_identifiers=settings.max_identifiers,
            max_party_characters=settings.max_party_characters,
            max_shipment_characters=settings.max_shipment_characters,
            max_compare_pairs=settings.max_compare_pairs,
        ),
        workload=Workload(
            settings.call_cpu_seconds,
            settings.inline_match_characters,
            settings.max_waiting_large_calls,
        ),
        thresholds=thresholds,
        alert_threshold=settings.alert_threshold,
        max_results=settings.max_results,
        max_stream_items=settings.max_stream_items,
        accept_max_days=settings.accept_max_days,
        cache=cache,
        answer_settings=(
            code_fingerprint(),
            settings.alert_threshold,
            settings.review_threshold,
            settings.block_threshold,
            settings.max_results,
        ),
        stopping=stopping or asyncio.Event(),
        alert_feed=alert_feed,
    )


@dataclass
class WorkerWiring:
    settings: Settings
    casework: Casework
    credentials: grpc.ServerCredentials | None
    client: AsyncRedis
    keys: Keys
    interceptors: list[grpc.aio.ServerInterceptor] = field(default_factory=list)
    tokens: TokenTable | None = None
    alert_feed: AlertFeed | None = None
    _tasks: list[asyncio.Task[None]] = field(default_factory=list)

    @classmethod
    def for_worker(cls, settings: Settings, redis_url: str) -> WorkerWiring:
        client = connect_async(redis_url)
        keys = Keys(settings.redis_prefix)
        use_certificate_names(settings.tls_client_ca_file is not None)
        audit = None
        if settings.audit_enabled:
            directory = spool_directory(
                settings.audit_spool_dir or settings.data_dir / "audit",
                settings.redis_url or f"embedded:{settings.data_dir.resolve()}",
                settings.redis_prefix,
            )
            journal = Journal(
                directory,
                max_unshipped_bytes=settings.audit_spool_max_bytes,
                retain_seconds=settings.audit_retain_seconds,
                retain_bytes=settings.audit_retain_bytes,
            ).open()
            audit = AuditTrail(journal, client, keys)
        casework = Casework(
            party_thresholds(settings),
            include_request=settings.audit_include_request,
            audit=audit,
            acceptances=AcceptCache(AcceptStore(client, keys)),
            monitors=MonitorStore(client, keys),
        )
        runtime = cls(settings, casework, server_credentials(settings), client, keys)
        # Open WatchAlerts streams read through one feed on connections of their own: they
        # never take the connections that screening, acceptances and audit shipping use.
        runtime.alert_feed = AlertFeed(
            MonitorStore(
                connect_async(redis_url, max_connections=settings.watch_redis_connections),
                keys,
            ),
            max_streams=settings.watch_max_streams,
            max_per_client=settings.watch_max_streams_per_client,
        )
        if settings.auth_enabled:
            runtime.tokens = TokenTable.from_settings(settings)
            runtime.interceptors.append(
                AuthInterceptor(settings, runtime.tokens, RateLimiter(client, keys))
            )
        return runtime

    def start(self, deps: Deps, stop: asyncio.Event) -> None:
        work = self.casework
        loop = asyncio.get_running_loop()
        if work.audit is not None:
            self._tasks.append(loop.create_task(work.audit.run(stop)))
        if self.alert_feed is not None:
            self._tasks.append(loop.create_task(self.alert_feed.run(stop)))
        if work.acceptances is not None:
            self._tasks.append(loop.create_task(work.acceptances.follow(ACCEPT_POLL_SECONDS, stop)))
        if self.tokens is not None:
            self._tasks.append(
                loop.create_task(
                    self.tokens.follow(
                        self.client, self.keys, self.settings.auth_reload_seconds, stop
                    )
                )
            )
        if work.monitors is not None and work.acceptances is not None:
            accept_store = work.acceptances.store

            async def after_version(index: LoadedIndex) -> None:
                voided = await sweep(accept_store, index.entities, index.version)
                if voided:
                    log.info(
                        "acceptances voided by a list change",
                        extra={"voided": voided, "data_version": index.version},
                    )

            job = MonitoringJob(
                work.monitors,
                partial(rescreen_monitored, deps),
                after_version=after_version,
                every=MONITOR_POLL_SECONDS,
            )
            self._tasks.append(loop.create_task(job.follow(deps.holder, stop)))

    async def close(self) -> None:
        """After `stop` is set: let the tasks finish (the audit trail ships what it can)."""
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await asyncio.wait_for(task, timeout=10)
        if self.casework.audit is not None:
            self.casework.audit.close()
        with contextlib.suppress(Exception):
            await self.client.aclose()
        if self.alert_feed is not None:
            with contextlib.suppress(Exception):
                await self.alert_feed.store.redis.aclose()
