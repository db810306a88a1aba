"""List data in Redis: versioned snapshots, a `current` pointer, first-seen history, changes.

A snapshot is a manifest (JSON) naming, per source, a content-addressed blob of entities.
Publishing writes the manifest, then moves `current` and announces the version on the
reload channel in one transaction; workers load the manifest and blobs, build their index,
and swap. A source left untouched by an ingest keeps its blob, so snapshots share data.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
import zlib
from collections.abc import Iterable, Iterator, Sequence

import msgspec
from redis.typing import EncodableT, FieldT

from screening.model.entities import (
    ENTITY_ENCODER,
    ENTITY_LIST_DECODER,
    DateBasis,
    Entity,
    Publication,
)
from screening.store.connection import SyncRedis
from screening.store.keys import Keys

log = logging.getLogger(__name__)

SNAPSHOTS_KEPT = 5
# Old snapshots and blobs linger this long, so a worker that is still loading one succeeds.
EXPIRED_TTL_SECONDS = 3600
CHANGE_REPORTS_KEPT = 50


class SourceState(msgspec.Struct, omit_defaults=True):
    """One source as it stands in a snapshot."""

    source: str
    publication_date: str
    version: str
    sha256: str
    blob: str
    entity_count: int
    loaded_at: str
    files: list[str] = msgspec.field(default_factory=list)
    url: str = ""
    dates_are_official: bool = False
    format: str = ""
    added: int = 0
    removed: int = 0
    changed: int = 0


class Manifest(msgspec.Struct):
    version: str
    created_at: str
    sources: dict[str, SourceState]


class EntityChange(msgspec.Struct, omit_defaults=True):
    entity_id: str
    name: str
    fields: list[str] = msgspec.field(default_factory=list)


class ChangeReport(msgspec.Struct):
    source: str
    previous_version: str
    version: str
    publication_date: str
    ingested_at: str
    added: list[EntityChange]
    removed: list[EntityChange]
    changed: list[EntityChange]


class RejectedPublication(Exception):
    """A publication failed a sanity check; nothing of it was applied."""


class StageOutcome(msgspec.Struct, omit_defaults=True):
    """What staging did with one publication.

    outcome: "live" (it is the source's live data now), "superseded" (applied, then a newer
    one of the same batch went live), "history" (older than the live one: first-seen
    history only), "same publication" (the live publication in another format), "rejected".
    """

    source: str
    publication_date: str
    format: str
    files: list[str]
    entities: int
    outcome: str
    detail: str = ""
    added: int = 0
    removed: int = 0
    changed: int = 0

    @property
    def note(self) -> str:
        head = f"{self.source} {self.publication_date}"
        if self.outcome == "rejected":
            return f"{head}: rejected: {self.detail}"
        if self.outcome in ("live", "superseded"):
            return (
                f"{head}: {self.entities} entries (+{self.added} -{self.removed} ~{self.changed})"
            )
        return f"{head}: {self.detail}"


_MANIFEST_DECODER = msgspec.json.Decoder(Manifest)
_CHANGE_DECODER = msgspec.json.Decoder(ChangeReport)
_COMPARED_FIELDS = (
    "name",
    "designation_date",
    "aliases",
    "entity_type",
    "programs",
    "countries",
    "birth_dates",
    "addresses",
    "identifiers",
    "remarks",
    "properties",
)


def now_iso() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="seconds")


# Entities per encoded chunk: a worker decodes a blob chunk by chunk, answering calls in
# between (decoding a whole list at once holds the interpreter for a quarter second).
ENTITY_CHUNK = 1000
_CHUNKS_DECODER = msgspec.msgpack.Decoder(list[bytes])


def encode_entities(entities: Sequence[Entity]) -> bytes:
    """zlib(msgpack list of msgpack-encoded chunks of entities)."""
    items = list(entities)
    chunks = [
        ENTITY_ENCODER.encode(items[i : i + ENTITY_CHUNK])
        for i in range(0, len(items), ENTITY_CHUNK)
    ]
    # Level 1: a fifth larger than level 6 and about three times faster to write.
    return zlib.compress(ENTITY_ENCODER.encode(chunks), 1)


def entity_chunks(blob: bytes) -> Iterator[list[Entity]]:
    """Decode a blob a chunk at a time (blobs written before chunking: all at once)."""
    raw = zlib.decompress(blob)
    try:
        chunks = _CHUNKS_DECODER.decode(raw)
    except msgspec.ValidationError:
        yield ENTITY_LIST_DECODER.decode(raw)
        return
    for chunk in chunks:
        yield ENTITY_LIST_DECODER.decode(chunk)


def decode_entities(blob: bytes) -> list[Entity]:
    return [entity for chunk in entity_chunks(blob) for entity in chunk]


def diff(
    previous: Iterable[Entity], current: Iterable[Entity], *, core_only: bool = False
) -> tuple[list, list, list]:
    """Entries added, removed and changed between two publications of one source.

    `core_only` (two different formats of one source) compares only what every format
    states alike: names, type, programs and identifying numbers; remarks, addresses and
    other details are written differently by each format and would show as bogus changes.
    """
    before = {e.id: e for e in previous}
    after = {e.id: e for e in current}
    added = [EntityChange(e.id, e.name) for k, e in after.items() if k not in before]
    removed = [EntityChange(e.id, e.name) for k, e in before.items() if k not in after]
    changed = []
    for key, new in after.items():
        old = before.get(key)
        if old is None:
            continue
        if core_only:
            fields = [f for f, get in _CORE_FIELDS.items() if get(old) != get(new)]
            if fields:
                changed.append(EntityChange(key, new.name, fields))
            continue
        old, new = _comparable(old, new)
        # Compared as structs (in C), not as fingerprint bytes: the same answer without
        # encoding both (diffing the shared publications: 0.66 -> 0.25 s of CPU).
        if old == new or old.content() == new.content():
            continue
        fields = [f for f in _COMPARED_FIELDS if getattr(old, f) != getattr(new, f)]
        changed.append(EntityChange(key, new.name, fields or ["other"]))
    return added, removed, changed


def _comparable(old: Entity, new: Entity) -> tuple[Entity, Entity]:
    """Live entries carry stamped dates (first seen, or an official date remembered from an
    earlier publication); a fresh parse carries only what its file states. When the new
    file states no date, dates are no part of the comparison."""
    if new.designation_date_basis == DateBasis.OFFICIAL:
        return old, new
    return (
        msgspec.structs.replace(
            old,
            designation_date="",
            designation_date_basis=DateBasis.NONE,
            first_seen="",
            absent_from="",
        ),
        msgspec.structs.replace(
            new,
            designation_date="",
            designation_date_basis=DateBasis.NONE,
            first_seen="",
            absent_from="",
        ),
    )


_CORE_FIELDS = {
    "name": lambda e: e.name.casefold(),
    "aliases": lambda e: sorted({a.full.casefold() for a in e.aliases} - {e.name.casefold()}),
    "entity_type": lambda e: e.entity_type,
    "programs": lambda e: sorted(e.programs),
    "identifiers": lambda e: sorted({(i.type, i.value) for i in e.identifiers}),
}


class ListStore:
    """Snapshots and list history in one Redis (standalone, Sentinel-managed or Cluster)."""

    def __init__(self, client: SyncRedis, prefix: str = "screening") -> None:
        self.redis = client
        self.prefix = prefix
        self.keys = Keys(prefix)
        # While stage() runs (under the ingest lock, so no one else writes them): the
        # per-entry date hashes of the source, read once and kept up to date here, instead
        # of asking Redis for every entry of every publication again.
        self._staged_dates: dict[str, dict[str, str]] | None = None

    # -- reading -------------------------------------------------------------------------

    def current_version(self) -> str | None:
        value = self.redis.get(self.keys.current)
        return value.decode() if isinstance(value, bytes) else value

    def manifest(self, version: str | None = None) -> Manifest | None:
        version = version or self.current_version()
        if not version:
            return None
        raw = self.redis.get(self.keys.snapshot(version))
        return _MANIFEST_DECODER.decode(raw) if raw else None

    def entities(self, manifest: Manifest, source: str | None = None) -> list[Entity]:
        out: list[Entity] = []
        for blob in self.blobs(manifest, source).values():
            out.extend(decode_entities(blob))
        return out

    def blobs(self, manifest: Manifest, source: str | None = None) -> dict[str, bytes]:
        """The encoded entities of each source of a snapshot (decode_entities reads them)."""
        out: dict[str, bytes] = {}
        for name, state in sorted(manifest.sources.items()):
            if source is not None and name != source:
                continue
            blob = self.redis.get(self.keys.blob(state.blob))
            if not isinstance(blob, bytes):
                raise LookupError(f"snapshot {manifest.version}: blob for {name} is missing")
            out[name] = blob
        return out

    def change_reports(self, source: str, limit: int = 10) -> list[ChangeReport]:
        raw = self.redis.lrange(self.keys.changes(source), 0, max(0, limit - 1))
        return [_CHANGE_DECODER.decode(r) for r in raw]

    def refresh_status(self, source: str) -> dict[str, str]:
        """Last refresh of a source: attempt time, outcome, error, validators, content hash."""
        raw = self.redis.hgetall(self.keys.refresh_status(source))
        return {
            (k.decode() if isinstance(k, bytes) else str(k)): (
                v.decode() if isinstance(v, bytes) else str(v)
            )
            for k, v in raw.items()
        }

    def set_refresh_status(self, source: str, fields: dict[str, str]) -> None:
        mapping: dict[FieldT, EncodableT] = {k: v for k, v in fields.items()}
        if mapping:
            self.redis.hset(self.keys.refresh_status(source), mapping=mapping)

    # -- writing -------------------------------------------------------------------------

    def apply(
        self, publications: Sequence[Publication], *, max_drop_share: float = 0.2
    ) -> tuple[Manifest | None, list[str]]:
        """Stage publications of any sources and publish the resulting snapshot.

        Returns the new manifest (None if nothing changed) and human-readable notes.
        """
        base = self.manifest()
        sources = dict(base.sources) if base else {}
        by_source: dict[str, list[Publication]] = {}
        for pub in publications:
            by_source.setdefault(pub.source, []).append(pub)
        notes: list[str] = []
        for pubs in by_source.values():
            outcomes = self.stage(pubs, sources, base, max_drop_share=max_drop_share)
            notes += [o.note for o in outcomes]
        return self.publish(sources), notes

    def stage(
        self,
        pubs: list[Publication],
        sources: dict[str, SourceState],
        base: Manifest | None,
        *,
        max_drop_share: float = 0.2,
        last_good: tuple[SourceState, list[Entity]] | None = None,
    ) -> list[StageOutcome]:
        """Apply publications of one source, oldest first, into `sources` (not yet published).

        Every publication updates the first-seen history; the newest becomes live. The drop
        check guards what was live before this batch: a publication that drops more than
        `max_drop_share` of those entries is rejected (reported, not applied). Publications
        staged together are a history handed over at once (a directory of past files), so
        they are not checked against each other.

        `last_good` (kept on disk) stands in for the live data when Redis has none for the
        source (an empty Redis): it is guarded, its first-seen history is carried over, and
        it goes live again when no publication of the batch passes.
        """
        source = pubs[0].source if pubs else last_good[0].source if last_good else ""
        self._staged_dates = {
            self.keys.first_seen(source): {},
            self.keys.official_dates(source): {},
        }
        for key, known in self._staged_dates.items():
            known.update((_text(k), _text(v)) for k, v in self.redis.hgetall(key).items())
        try:
            return self._stage(pubs, source, sources, base, max_drop_share, last_good)
        finally:
            self._staged_dates = None

    def _stage(
        self,
        pubs: list[Publication],
        source: str,
        sources: dict[str, SourceState],
        base: Manifest | None,
        max_drop_share: float,
        last_good: tuple[SourceState, list[Entity]] | None,
    ) -> list[StageOutcome]:
        outcomes: list[StageOutcome] = []
        pubs = sorted(pubs, key=lambda p: p.publication_date)
        state = sources.get(source)
        live = self.entities(base, source) if base and state else []
        restored = False
        if state is None and last_good is not None:
            state, live = last_good
            self._carry_history(source, live)
            restored = True
        guarded = {e.id for e in live}
        newest: Publication | None = None
        history_only = False
        for pub in pubs:
            outcome = StageOutcome(
                source=source,
                publication_date=pub.publication_date,
                format=pub.format,
                files=[f.rsplit("/", 1)[-1] for f in pub.files],
                entities=len(pub.entities),
                outcome="",
            )
            outcomes.append(outcome)
            try:
                report = self._apply_one(pub, state, live, guarded, max_drop_share)
            except RejectedPublication as exc:
                outcome.outcome, outcome.detail = "rejected", str(exc)
                log.warning(
                    "publication rejected",
                    extra={
                        "source": source,
                        "publication": pub.publication_date,
                        "reason": str(exc),
                    },
                )
                continue
            if report is None:
                same = state is not None and pub.publication_date == state.publication_date
                outcome.outcome = "same publication" if same else "history"
                outcome.detail = (
                    f"same publication as the live {state.format} file; kept the live one"
                    if same and state is not None
                    else "older than live, history only"
                )
                history_only = True
                continue
            for earlier in outcomes[:-1]:
                if earlier.outcome == "live":
                    earlier.outcome = "superseded"
            newest, live = pub, pub.entities
            state = self._state(pub, report)
            outcome.outcome = "live"
            outcome.added, outcome.removed = len(report.added), len(report.removed)
            outcome.changed = len(report.changed)
        if state is not None and (newest is not None or history_only or restored):
            # Older publications may have moved first-seen dates back: re-stamp the live data.
            state = msgspec.structs.replace(state)
            self._write_blob(source, live, state)
            sources[source] = state
        return outcomes

    def _apply_one(
        self,
        pub: Publication,
        state: SourceState | None,
        live: list[Entity],
        guarded: set[str],
        max_drop_share: float,
    ) -> ChangeReport | None:
        if not pub.entities:
            raise RejectedPublication("no entries")
        if state is not None and pub.publication_date < state.publication_date:
            self._record_first_seen(pub)
            return None
        if (
            state is not None
            and pub.publication_date == state.publication_date
            and pub.format
            and state.format
            and pub.format != state.format
        ):
            # One publication in two formats (OFSI csv and xlsx): one is live, the other
            # would only report format differences as changes.
            self._record_first_seen(pub)
            return None
        if guarded:
            dropped = len(guarded - {e.id for e in pub.entities})
            if dropped > max_drop_share * len(guarded):
                raise RejectedPublication(
                    f"drops {dropped} of {len(guarded)} live entries "
                    f"(more than {max_drop_share:.0%}); kept the previous publication"
                )
        core_only = state is not None and bool(state.format) and state.format != pub.format
        added, removed, changed = diff(live, pub.entities, core_only=core_only)
        self._record_first_seen(pub)
        version = publication_version(pub)
        report = ChangeReport(
            source=pub.source,
            previous_version=state.version if state else "",
            version=version,
            publication_date=pub.publication_date,
            ingested_at=now_iso(),
            added=added,
            removed=removed,
            changed=changed,
        )
        already = self.redis.hget(self.keys.applied(pub.source), pub.sha256)
        if not already and (state is None or state.version != version):
            pipe = self.redis.pipeline(transaction=False)
            pipe.lpush(self.keys.changes(pub.source), msgspec.json.encode(report))
            pipe.ltrim(self.keys.changes(pub.source), 0, CHANGE_REPORTS_KEPT - 1)
            pipe.hset(self.keys.applied(pub.source), pub.sha256, report.ingested_at)
            pipe.execute()
        return report

    def _carry_history(self, source: str, entities: list[Entity]) -> None:
        """Put the dates stamped on kept entries (the last good publication on disk) back
        into Redis, where Redis holds none or a later one: first-seen and official dates,
        and the publications held (each entry's first-seen date and the one it was absent
        from, which is what stamp_dates needs to give every entry its basis again)."""
        self._merge_dates(
            self.keys.official_dates(source),
            {
                e.source_ref: e.designation_date
                for e in entities
                if e.designation_date and e.designation_date_basis == DateBasis.OFFICIAL
            },
            earliest=False,
        )
        self._merge_dates(
            self.keys.first_seen(source),
            {e.source_ref: e.first_seen for e in entities if e.first_seen},
            earliest=True,
        )
        held = {d for e in entities for d in (e.first_seen, e.absent_from) if d}
        if held:
            self._merge_dates(self.keys.held(source), dict.fromkeys(held, ""), earliest=False)

    def _record_first_seen(self, pub: Publication) -> None:
        """Remember, per entry, the earliest publication that held it (kept across ingests),
        and any official designation date a publication stated for it."""
        self._merge_dates(
            self.keys.official_dates(pub.source),
            {
                e.source_ref: e.designation_date
                for e in pub.entities
                if e.designation_date and e.designation_date_basis == DateBasis.OFFICIAL
            },
            earliest=False,
        )
        key = self.keys.first_seen(pub.source)
        held = self.keys.held(pub.source)
        if not self.redis.exists(held):
            # History written before publications were recorded: the first-seen dates name
            # the publications that added entries, the earliest among them.
            dates = {v.decode() if isinstance(v, bytes) else str(v) for v in self.redis.hvals(key)}
            if dates:
                self.redis.hset(held, mapping=dict.fromkeys(dates, ""))
        self.redis.hset(held, pub.publication_date, pub.sha256)
        self._merge_dates(
            key, {e.source_ref: pub.publication_date for e in pub.entities}, earliest=True
        )

    def _merge_dates(self, key: str, dates: dict[str, str], *, earliest: bool) -> None:
        """Write each date where the hash has none (`earliest`: or a later one)."""
        if not dates:
            return
        kept = self._staged_dates.get(key) if self._staged_dates is not None else None
        if kept is not None:
            known: list[str | None] = [kept.get(ref) for ref in dates]
        else:
            known = [None if v is None else _text(v) for v in self.redis.hmget(key, list(dates))]
        updates: dict[str, str] = {}
        for (ref, date), seen in zip(dates.items(), known, strict=True):
            if not seen or (earliest and _date_before(date, seen)):
                updates[ref] = date
        if updates:
            mapping: dict[FieldT, EncodableT] = {k: v for k, v in updates.items()}
            self.redis.hset(key, mapping=mapping)
            if kept is not None:
                kept.update(updates)

    def _state(self, pub: Publication, report: ChangeReport) -> SourceState:
        return SourceState(
            source=pub.source,
            publication_date=pub.publication_date,
            version=report.version,
            sha256=pub.sha256,
            blob="",
            entity_count=len(pub.entities),
            loaded_at=now_iso(),
            files=[f.rsplit("/", 1)[-1] for f in pub.files],
            url=pub.url,
            dates_are_official=pub.dates_are_official,
            format=pub.format,
            added=len(report.added),
            removed=len(report.removed),
            changed=len(report.changed),
        )

    def _write_blob(self, source: str, entities: list[Entity], state: SourceState) -> None:
        """Stamp first-seen and designation dates on the live entities and store them."""
        stamp_dates(
            entities,
            first_seen=self._hash_values(self.keys.first_seen(source), entities),
            official=self._hash_values(self.keys.official_dates(source), entities),
            held=self.held_publications(source),
        )
        blob = encode_entities(entities)
        state.blob = hashlib.sha256(blob).hexdigest()
        self.redis.set(self.keys.blob(state.blob), blob)
        self.redis.persist(self.keys.blob(state.blob))

    def _hash_values(self, key: str, entities: list[Entity]) -> list[str]:
        kept = self._staged_dates.get(key) if self._staged_dates is not None else None
        if kept is not None:
            return [kept.get(e.source_ref) or "" for e in entities]
        raw = self.redis.hmget(key, [e.source_ref for e in entities])
        return [(v.decode() if isinstance(v, bytes) else v) or "" for v in raw]

    def held_hashes(self, source: str) -> set[str]:
        """Content hashes of the publications of `source` already applied (live, superseded
        or history): a file with one of them brings nothing new."""
        hashes = {
            v.decode() if isinstance(v, bytes) else str(v)
            for v in self.redis.hvals(self.keys.held(source))
        }
        hashes.discard("")
        return hashes

    def held_publications(self, source: str) -> list[str]:
        """Dates of every publication of `source` ingested so far, oldest first."""
        return sorted(
            k.decode() if isinstance(k, bytes) else str(k)
            for k in self.redis.hkeys(self.keys.held(source))
        )

    def publish(self, sources: dict[str, SourceState]) -> Manifest | None:
        """Make a snapshot of `sources` current, unless it is the current one already."""
        if not sources:
            return None
        digest = hashlib.sha256()
        for name, state in sorted(sources.items()):
            digest.update(f"{name}={state.blob};".encode())
        version = digest.hexdigest()[:16]
        if version == self.current_version():
            return None
        manifest = Manifest(version=version, created_at=now_iso(), sources=sources)
        self.republish(manifest)
        return manifest

    def republish(self, manifest: Manifest) -> None:
        """Write a manifest and make it current (also used to restore a Redis that lost it)."""
        pipe = self.redis.pipeline(transaction=True)
        pipe.set(self.keys.snapshot(manifest.version), msgspec.json.encode(manifest))
        pipe.set(self.keys.current, manifest.version)
        pipe.lrem(self.keys.history, 0, manifest.version)
        pipe.lpush(self.keys.history, manifest.version)
        pipe.execute()
        # Announced after the switch, not inside it: Redis Cluster refuses PUBLISH in a
        # transaction. A worker that misses the message finds the version by polling `current`.
        self.redis.publish(self.keys.reload_channel, manifest.version)
        self._expire_old()
        log.info(
            "snapshot published",
            extra={"data_version": manifest.version, "sources": sorted(manifest.sources)},
        )

    def _expire_old(self) -> None:
        versions = [
            v.decode() if isinstance(v, bytes) else v
            for v in self.redis.lrange(self.keys.history, 0, -1)
        ]
        keep, old = versions[:SNAPSHOTS_KEPT], versions[SNAPSHOTS_KEPT:]
        live_blobs: set[str] = set()
        for version in keep:
            manifest = self.manifest(version)
            if manifest:
                live_blobs.update(s.blob for s in manifest.sources.values())
        for version in old:
            manifest = self.manifest(version)
            if manifest:
                for state in manifest.sources.values():
                    if state.blob not in live_blobs:
                        self.redis.expire(self.keys.blob(state.blob), EXPIRED_TTL_SECONDS)
            self.redis.expire(self.keys.snapshot(version), EXPIRED_TTL_SECONDS)
        if old:
            self.redis.ltrim(self.keys.history, 0, SNAPSHOTS_KEPT - 1)


def stamp_dates(
    entities: list[Entity], *, first_seen: list[str], official: list[str], held: list[str]
) -> None:
    """Give each live entry its designation date and basis, from what is known of it.

    An official date, stated by this file or by any earlier publication of the list, wins.
    Otherwise the date is the first publication held that contained the entry: FIRST_SEEN
    when an earlier held publication lacked it (it was added between the two), else
    NOT_LATER_THAN: it is in the earliest publication held, listed on that date or before.
    """
    for entity, first, stated in zip(entities, first_seen, official, strict=True):
        entity.first_seen = first
        entity.absent_from = ""
        if entity.designation_date and entity.designation_date_basis == DateBasis.OFFICIAL:
            continue
        if stated:
            entity.designation_date = stated
            entity.designation_date_basis = DateBasis.OFFICIAL
            continue
        entity.designation_date = first
        if not first:
            entity.designation_date_basis = DateBasis.NONE
            continue
        earlier = [d for d in held if _date_before(d, first)]
        if earlier:
            entity.designation_date_basis = DateBasis.FIRST_SEEN
            entity.absent_from = earlier[-1]
        else:
            entity.designation_date_basis = DateBasis.NOT_LATER_THAN


def _text(value: object) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


def publication_version(pub: Publication) -> str:
    return f"{pub.publication_date}/{pub.sha256[:12]}"


def _date_before(a: str, b: str) -> bool:
    """ISO dates, partial ones included, order as strings ('2021-07' < '2021-07-05')."""
    return a < b
