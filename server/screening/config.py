"""Settings: command-line flags override environment variables (SCREENING_*), which override
these defaults. REDIS_URL is honoured as well as SCREENING_REDIS_URL. This is the only module
that reads SCREENING_* variables: the service's (Settings), the log level the commands start
with (log_level) and the container healthcheck's (HealthcheckSettings)."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from pydantic import AliasChoices, BaseModel, Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from screening import list_limits


class AuthToken(BaseModel):
    """A bearer token as configured: only its hash is kept (see api/auth.py)."""

    client: str = Field(description="Client identity the token stands for (audit trail)")
    token_hash: str = Field(description="Hex SHA-256 of the token (HMAC with auth_token_key)")
    permissions: list[str] = Field(default_factory=lambda: ["screen"])
    rate_per_second: float = Field(0.0, ge=0, description="Calls per second (0: unlimited)")
    burst: int = Field(0, ge=0, description="Calls allowed at once (0: one second's worth)")


# Days a source's data may go without being known current (published, or confirmed by a
# refresh) before it is STALE. The lists named publish several times a week; "*": others.
DEFAULT_MAX_DATA_AGE_DAYS: dict[str, float] = {
    "ofac-sdn": 7,
    "ofac-cons": 7,
    "un": 7,
    "uk": 7,
    "uk-sl": 7,
    "eu": 7,
    "us-csl": 7,
    "ca-sema": 30,
    "us-bis-dpl": 30,
    "*": 30,
}


def default_data_dir() -> Path:
    """Where the embedded default keeps its data and the local audit spool: the user's state
    directory (XDG), else `.screening` in the working directory when there is no home."""
    state = os.environ.get("XDG_STATE_HOME")
    if state:
        return Path(state) / "screening"
    try:
        return Path.home() / ".local" / "state" / "screening"
    except RuntimeError:
        return Path.cwd() / ".screening"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="SCREENING_", extra="ignore")

    host: str = Field(
        "127.0.0.1",
        description="Address the gRPC server (and the metrics port) binds: loopback by default; "
        "beyond it without TLS only with allow_insecure_network",
    )
    allow_insecure_network: bool = Field(
        False,
        description="Listen beyond loopback without TLS (gRPC's insecure port, plain-HTTP "
        "metrics): refused unless set, and warned about when set",
    )
    port: int = Field(50051, description="gRPC port, shared by all workers (SO_REUSEPORT)")
    metrics_port: int = Field(9464, description="Prometheus metrics port (0: off)")
    metrics_host: str = Field(
        "",
        description="Address the metrics port binds; empty: the gRPC host, or loopback when "
        "that is a wildcard (0.0.0.0, ::)",
    )
    metrics_web_config_file: Path | None = Field(
        None,
        description="Prometheus exporter web configuration (YAML): tls_server_config "
        "(cert_file, key_file, client_ca_file, client_auth_type) and basic_auth_users "
        "(user: bcrypt hash)",
    )
    workers: int = Field(
        default_factory=lambda: os.cpu_count() or 1, description="Worker processes"
    )
    redis_url: str = Field(
        "",
        validation_alias=AliasChoices("SCREENING_REDIS_URL", "REDIS_URL"),
        description="Redis URL; empty: start an embedded redis-server",
    )
    redis_prefix: str = Field("screening", description="Key prefix (Cluster hash tag)")
    data_dir: Path = Field(
        default_factory=default_data_dir,
        description="The embedded Redis's data (append-only file, fsync every second) and the "
        "default audit spool; default: $XDG_STATE_HOME/screening or ~/.local/state/screening",
    )
    worker_heartbeat_seconds: float = Field(
        3.0,
        ge=0,
        description="A worker whose event loop has not beaten for this long (stopped, hung) is "
        "killed and restarted; 0: off",
    )
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
    max_data_age_days: dict[str, float] = Field(
        default_factory=dict,
        description="Days a source may go without being known current before it is STALE "
        '(JSON, per source id, "*" for the rest); merged over the defaults: '
        + ", ".join(f"{k} {v:g}" for k, v in DEFAULT_MAX_DATA_AGE_DAYS.items()),
    )
    poll_seconds: float = Field(5.0, gt=0, description="Snapshot pointer poll interval")
    grace_seconds: float = Field(10.0, ge=0, description="Drain time for in-flight calls")
    connection_balancing: Literal["round_robin", "hash"] = Field(
        "round_robin",
        description="How the workers sharing the port take new connections: in turn (a BPF "
        "program on the port; needs CAP_BPF, else falls back to hash) or by the kernel's hash",
    )
    max_connection_age_seconds: float = Field(
        0.0,
        ge=0,
        description="Ask each client connection to reconnect (HTTP/2 GOAWAY) after about this "
        "long, so long-lived clients spread again over workers and replicas; 0: never",
    )
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
    # Caps on reading one list file (their defaults: list_limits.py).
    list_max_file_bytes: int = Field(
        list_limits.MAX_FILE_BYTES,
        gt=0,
        description="Largest list file read, and largest unzipped content of a spreadsheet",
    )
    list_max_string_chars: int = Field(
        list_limits.MAX_STRING_CHARS,
        gt=0,
        description="Longest text (cell, element, field) in a list file",
    )
    list_max_rows: int = Field(
        list_limits.MAX_ROWS, gt=0, description="Most rows (or entries) in one list file"
    )
    list_max_columns: int = Field(
        list_limits.MAX_COLUMNS, gt=0, description="Most filled columns in one row"
    )
    list_parse_seconds: float = Field(
        list_limits.PARSE_SECONDS,
        gt=0,
        description="Longest one publication may take to parse (then it is stopped)",
    )
    list_parse_memory_bytes: int = Field(
        list_limits.PARSE_MEMORY_BYTES,
        ge=0,
        description="Address space of the process that parses list files (0: no cap)",
    )
    list_state_dir: Path | None = Field(
        None,
        description="Where the last good publication of each source is kept, for the shrink "
        "guard on an empty Redis (default: <data_dir>/lists)",
    )
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
    max_party_characters: int = Field(
        1024, gt=0, description="Most characters in a party's name and aliases together"
    )
    max_shipment_characters: int = Field(
        2048, gt=0, description="Most characters in the names of a shipment's parties and vessels"
    )
    max_compare_pairs: int = Field(
        400, gt=0, description="Most name pairs in one CompareParties (left names x right names)"
    )
    call_cpu_seconds: float = Field(
        0.75,
        gt=0,
        description="CPU time after which one call's matching stops (RESOURCE_EXHAUSTED), "
        "checked between candidates and name pairs (the costliest pair of valid names takes "
        "about 0.25 s: a call stays under 1 s); its deadline and cancellation also stop it",
    )
    inline_match_characters: int = Field(
        256,
        ge=0,
        description="Requests with up to this many characters of names are matched on the "
        "event loop; larger ones on the worker's matching thread, beside the other calls",
    )
    max_waiting_large_calls: int = Field(
        8, ge=0, description="Larger requests that may wait for a worker's matching thread"
    )
    policy_file: Path | None = Field(
        None, description="Shipment policy (TOML); empty: the policy shipped with the package"
    )

    # -- trust: audit trail, access control, limits, accept-list, monitoring (issue 6) --
    audit_enabled: bool = Field(True, description="Record every screening in the audit trail")
    index_dir: Path | None = Field(
        None,
        description="Where a host keeps the match indexes it built (one file per snapshot, "
        "read by every worker; default: <data_dir>/index)",
    )
    index_share_key: str = Field(
        "",
        description="Secret shared by every host of one Redis: set, a host without the "
        "current index file fetches the one another host built (kept in Redis, signed with "
        "this key) instead of building it, and the hosts share a str hash seed derived from "
        "it; empty: each host builds its own",
    )
    audit_spool_dir: Path | None = Field(
        None, description="Local audit journal directory (default: <data_dir>/audit)"
    )
    audit_include_request: bool = Field(
        False, description="Keep the canonical request itself in each audit record"
    )
    audit_spool_max_bytes: int = Field(
        512 * 1024 * 1024, gt=0, description="Unshipped audit data a worker holds before refusing"
    )
    audit_retain_seconds: float = Field(
        86400.0, ge=0, description="Keep shipped audit records locally this long (Redis loss)"
    )
    audit_retain_bytes: int = Field(
        256 * 1024 * 1024, ge=0, description="... and at most this many bytes of them"
    )
    auth_required: bool = Field(
        False, description="Require a bearer token (on by itself when auth_tokens is set)"
    )
    auth_tokens: list[AuthToken] = Field(
        default_factory=list, description="Bearer tokens (JSON list; hashes only)"
    )
    auth_token_key: str = Field("", description="HMAC key the token hashes are made with")
    auth_health_open: bool = Field(True, description="Health checks need no token")
    auth_reflection_open: bool = Field(False, description="Server reflection needs no token")
    auth_reload_seconds: float = Field(5.0, gt=0, description="Re-read tokens kept in Redis")
    rate_limit_per_second: float = Field(
        0.0, ge=0, description="Default calls per second per client (0: unlimited)"
    )
    tls_cert_file: Path | None = Field(None, description="Server certificate chain (PEM)")
    tls_key_file: Path | None = Field(None, description="Server private key (PEM)")
    tls_client_ca_file: Path | None = Field(
        None, description="CA for client certificates: set, mutual TLS is required"
    )
    max_message_bytes: int = Field(
        4 * 1024 * 1024,
        gt=0,
        description="Largest gRPC message accepted (larger: INVALID_ARGUMENT naming `request`; "
        "past 4 times this, gRPC's RESOURCE_EXHAUSTED) or sent",
    )
    max_stream_items: int = Field(
        1_000_000, gt=0, description="Most items in one ScreenParties stream"
    )
    accept_max_days: int = Field(
        730, gt=0, description="Longest an acceptance may run before it expires"
    )
    watch_max_streams: int = Field(
        1000, gt=0, description="Most WatchAlerts streams open on one worker"
    )
    watch_max_streams_per_client: int = Field(
        100, gt=0, description="Most WatchAlerts streams one client has open on one worker"
    )
    watch_redis_connections: int = Field(
        4,
        ge=2,
        description="Redis connections of a worker's alert feed (one holds its blocking read; "
        "the others serve streams catching up), apart from every other use of Redis",
    )

    def max_data_age(self, source: str) -> float:
        """The maximum age of `source`'s data, in days (configured, else the default)."""
        limits = {**DEFAULT_MAX_DATA_AGE_DAYS, **self.max_data_age_days}
        return float(limits.get(source, limits["*"]))

    @property
    def effective_index_dir(self) -> Path:
        return self.index_dir if self.index_dir is not None else self.data_dir / "index"

    @property
    def effective_list_state_dir(self) -> Path:
        if self.list_state_dir is not None:
            return self.list_state_dir
        return self.data_dir / "lists"

    @property
    def metrics_bind_host(self) -> str:
        """Where the metrics port listens: as configured, else beside the gRPC port, but
        never on every interface unless asked for by name."""
        if self.metrics_host:
            return self.metrics_host
        return "127.0.0.1" if self.host in ("", "0.0.0.0", "::", "[::]") else self.host

    @property
    def auth_enabled(self) -> bool:
        return self.auth_required or bool(self.auth_tokens)

    @property
    def tls_enabled(self) -> bool:
        """The gRPC port speaks TLS (runtime/tls.py refuses a certificate without its key)."""
        return self.tls_cert_file is not None


