"""Production refresh: fetch each source's official files, skip what did not change, parse,
check, publish, and tell the workers (through the snapshot's reload event).

Per source, one format is fetched (ListFormat.refresh; configurable), main file and
companions. Requests are conditional (If-None-Match / If-Modified-Since with the validators
of the last accepted download), and a download whose content hash equals the last accepted
one is not parsed again. Validators are stored only once the round's snapshot is published,
and ignored for a source that is not live, so a round cut short never makes a later one
take an unpublished file for up to date. A download error (HTTP status, timeout, cut-off
transfer), a file that does not parse (truncated, malformed, past a cap, implausibly small;
parsed in a child process, sources/sandbox.py), any other failure of one source, or a
publication that drops more than `max_drop_share` of the live entries (or of the last good
publication kept on disk, when Redis has none) is rejected whole: the source keeps its live
snapshot, and the failure is counted (screening_refresh_total{outcome}), logged and recorded
in the source's refresh status (GetDataStatus shows it).

Only one replica refreshes at a time: the run holds the shared ingest lock (with expiry),
and a scheduled run also claims the interval in Redis, so N replicas fetch once per interval.
"""

from __future__ import annotations

import datetime as dt
import email.utils
import hashlib
import logging
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from screening.model.entities import Publication
from screening.sources.base import ListFormat
from screening.sources.ingest import LockBusy, ingest_lock, report_parse
from screening.sources.last_good import LastGoodStore
from screening.sources.limits import ParseLimits
from screening.sources.registry import FORMATS_BY_NAME, fileset_for, refresh_formats
from screening.sources.sandbox import ParseSandbox
from screening.store.snapshots import ListStore, Manifest, SourceState, StageOutcome, now_iso

log = logging.getLogger(__name__)

USER_AGENT = "sanctions-screening-refresh/0.1"


class DownloadError(Exception):
    """A file could not be fetched whole."""


@dataclass(frozen=True)
class RefreshTarget:
    """One format of one source to fetch: saved file name -> URL, main file first."""

    format: ListFormat
    urls: dict[str, str]

    @property
    def source(self) -> str:
        return self.format.source


@dataclass
class RefreshOptions:
    max_drop_share: float = 0.2
    timeout: float = 30.0  # connect / read / write, per operation
    max_seconds: float = 300.0  # one whole download
    max_bytes: int = 1 << 30
    limits: ParseLimits = field(default_factory=ParseLimits)


@dataclass
class SourceRefresh:
    """What a refresh did for one source."""

    source: str
    format: str
    outcome: str  # published, unchanged, rejected, failed, skipped
    detail: str = ""
    publication_date: str = ""
    entities: int = 0
    seconds: float = 0.0


@dataclass
class RefreshResult:
    sources: list[SourceRefresh] = field(default_factory=list)
    data_version: str | None = None

    @property
    def ok(self) -> bool:
        return all(s.outcome in ("published", "unchanged", "skipped") for s in self.sources)


def targets(
    formats: list[str] | None = None, url_overrides: dict[str, str] | None = None
) -> list[RefreshTarget]:
    """The formats to fetch (default: each source's refresh format) and their URLs.

    `url_overrides` maps a format name to its main URL, and "<format>:<file name>" to a
    companion's URL (a mirror, or a test server).
    """
    overrides = url_overrides or {}
    chosen = [FORMATS_BY_NAME[name] for name in formats] if formats else refresh_formats()
    out = []
    for fmt in chosen:
        main_name = fmt.download_name or f"{fmt.name}.dat"
        urls = {main_name: overrides.get(fmt.name, fmt.url)}
        for name, url in fmt.companion_urls.items():
            urls[name] = overrides.get(f"{fmt.name}:{name}", url)
        out.append(RefreshTarget(fmt, urls))
    return out


