"""Index files shared between the hosts of one Redis: a host without the index of the
current snapshot (a new container, a replaced machine) fetches the file another host built,
in a fraction of a second, instead of building it for seconds (minutes at a million
entries).

Opt-in, with a secret that every host of the Redis is given (SCREENING_INDEX_SHARE_KEY). An
index file is a pickle, and reading a pickle can run code: a copy is written to the host's
index directory only if its HMAC under that key checks, so whoever can write to Redis but
lacks the key cannot make a host run code. The same key gives every host one str hash
seed (the index keys its lookups by hash(), index/files.py), derived from it and as private
as it; without a key each host draws its own and builds its own files.

In Redis (store/keys.py): per file a description (JSON: size, parts, HMAC, writer) and its
parts, and a sorted set of the files shared, of which the newest COPIES_KEPT stay.
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import json
import logging
import os
import secrets
import time
from pathlib import Path
from typing import Any, cast

import redis

from screening.store.connection import SyncRedis
from screening.store.keys import Keys

log = logging.getLogger(__name__)

# Parts of this size: far under Redis's largest string, and one part at a time in memory.
PART_BYTES = 16 << 20
# Copies kept in Redis: the current snapshot's and the one before (hosts still moving over).
COPIES_KEPT = 2
# A share's keys expire this long after they are written, until the copy is whole: a share
# cut short (its process stopped at shutdown, or killed) leaves nothing behind in Redis.
UNFINISHED_SECONDS = 600
SHARE_KEY_ENV = "SCREENING_INDEX_SHARE_KEY"


def shared_hash_seed(key: str) -> str:
    """The str hash seed (PYTHONHASHSEED) of every host given `key`: 1 to 2**32 - 1."""
    digest = hmac.new(key.encode(), b"screening str hash seed", hashlib.sha256).digest()
    return str(int.from_bytes(digest[:8], "big") % (2**32 - 1) + 1)


class IndexCopies:
    """The index files shared through one Redis, signed and checked with `key`."""

    def __init__(self, client: SyncRedis, prefix: str, key: str) -> None:
        assert key, "sharing index files needs a key"
        self.redis = client
        self.keys = Keys(prefix)
        self._key = key.encode()

    def _mac(self, name: str) -> hmac.HMAC:
        # The name is signed too: a copy cannot pass for another snapshot's or code's file.
        return hmac.new(self._key, name.encode() + b"\0", hashlib.sha256)

    def _meta(self, name: str) -> dict[str, Any] | None:
        raw = cast(bytes | None, self.redis.get(self.keys.index_copy(name)))
        if raw is None:
            return None
        meta = json.loads(raw)
        if not isinstance(meta, dict):
            raise ValueError("not an object")
        return meta

    def fetch(self, path: Path) -> bool:
        """Write the shared copy of the index file `path` (named by what it holds) into
        place, if Redis has one whose HMAC checks. False, and nothing written, otherwise."""
        name = path.name
        extra = {"file": name}
        tmp = path.with_name(f"{name}.{os.getpid()}.fetch.tmp")
        try:
            meta = self._meta(name)
            if meta is None:
                return False
            size, parts, writer = int(meta["size"]), int(meta["parts"]), str(meta["writer"])
            mac, written = self._mac(name), 0
            path.parent.mkdir(parents=True, exist_ok=True)
            with tmp.open("wb") as fh:
                for number in range(parts):
                    key = self.keys.index_copy_part(name, writer, number)
                    part = cast(bytes | None, self.redis.get(key))
                    if part is None or written + len(part) > size:
                        break  # pruned meanwhile; the check below fails
                    mac.update(part)
                    fh.write(part)
                    written += len(part)
            signed = str(meta["mac"]).encode()
            if written != size or not hmac.compare_digest(mac.hexdigest().encode(), signed):
                log.warning("shared index file rejected: its HMAC does not check", extra=extra)
                return False
            tmp.rename(path)
            return True
        except (redis.RedisError, OSError, KeyError, ValueError, TypeError) as exc:
            log.warning(
                "shared index file not fetched",
                extra={"file": name, "error": f"{type(exc).__name__}: {exc}"},
            )
            return False
        finally:
            with contextlib.suppress(OSError):
                tmp.unlink(missing_ok=True)

    def has(self, name: str) -> bool:
        try:
            return bool(self.redis.exists(self.keys.index_copy(name)))
        except redis.RedisError:
            return True  # nothing to gain by trying to share it now

    def share(self, path: Path) -> None:
        """Put the host's index file `path` in Redis for the other hosts (best effort: a
        host that cannot share it still has it)."""
        name = path.name
        # Parts under a name of this writer's: two hosts sharing the same file at once
        # never mix their parts, and the one whose description lands first is the copy.
        writer = secrets.token_hex(8)
        try:
            mac, size, parts = self._mac(name), 0, 0
            with path.open("rb") as fh:
                while part := fh.read(PART_BYTES):
                    key = self.keys.index_copy_part(name, writer, parts)
                    self.redis.set(key, part, ex=UNFINISHED_SECONDS)
                    mac.update(part)
                    size += len(part)
                    parts += 1
            # The description last, and only if there is none: a reader sees it once every
            # part is there.
            meta = {"size": size, "parts": parts, "mac": mac.hexdigest(), "writer": writer}
            description = self.keys.index_copy(name)
            if not self.redis.set(description, json.dumps(meta), nx=True, ex=UNFINISHED_SECONDS):
                self._delete_parts(name, writer, parts)
                return
            # Kept for good: the parts, then the description (each key alone, as a Cluster
            # spreads them). A part already expired leaves the whole copy to expire.
            for number in range(parts):
                if not self.redis.persist(self.keys.index_copy_part(name, writer, number)):
                    error = f"part {number} expired before the copy was whole"
                    log.warning("index file not shared", extra={"file": name, "error": error})
                    return
            self.redis.persist(description)
            self.redis.zadd(self.keys.index_copies, {name: time.time()})
            self._prune()
        except (redis.RedisError, OSError) as exc:
            log.warning(
                "index file not shared",
                extra={"file": name, "error": f"{type(exc).__name__}: {exc}"},
            )
            return
        log.info("index file shared", extra={"file": name, "bytes": size})

    def _delete_parts(self, name: str, writer: str, parts: int) -> None:
        for number in range(parts):
            self.redis.delete(self.keys.index_copy_part(name, writer, number))

    def _prune(self) -> None:
        old = cast(list[bytes], self.redis.zrange(self.keys.index_copies, 0, -COPIES_KEPT - 1))
        for raw in old:
            name = raw.decode()
            try:
                meta = self._meta(name) or {}
                writer, parts = str(meta.get("writer", "")), int(meta.get("parts", 0))
            except (ValueError, TypeError):
                writer, parts = "", 0
            # The description first: no reader starts on a copy whose parts are going.
            self.redis.delete(self.keys.index_copy(name))
            self._delete_parts(name, writer, parts)
            self.redis.zrem(self.keys.index_copies, name)