def log_level(given: str) -> str:
    """The log level to start with: SCREENING_LOG_LEVEL when set (it wins over a flag, so
    that debug logging can be switched on in a deployment without changing its command),
    else `given`."""
    return (os.environ.get("SCREENING_LOG_LEVEL") or given).upper()


DEFAULT_CLIENT_TARGET = "localhost:50051"


def client_target() -> str:
    """Where the client commands (`screening status`, `screen`, `eval`...) connect by default:
    SCREENING_TARGET (host:port, as `screening-batch` reads it), else localhost:50051."""
    return os.environ.get("SCREENING_TARGET") or DEFAULT_CLIENT_TARGET


@dataclass(frozen=True)
class HealthcheckSettings:
    """What `python -m screening.cli.healthcheck` reads (cli/healthcheck.py says how)."""

    port: str = "50051"
    # Set: the server beside it serves TLS, and the healthcheck connects with TLS.
    server_tls: bool = False
    ca_file: str = ""
    cert_file: str = ""
    key_file: str = ""
    token: str = ""
    server_name: str = ""

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> HealthcheckSettings:
        env = os.environ if env is None else env
        prefix = "SCREENING_HEALTHCHECK_"
        return cls(
            port=env.get("SCREENING_PORT", "50051"),
            server_tls=bool(env.get("SCREENING_TLS_CERT_FILE")),
            ca_file=env.get(f"{prefix}CA_FILE", ""),
            cert_file=env.get(f"{prefix}CERT_FILE", ""),
            key_file=env.get(f"{prefix}KEY_FILE", ""),
            token=env.get(f"{prefix}TOKEN", ""),
            server_name=env.get(f"{prefix}SERVER_NAME", ""),
        )