def refresh(
    store: ListStore,
    to_fetch: list[RefreshTarget],
    options: RefreshOptions | None = None,
    *,
    wait_for_lock: float = 0.0,
    last_good: LastGoodStore | None = None,
    progress: Callable[[int, int, str], None] | None = None,
) -> RefreshResult:
    """Refresh the given sources once. Never raises for a bad source: it is reported.
    `progress` is told (done, total, source) after each source.

    The validators (ETag, Last-Modified, content hash) of a download are stored only once
    what it brought is published (or confirmed unchanged): a round cut short never leaves a
    source that later rounds take for up to date without it being live.
    """
    from screening.observability import metrics

    options = options or RefreshOptions()
    result = RefreshResult()
    try:
        with ingest_lock(store, wait_for_lock) as lock:
            base = store.manifest()
            sources = dict(base.sources) if base else {}
            staged = False
            accepted: list[tuple[str, dict[str, str]]] = []
            with (
                tempfile.TemporaryDirectory(prefix="screening-refresh-") as workdir,
                _client(options) as client,
                ParseSandbox(options.limits) as sandbox,
            ):
                for target in to_fetch:
                    started = time.perf_counter()
                    round_ = _Round(store, client, sandbox, sources, base, options, last_good)
                    try:
                        item, validators = _refresh_source(round_, target, Path(workdir))
                    except Exception as exc:  # a bug or Redis trouble: this source only
                        log.exception(
                            "list refresh of one source failed", extra={"source": target.source}
                        )
                        item = SourceRefresh(
                            target.source,
                            target.format.name,
                            "failed",
                            f"{type(exc).__name__}: {exc}",
                        )
                        validators = None
                    item.seconds = time.perf_counter() - started
                    staged = staged or round_.staged
                    result.sources.append(item)
                    if validators is not None:
                        accepted.append((target.source, validators))
                    _report(store, item)
                    if progress is not None:
                        progress(len(result.sources), len(to_fetch), target.source)
                    lock.reacquire()  # a long run keeps the lock (its expiry restarts)
            manifest = store.publish(sources) if staged else None
            for source, validators in accepted:  # only now is what they describe live
                store.set_refresh_status(source, validators)
            result.data_version = manifest.version if manifest else store.current_version()
            current = store.manifest()
            if last_good is not None:
                last_good.remember(store, current)
            if current is not None:
                metrics.PUBLICATION_AGE.update(
                    {k: v.publication_date for k, v in current.sources.items()}
                )
    except LockBusy:
        for target in to_fetch:
            result.sources.append(
                SourceRefresh(
                    target.source,
                    target.format.name,
                    "skipped",
                    "another replica is ingesting or refreshing",
                )
            )
        log.info("refresh skipped: another replica holds the ingest lock")
    return result


@dataclass
class _Round:
    """What the sources of one refresh round share."""

    store: ListStore
    client: httpx.Client
    sandbox: ParseSandbox
    sources: dict[str, SourceState]
    base: Manifest | None
    options: RefreshOptions
    last_good: LastGoodStore | None
    staged: bool = False

    def stage(self, publications: list[Publication], source: str) -> StageOutcome | None:
        """Stage a source's new publication (or none), against the live data or, when Redis
        has none, the last good publication kept on disk (which stays live if need be)."""
        kept = None
        if source not in self.sources and self.last_good is not None:
            kept = self.last_good.load(source)
        if not publications and kept is None:
            return None
        outcomes = self.store.stage(
            publications,
            self.sources,
            self.base,
            max_drop_share=self.options.max_drop_share,
            last_good=kept,
        )
        self.staged = self.staged or kept is not None or any(o.outcome == "live" for o in outcomes)
        return outcomes[0] if outcomes else None


def _client(options: RefreshOptions) -> httpx.Client:
    return httpx.Client(
        timeout=httpx.Timeout(options.timeout),
        follow_redirects=True,
        headers={"User-Agent": USER_AGENT},
    )


