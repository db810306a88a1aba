"""The accept-list: counterparty / list-entry pairs an analyst cleared as false positives.

An acceptance names the counterparty by a key (a hash of its identifying data, see
`counterparty_key`), the list entry by its id and by a fingerprint of the entry's content
at the time, who accepted it, why, and until when. It applies to a screening of a party with
the same key while it is active, unexpired, and the entry's content still has that
fingerprint: a publication that changes or removes the entry voids it (screenings stop
honouring it at once; the data-change sweep also records it as voided).

Storage: a Redis hash `{prefix}:accept` (id -> JSON) and a change counter
`{prefix}:accept:version`. Every worker keeps the active acceptances in memory and re-reads
them when the counter moves (checked every second), so screening never waits on Redis.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import hashlib
import logging
import secrets
import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

import msgspec
import redis

from screening.model.entities import Entity
from screening.model.identifiers import imo_number
from screening.store.connection import AsyncRedis
from screening.store.keys import Keys

log = logging.getLogger(__name__)

ACTIVE, REVOKED, VOIDED, EXPIRED = "active", "revoked", "voided", "expired"

# Move an acceptance out of "active" (revoke or void), unless it is no longer active.
SET_STATUS_SCRIPT = """
local raw = redis.call('HGET', KEYS[1], ARGV[1])
if not raw then return false end
local a = cjson.decode(raw)
if a.status ~= nil and a.status ~= 'active' then return {0, raw} end
a.status = ARGV[2]
a.status_reason = ARGV[3]
a.status_changed_at = ARGV[4]
a.status_changed_by = ARGV[5]
local out = cjson.encode(a)
redis.call('HSET', KEYS[1], ARGV[1], out)
redis.call('INCR', KEYS[2])
return {1, out}
"""


class Acceptance(msgspec.Struct, kw_only=True, omit_defaults=True):
    acceptance_id: str
    counterparty_key: str
    entity_id: str
    entity_name: str
    entity_fingerprint: str
    data_version: str
    analyst: str
    client: str
    reason: str
    accepted_at: str
    expires_at: str
    # The counterparty as accepted: the serialized protobuf Party, hex.
    party: str
    status: str = ACTIVE
    status_reason: str = ""
    status_changed_at: str = ""
    status_changed_by: str = ""

    def state(self, now: dt.datetime) -> str:
        if self.status == ACTIVE and dt.datetime.fromisoformat(self.expires_at) <= now:
            return EXPIRED
        return self.status


_DECODER = msgspec.json.Decoder(Acceptance)


def _fold(text: str) -> str:
    return " ".join(unicodedata.normalize("NFKC", text).casefold().split())


def counterparty_key(
    names: Iterable[str],
    entity_type: str,
    birth_date: str,
    country: str,
    identifiers: Iterable[tuple[str, str]],
) -> str:
    """A counterparty's identity for the accept-list and monitoring: its first name, its
    other names as a set, its type, birth date, country and identifiers, case- and
    space-folded. Role, references and address are left out (one counterparty, many
    shipments); any other change makes it another counterparty, to be cleared again."""
    folded = [_fold(n) for n in names if n.strip()]
    ids = sorted(
        {(t.strip().lower(), "".join(c for c in v.upper() if c.isalnum())) for t, v in identifiers}
    )
    payload = msgspec.json.encode(
        [
            folded[:1],
            sorted(set(folded[1:])),
            entity_type,
            birth_date.strip(),
            country.strip().upper(),
            ids,
        ]
    )
    return hashlib.sha256(payload).hexdigest()[:32]


@dataclass(frozen=True, slots=True)
class Counterparty:
    """A party as the accept-list and monitoring know it: the fields its key is made of,
    as the request gave them (`entity_type` is the kind's name, e.g. "vessel")."""

    names: tuple[str, ...]
    entity_type: str
    birth_date: str
    country: str
    identifiers: tuple[tuple[str, str], ...]


def party_key(party: Counterparty) -> str:
    """The counterparty key of a party (accept-list and monitoring). IMO numbers count by
    their seven digits, however they were written."""
    identifiers = [
        (scheme, (imo_number(value) or value) if scheme.strip().lower() == "imo" else value)
        for scheme, value in party.identifiers
    ]
    return counterparty_key(
        party.names, party.entity_type, party.birth_date, party.country, identifiers
    )


def entity_fingerprint(entity: Entity) -> str:
    return hashlib.sha256(entity.fingerprint()).hexdigest()[:32]


def now_utc() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def new_acceptance_id() -> str:
    return f"acc-{int(now_utc().timestamp() * 1000):012x}{secrets.token_hex(6)}"


class AcceptStore:
    """The accept-list in Redis."""

    def __init__(self, client: AsyncRedis, keys: Keys) -> None:
        self.redis = client
        self.hash = f"{keys.tag}:accept"
        self.version_key = f"{keys.tag}:accept:version"
        self._set_status = client.register_script(SET_STATUS_SCRIPT)

    async def add(self, acceptance: Acceptance) -> None:
        pipe = self.redis.pipeline(transaction=True)
        pipe.hset(self.hash, acceptance.acceptance_id, msgspec.json.encode(acceptance))
        pipe.incr(self.version_key)
        await pipe.execute()

    async def get(self, acceptance_id: str) -> Acceptance | None:
        raw = await self.redis.hget(self.hash, acceptance_id)
        return _DECODER.decode(raw) if raw else None

    async def all(self) -> list[Acceptance]:
        raw = await self.redis.hgetall(self.hash)
        out = []
        for value in raw.values():
            try:
                out.append(_DECODER.decode(value))
            except msgspec.DecodeError:
                log.error("unreadable acceptance in Redis; ignored")
        return out

    async def version(self) -> int:
        return int(await self.redis.get(self.version_key) or 0)

    async def set_status(
        self, acceptance_id: str, status: str, reason: str, by: str
    ) -> tuple[bool, Acceptance | None]:
        """(changed, acceptance as it now stands); (False, None) when there is no such id."""
        result = await self._set_status(
            keys=[self.hash, self.version_key],
            args=[acceptance_id, status, reason, now_utc().isoformat(), by],
        )
        if not result:
            return False, None
        changed, raw = result
        return bool(int(changed)), _DECODER.decode(raw)


@dataclass
class _Entry:
    acceptance: Acceptance
    expires: dt.datetime


class AcceptCache:
    """One worker's copy of the active acceptances."""

    def __init__(self, store: AcceptStore) -> None:
        self.store = store
        self.version = -1
        self.by_pair: dict[tuple[str, str], _Entry] = {}
        self.entity_ids: frozenset[str] = frozenset()
        self._fingerprints: dict[tuple[str, str], str] = {}
        self._voiding: set[str] = set()
        self._tasks: set[asyncio.Task[None]] = set()

    def load(self, acceptances: Iterable[Acceptance], version: int) -> None:
        now = now_utc()
        by_pair: dict[tuple[str, str], _Entry] = {}
        for a in acceptances:
            if a.state(now) != ACTIVE:
                continue
            entry = _Entry(a, dt.datetime.fromisoformat(a.expires_at))
            pair = (a.counterparty_key, a.entity_id)
            held = by_pair.get(pair)
            if held is None or entry.expires > held.expires:
                by_pair[pair] = entry
        self.by_pair = by_pair
        self.entity_ids = frozenset(e for _, e in by_pair)
        self.version = version

    def add_local(self, acceptance: Acceptance) -> None:
        """This worker's own change, in force here at once."""
        entry = _Entry(acceptance, dt.datetime.fromisoformat(acceptance.expires_at))
        self.by_pair[(acceptance.counterparty_key, acceptance.entity_id)] = entry
        self.entity_ids = self.entity_ids | {acceptance.entity_id}

    def remove_local(self, acceptance: Acceptance) -> None:
        pair = (acceptance.counterparty_key, acceptance.entity_id)
        held = self.by_pair.get(pair)
        if held is not None and held.acceptance.acceptance_id == acceptance.acceptance_id:
            del self.by_pair[pair]

    def find(self, key: str, entity: Entity, data_version: str) -> Acceptance | None:
        """The acceptance in force for this counterparty and entry, if any."""
        entry = self.by_pair.get((key, entity.id))
        if entry is None or entry.expires <= now_utc():
            return None
        fingerprint = self._fingerprint(entity, data_version)
        if fingerprint != entry.acceptance.entity_fingerprint:
            self._void_later(entry.acceptance, data_version)
            return None
        return entry.acceptance

    def _fingerprint(self, entity: Entity, data_version: str) -> str:
        cache_key = (data_version, entity.id)
        value = self._fingerprints.get(cache_key)
        if value is None:
            if len(self._fingerprints) > 10_000:
                self._fingerprints.clear()
            value = self._fingerprints[cache_key] = entity_fingerprint(entity)
        return value

    def _void_later(self, acceptance: Acceptance, data_version: str) -> None:
        if acceptance.acceptance_id in self._voiding:
            return
        self._voiding.add(acceptance.acceptance_id)
        with contextlib.suppress(RuntimeError):  # no running loop: the sweep records it
            task = asyncio.get_running_loop().create_task(
                self._void(acceptance, f"list entry changed (data version {data_version})")
            )
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    async def _void(self, acceptance: Acceptance, reason: str) -> None:
        try:
            await self.store.set_status(acceptance.acceptance_id, VOIDED, reason, "list update")
            log.info(
                "acceptance voided: list entry changed",
                extra={
                    "acceptance_id": acceptance.acceptance_id,
                    "entity_id": acceptance.entity_id,
                },
            )
        except (redis.RedisError, OSError):
            self._voiding.discard(acceptance.acceptance_id)  # tried again next time

    async def follow(self, every: float, stop: asyncio.Event) -> None:
        """Re-read the accept-list whenever its change counter moves."""
        warned = False
        while not stop.is_set():
            try:
                version = await self.store.version()
                if version != self.version:
                    self.load(await self.store.all(), version)
                warned = False
            except (redis.RedisError, OSError) as exc:
                if not warned:
                    log.warning(
                        "accept-list not re-read; the last one read stays in force",
                        extra={"error": str(exc)},
                    )
                    warned = True
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=every)


async def sweep(store: AcceptStore, entities: Mapping[str, Entity], data_version: str) -> int:
    """Record as voided every active acceptance whose entry a publication changed or removed;
    returns how many (run once per data version, by the monitoring job)."""
    voided = 0
    now = now_utc()
    for acceptance in await store.all():
        if acceptance.state(now) != ACTIVE:
            continue
        entity = entities.get(acceptance.entity_id)
        if entity is None:
            reason = f"list entry removed (data version {data_version})"
        elif entity_fingerprint(entity) != acceptance.entity_fingerprint:
            reason = f"list entry changed (data version {data_version})"
        else:
            continue
        changed, _ = await store.set_status(acceptance.acceptance_id, VOIDED, reason, "list update")
        voided += int(changed)
    return voided
