"""A worker's trust machinery, wired once: audit trail, accept-list, monitoring job, bearer
tokens and rate limits, TLS credentials; and the background tasks that keep them current."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import grpc

from screening.api.auth import AuthInterceptor, TokenTable, use_certificate_names
from screening.api.ratelimit import RateLimiter
from screening.api.trust import Trust
from screening.casework.acceptlist import AcceptCache, AcceptStore, sweep
from screening.casework.audit.journal import Journal
from screening.casework.audit.trail import AuditTrail, spool_directory
from screening.casework.monitoring import MonitoringJob, MonitorStore
from screening.config import Settings
from screening.risk.party import PartyThresholds
from screening.runtime.tls import server_credentials
from screening.store.connection import AsyncRedis, connect_async
from screening.store.keys import Keys

if TYPE_CHECKING:
    from screening.api.servicer import ScreeningServicer
    from screening.index.holder import IndexHolder, LoadedIndex

log = logging.getLogger(__name__)

ACCEPT_POLL_SECONDS = 1.0
MONITOR_POLL_SECONDS = 1.0


@dataclass
class TrustRuntime:
    settings: Settings
    trust: Trust
    credentials: grpc.ServerCredentials | None
    client: AsyncRedis
    keys: Keys
    interceptors: list[grpc.aio.ServerInterceptor] = field(default_factory=list)
    tokens: TokenTable | None = None
    _tasks: list[asyncio.Task[None]] = field(default_factory=list)

    @classmethod
    def for_worker(cls, settings: Settings, redis_url: str) -> TrustRuntime:
        client = connect_async(redis_url)
        keys = Keys(settings.redis_prefix)
        use_certificate_names(settings.tls_client_ca_file is not None)
        audit = None
        if settings.audit_enabled:
            directory = spool_directory(settings.audit_spool_dir, redis_url, settings.redis_prefix)
            journal = Journal(
                directory,
                max_unshipped_bytes=settings.audit_spool_max_bytes,
                retain_seconds=settings.audit_retain_seconds,
                retain_bytes=settings.audit_retain_bytes,
            ).open()
            audit = AuditTrail(journal, client, keys)
        trust = Trust(
            PartyThresholds(review=settings.review_threshold, block=settings.block_threshold),
            include_request=settings.audit_include_request,
            audit=audit,
            acceptances=AcceptCache(AcceptStore(client, keys)),
            monitors=MonitorStore(client, keys),
        )
        runtime = cls(settings, trust, server_credentials(settings), client, keys)
        if settings.auth_enabled:
            runtime.tokens = TokenTable.from_settings(settings)
            runtime.interceptors.append(
                AuthInterceptor(settings, runtime.tokens, RateLimiter(client, keys))
            )
        return runtime

    def start(self, servicer: ScreeningServicer, holder: IndexHolder, stop: asyncio.Event) -> None:
        trust = self.trust
        loop = asyncio.get_running_loop()
        if trust.audit is not None:
            self._tasks.append(loop.create_task(trust.audit.run(stop)))
        if trust.acceptances is not None:
            self._tasks.append(
                loop.create_task(trust.acceptances.follow(ACCEPT_POLL_SECONDS, stop))
            )
        if self.tokens is not None:
            self._tasks.append(
                loop.create_task(
                    self.tokens.follow(
                        self.client, self.keys, self.settings.auth_reload_seconds, stop
                    )
                )
            )
        if trust.monitors is not None and trust.acceptances is not None:
            accept_store = trust.acceptances.store

            async def after_version(index: LoadedIndex) -> None:
                voided = await sweep(accept_store, index.entities, index.version)
                if voided:
                    log.info(
                        "acceptances voided by a list change",
                        extra={"voided": voided, "data_version": index.version},
                    )

            job = MonitoringJob(
                trust.monitors,
                servicer.rescreen_monitored,
                after_version=after_version,
                every=MONITOR_POLL_SECONDS,
            )
            self._tasks.append(loop.create_task(job.follow(holder, stop)))

    async def close(self) -> None:
        """After `stop` is set: let the tasks finish (the audit trail ships what it can)."""
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await asyncio.wait_for(task, timeout=10)
        if self.trust.audit is not None:
            self.trust.audit.close()
        with contextlib.suppress(Exception):
            await self.client.aclose()