def _refresh_source(
    round_: _Round, target: RefreshTarget, workdir: Path
) -> tuple[SourceRefresh, dict[str, str] | None]:
    """Fetch, parse and stage one source. Returns what happened, and the validators to
    store once the round's snapshot is published (None: store nothing)."""
    fmt = target.format
    item = SourceRefresh(target.source, fmt.name, "failed")
    status = round_.store.refresh_status(target.source)
    if target.source not in round_.sources:
        # Nothing of this source is live: whatever an earlier round remembered, fetch and
        # parse it whole (a "not modified" would leave the source empty).
        status = {}
    folder = workdir / fmt.name
    folder.mkdir(parents=True, exist_ok=True)
    try:
        fetched = _download_all(round_.client, target, folder, status, round_.options)
    except DownloadError as exc:
        item.detail = str(exc)
        return item, None
    if fetched is None:
        item.outcome, item.detail = "unchanged", "not modified (HTTP 304)"
        item.publication_date = status.get("publication_date", "")
        return item, None
    content_sha, validators, last_modified = fetched
    if content_sha == status.get("sha256") and status.get("format") == fmt.name:
        item.outcome, item.detail = "unchanged", "same content as the last accepted download"
        item.publication_date = status.get("publication_date", "")
        return item, validators
    paths = [folder / name for name in target.urls]
    fileset = fileset_for(fmt, paths, date=last_modified)
    item.publication_date = fileset.publication_date
    parsed = round_.sandbox.parse(fileset)
    report_parse(parsed)
    if parsed.publication is None:
        round_.stage([], target.source)  # the last good on disk stays live on an empty Redis
        item.outcome, item.detail = "rejected", parsed.error
        return item, None
    publication = parsed.publication
    item.entities = len(publication.entities)
    outcome = round_.stage([publication], target.source)
    assert outcome is not None
    if outcome.outcome == "rejected":
        item.outcome, item.detail = "rejected", outcome.detail
        return item, None
    if outcome.outcome == "live":
        item.outcome = "published"
        item.detail = f"+{outcome.added} -{outcome.removed} ~{outcome.changed}"
    else:  # older than live, or the live publication in another format
        item.outcome, item.detail = "unchanged", outcome.detail
    return item, {
        **validators,
        "sha256": content_sha,
        "format": fmt.name,
        "publication_date": fileset.publication_date,
    }


def _download_all(
    client: httpx.Client,
    target: RefreshTarget,
    folder: Path,
    status: dict[str, str],
    options: RefreshOptions,
) -> tuple[str, dict[str, str], str] | None:
    """Fetch every file of the target; None when the server says nothing changed.

    Returns the content hash, the validators to remember, and the main file's
    Last-Modified date (ISO) for formats whose files carry no date.
    """
    conditional = status.get("format") == target.format.name
    results: dict[str, _Fetched | None] = {}
    for name, url in target.urls.items():
        results[name] = _fetch(
            client,
            url,
            folder / name,
            status.get(f"etag:{name}", "") if conditional else "",
            status.get(f"modified:{name}", "") if conditional else "",
            options,
        )
    if all(r is None for r in results.values()):
        return None
    for name, fetched in list(results.items()):
        if fetched is None:  # part of the set changed: its companions are needed whole
            results[name] = _fetch(client, target.urls[name], folder / name, "", "", options)
    digest = hashlib.sha256()
    validators: dict[str, str] = {}
    for name in sorted(results):
        fetched = results[name]
        assert fetched is not None
        digest.update(name.encode() + b"\0" + fetched.sha256.encode())
        validators[f"etag:{name}"] = fetched.etag
        validators[f"modified:{name}"] = fetched.last_modified
    main = results[next(iter(target.urls))]
    assert main is not None
    return digest.hexdigest(), validators, _http_date(main.last_modified)


@dataclass(frozen=True)
class _Fetched:
    sha256: str
    size: int
    etag: str
    last_modified: str


def _fetch(
    client: httpx.Client,
    url: str,
    dest: Path,
    etag: str,
    last_modified: str,
    options: RefreshOptions,
) -> _Fetched | None:
    headers = {}
    if etag:
        headers["If-None-Match"] = etag
    if last_modified:
        headers["If-Modified-Since"] = last_modified
    deadline = time.monotonic() + options.max_seconds
    digest = hashlib.sha256()
    size = 0
    try:
        with client.stream("GET", url, headers=headers) as response:
            if response.status_code == 304:
                return None
            if response.status_code != 200:
                raise DownloadError(f"{_short(url)}: HTTP {response.status_code}")
            # httpx (h11) raises when the body ends before Content-Length: a cut-off
            # transfer never passes for a whole file.
            with dest.open("wb") as fh:
                for chunk in response.iter_bytes(1 << 16):
                    size += len(chunk)
                    if size > options.max_bytes:
                        raise DownloadError(f"{_short(url)}: larger than {options.max_bytes} B")
                    if time.monotonic() > deadline:
                        raise DownloadError(
                            f"{_short(url)}: download took longer than {options.max_seconds:g} s"
                        )
                    digest.update(chunk)
                    fh.write(chunk)
            return _Fetched(
                digest.hexdigest(),
                size,
                response.headers.get("etag", ""),
                response.headers.get("last-modified", ""),
            )
    except httpx.TimeoutException as exc:
        raise DownloadError(f"{_short(url)}: timed out ({type(exc).__name__})") from exc
    except httpx.HTTPError as exc:
        raise DownloadError(f"{_short(url)}: {type(exc).__name__}: {exc}") from exc


