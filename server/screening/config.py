"""Settings: command-line flags override environment variables (SCREENING_*), which override
these defaults. REDIS_URL is honoured as well as SCREENING_REDIS_URL."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Literal

from pydantic import AliasChoices, Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="SCREENING_", extra="ignore")

    host: str = Field("0.0.0.0", description="Address the gRPC server binds")
    port: int = Field(50051, description="gRPC port, shared by all workers (SO_REUSEPORT)")
    metrics_port: int = Field(9464, description="Prometheus metrics port (0: off)")
    workers: int = Field(
        default_factory=lambda: os.cpu_count() or 1, description="Worker processes"
    )
    redis_url: str = Field(
        "",
        validation_alias=AliasChoices("SCREENING_REDIS_URL", "REDIS_URL"),
        description="Redis URL; empty: start an embedded redis-server",
    )
    redis_prefix: str = Field("screening", description="Key prefix (Cluster hash tag)")
    lists_dir: Path | None = Field(None, description="Ingest every list file found here at start")
    max_drop_share: float = Field(
        0.2, ge=0, le=1, description="Reject a publication dropping more than this share"
    )
    alert_threshold: float = Field(
        0.80, ge=0, le=1, description="Default min_score: every match returned is an alert"
    )
    review_threshold: float = Field(
        0.80, ge=0, le=1, description="Best match at or above this: decision REVIEW"
    )
    block_threshold: float = Field(
        0.95, ge=0, le=1, description="Best match at or above this: decision BLOCK"
    )
    max_results: int = Field(10, ge=1, le=100, description="Default matches per party")
    poll_seconds: float = Field(5.0, gt=0, description="Snapshot pointer poll interval")
    grace_seconds: float = Field(10.0, ge=0, description="Drain time for in-flight calls")
    refresh_interval: float | None = Field(
        None,
        ge=0,
        description="Seconds between list refreshes from the official URLs; 0: off. "
        "Default: off when --lists-dir is given, else 3600",
    )
    refresh_formats: list[str] = Field(
        default_factory=list,
        description="List formats to refresh (JSON list of format names); empty: one per source",
    )
    refresh_urls: dict[str, str] = Field(
        default_factory=dict,
        description='URL overrides (JSON): {"<format>": url, "<format>:<file>": companion url}',
    )
    refresh_timeout: float = Field(30.0, gt=0, description="Per-operation HTTP timeout (s)")
    refresh_max_seconds: float = Field(300.0, gt=0, description="Longest one download may take")
    log_level: str = Field("INFO", description="Log level")
    event_loop: Literal["uvloop", "asyncio"] = Field(
        "uvloop", description="Workers' event loop (uvloop measured faster under load)"
    )
    result_cache_ttl_seconds: int = Field(
        3600, ge=0, description="Keep screening results in Redis this long (0: no result cache)"
    )
    result_cache_local_entries: int = Field(
        20000, ge=0, description="Results each worker also keeps in memory (0: Redis only)"
    )
    result_cache_timeout_seconds: float = Field(
        0.1, gt=0, description="Give up on a result-cache read or write after this long"
    )

    @property
    def effective_refresh_interval(self) -> float:
        if self.refresh_interval is not None:
            return self.refresh_interval
        return 0.0 if self.lists_dir is not None else 3600.0

    max_name_length: int = Field(512, description="Longest accepted name or alias")
    max_aliases: int = Field(50, description="Most aliases per party")
    max_identifiers: int = Field(50, description="Most identifiers per party")
    policy_file: Path | None = Field(
        None, description="Shipment policy (TOML); empty: the policy shipped with the package"
    )