def _short(url: str) -> str:
    return url if len(url) <= 100 else url[:97] + "..."


def _http_date(value: str) -> str:
    if not value:
        return ""
    try:
        return email.utils.parsedate_to_datetime(value).astimezone(dt.UTC).date().isoformat()
    except (TypeError, ValueError):
        return ""


def _report(store: ListStore, item: SourceRefresh) -> None:
    """Count, log and record one source's outcome."""
    from screening.observability.metrics import REFRESH_LAST_SUCCESS, REFRESHES

    REFRESHES.labels(item.source, item.outcome).inc()
    fields = {
        "last_attempt_at": now_iso(),
        "last_outcome": item.outcome if not item.detail else f"{item.outcome}: {item.detail}",
    }
    extra = {
        "source": item.source,
        "format": item.format,
        "outcome": item.outcome,
        "detail": item.detail,
        "publication": item.publication_date,
        "entities": item.entities,
        "seconds": round(item.seconds, 2),
    }
    if item.outcome in ("published", "unchanged"):
        fields["last_success_at"] = fields["last_attempt_at"]
        fields["last_error"] = ""
        REFRESH_LAST_SUCCESS.labels(item.source).set(time.time())
        log.info("list refresh", extra=extra)
    else:
        fields["last_error"] = item.detail
        log.warning("list refresh failed; the live data stays", extra=extra)
    try:
        store.set_refresh_status(item.source, fields)
    except Exception:  # the outcome is logged and counted already
        log.exception("could not record refresh status", extra={"source": item.source})


class RefreshScheduler(threading.Thread):
    """Runs a refresh every `interval` seconds inside `screening serve` (supervisor).

    Replicas share the schedule: each round, the first replica to claim the interval in
    Redis refreshes; the others skip. The thread stops when `stop()` is called.
    """

    def __init__(
        self,
        store: ListStore,
        to_fetch: list[RefreshTarget],
        options: RefreshOptions,
        interval: float,
        last_good: LastGoodStore | None = None,
    ) -> None:
        super().__init__(name="screening-refresh", daemon=True)
        self.store = store
        self.to_fetch = to_fetch
        self.options = options
        self.interval = interval
        self.last_good = last_good
        self._stop_event = threading.Event()
        self.runs = 0

    def stop(self) -> None:
        self._stop_event.set()

    def run(self) -> None:
        while not self._stop_event.wait(self._delay()):
            try:
                if not self._claim():
                    continue
                result = refresh(self.store, self.to_fetch, self.options, last_good=self.last_good)
                self.runs += 1
                log.info(
                    "refresh round finished",
                    extra={
                        "data_version": result.data_version,
                        "outcomes": {s.source: s.outcome for s in result.sources},
                    },
                )
            except Exception:  # Redis away or a bug: keep serving, try again next round
                log.exception("refresh round failed")

    def _delay(self) -> float:
        return self.interval if self.runs or self._claimed_recently() else min(self.interval, 5.0)

    def _claimed_recently(self) -> bool:
        try:
            return bool(self.store.redis.exists(self.store.keys.refresh_last_run))
        except Exception:
            return False

    def _claim(self) -> bool:
        """Claim this interval for this replica (SET NX with expiry)."""
        ttl = max(1, int(self.interval * 0.9))
        return bool(
            self.store.redis.set(self.store.keys.refresh_last_run, now_iso(), nx=True, ex=ttl)
        )
