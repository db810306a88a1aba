"""Index files shared between hosts through a real Redis (index/shared.py): a copy is
fetched only whole and only if its HMAC under the hosts' key checks, so that a Redis write
alone can never put a file of its choosing (a pickle) on a host; the newest copies are kept;
a host whose builder finds a copy fetches it instead of building."""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
from pathlib import Path

import pytest

from screening.index import shared as shared_module
from screening.index.shared import COPIES_KEPT, IndexCopies, shared_hash_seed
from screening.sources.ingest import ingest_directory
from screening.store.connection import connect
from screening.store.keys import Keys
from screening.store.snapshots import ListStore
from tests.integration.test_store import lists_subset

KEY = "a secret every host is given"


@pytest.fixture
def small_parts(monkeypatch: pytest.MonkeyPatch) -> int:
    monkeypatch.setattr(shared_module, "PART_BYTES", 1000)
    return 1000


def random_file(directory: Path, name: str, size: int = 4500) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / name
    path.write_bytes(os.urandom(size))
    return path


def test_a_shared_file_is_fetched_whole_on_another_host(
    redis_server, prefix, tmp_path, small_parts
):
    client = connect(redis_server.url)
    built = random_file(tmp_path / "host-a", "abc-123.idx")
    IndexCopies(client, prefix, KEY).share(built)
    # 4,500 bytes in parts of 1,000
    assert copy_description(client, prefix, built.name)["parts"] == 5

    fetched = tmp_path / "host-b" / built.name
    assert IndexCopies(client, prefix, KEY).fetch(fetched)
    assert fetched.read_bytes() == built.read_bytes()
    assert [p.name for p in fetched.parent.iterdir()] == [built.name]  # no temporary left


def test_a_copy_is_refused_without_the_key_it_was_signed_with(
    redis_server, prefix, tmp_path, small_parts, caplog
):
    client = connect(redis_server.url)
    built = random_file(tmp_path / "host-a", "abc-123.idx")
    IndexCopies(client, prefix, KEY).share(built)

    fetched = tmp_path / "host-b" / built.name
    with caplog.at_level(logging.WARNING, logger="screening.index.shared"):
        assert not IndexCopies(client, prefix, "another key").fetch(fetched)
    assert not fetched.exists() and not list(fetched.parent.iterdir())
    assert "shared index file rejected: its HMAC does not check" in caplog.messages


@pytest.mark.parametrize("damage", ["changed part", "missing part", "other name", "bad size"])
def test_a_copy_changed_in_redis_is_refused(redis_server, prefix, tmp_path, small_parts, damage):
    client, keys = connect(redis_server.url), Keys(prefix)
    built = random_file(tmp_path / "host-a", "abc-123.idx")
    IndexCopies(client, prefix, KEY).share(built)
    target, meta = built.name, copy_description(client, prefix, built.name)
    writer = meta["writer"]
    if damage == "changed part":
        client.setrange(keys.index_copy_part(built.name, writer, 2), 10, b"pickle of my own")
    elif damage == "missing part":
        client.delete(keys.index_copy_part(built.name, writer, 4))
    elif damage == "other name":
        # Every part and the HMAC copied under another file's name: a copy cannot pass for
        # another snapshot's (or another code's) index.
        target = "def-456.idx"
        for number in range(5):
            part = client.get(keys.index_copy_part(built.name, writer, number))
            client.set(keys.index_copy_part(target, writer, number), part)
        client.set(keys.index_copy(target), json.dumps(meta))
    else:
        client.set(keys.index_copy(built.name), json.dumps({**meta, "size": "not a number"}))

    fetched = tmp_path / "host-b" / target
    assert not IndexCopies(client, prefix, KEY).fetch(fetched)
    assert not fetched.exists()


def test_no_copy_fetches_nothing(redis_server, prefix, tmp_path):
    copies = IndexCopies(connect(redis_server.url), prefix, KEY)
    assert not copies.has("none.idx")
    assert not copies.fetch(tmp_path / "none.idx")
    assert not (tmp_path / "none.idx").exists()


def test_the_newest_copies_are_kept(redis_server, prefix, tmp_path, small_parts):
    client, keys = connect(redis_server.url), Keys(prefix)
    copies = IndexCopies(client, prefix, KEY)
    names = [f"snapshot{n}-code.idx" for n in range(COPIES_KEPT + 2)]
    for name in names:
        copies.share(random_file(tmp_path / "host-a", name, size=2500))
    kept = names[-COPIES_KEPT:]
    assert [n.decode() for n in client.zrange(keys.index_copies, 0, -1)] == kept
    for name in names:
        assert copies.has(name) == (name in kept)
        parts = [k for k in client.scan_iter(f"{keys.index_copy(name)}:*")]
        assert len(parts) == (3 if name in kept else 0)  # 2,500 bytes in parts of 1,000


def test_of_two_hosts_sharing_one_file_the_first_copy_stays(
    redis_server, prefix, tmp_path, small_parts
):
    # Two hosts that built the same file (not always byte for byte) share it at once: the
    # copy is one writer's whole, never a mix of both, and the other's parts are removed.
    client, keys = connect(redis_server.url), Keys(prefix)
    first = random_file(tmp_path / "host-a", "abc-123.idx")
    second = random_file(tmp_path / "host-b", "abc-123.idx")
    IndexCopies(client, prefix, KEY).share(first)
    IndexCopies(client, prefix, KEY).share(second)
    assert len(list(client.scan_iter(f"{keys.index_copy(first.name)}:*"))) == 5

    fetched = tmp_path / "host-c" / first.name
    assert IndexCopies(client, prefix, KEY).fetch(fetched)
    assert fetched.read_bytes() == first.read_bytes()


def test_a_share_cut_short_leaves_nothing_behind_for_long(
    redis_server, prefix, tmp_path, small_parts, monkeypatch
):
    # The process stops (shutdown, a kill) before the copy is kept for good: every key of
    # it expires; a share that finishes keeps them all.
    client, keys = connect(redis_server.url), Keys(prefix)
    cut_short = random_file(tmp_path / "host-a", "abc-123.idx")

    def stopped(*args: object) -> bool:
        raise SystemExit("stopped mid-share")

    with monkeypatch.context() as patched, pytest.raises(SystemExit):
        patched.setattr(client, "persist", stopped)
        IndexCopies(client, prefix, KEY).share(cut_short)
    written = [keys.index_copy(cut_short.name)]
    written += client.scan_iter(f"{keys.index_copy(cut_short.name)}:*")
    assert len(written) == 6  # the description and 5 parts
    assert all(0 < client.ttl(key) <= shared_module.UNFINISHED_SECONDS for key in written)

    whole = random_file(tmp_path / "host-b", "abc-456.idx")
    IndexCopies(client, prefix, KEY).share(whole)
    kept = [keys.index_copy(whole.name), *client.scan_iter(f"{keys.index_copy(whole.name)}:*")]
    assert len(kept) == 6 and all(client.ttl(key) == -1 for key in kept)
    fetched = tmp_path / "host-c" / whole.name
    assert IndexCopies(client, prefix, KEY).fetch(fetched)
    assert fetched.read_bytes() == whole.read_bytes()


def copy_description(client, prefix: str, name: str) -> dict:
    return json.loads(client.get(Keys(prefix).index_copy(name)))


def test_the_hosts_of_one_key_share_one_hash_seed():
    seed = shared_hash_seed(KEY)
    assert seed == shared_hash_seed(KEY) and 1 <= int(seed) < 2**32
    assert len({shared_hash_seed(f"key {n}") for n in range(20)}) == 20


# A worker's holder of the index on a host of its own (an index directory of its own),
# with its builder process, as under the supervisor (the same str hash seed everywhere).
HOST = """
import asyncio, json, sys
from pathlib import Path
from screening.index.files import IndexFiles
from screening.index.holder import IndexHolder
from screening.store.connection import connect
from screening.store.snapshots import ListStore

url, prefix, directory, key = sys.argv[1:]
store = ListStore(connect(url), prefix)
files = IndexFiles(Path(directory))
holder = IndexHolder(store, files=files, redis_url=url, share_key=key)
asyncio.run(asyncio.wait_for(holder.refresh(), 120))
print(json.dumps({"entities": len(holder.current.entities) if holder.current else 0}))
"""


def _host(redis_url: str, prefix: str, directory: Path, key: str) -> tuple[int, str]:
    result = subprocess.run(
        [sys.executable, "-c", HOST, redis_url, prefix, str(directory), key],
        env={**os.environ, "PYTHONHASHSEED": shared_hash_seed(KEY)},
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    return json.loads(result.stdout.strip().splitlines()[-1])["entities"], result.stderr


def test_a_host_fetches_the_index_another_host_built(redis_server, prefix, lists_dir, tmp_path):
    lists = lists_subset(tmp_path, lists_dir, "ofac/sdn_2024-02-20.csv")
    manifest = ingest_directory(ListStore(connect(redis_server.url), prefix), lists).manifest
    assert manifest is not None

    first, log_a = _host(redis_server.url, prefix, tmp_path / "host-a", KEY)
    assert "index file built" in log_a and "index file shared" in log_a, log_a[-2000:]

    second, log_b = _host(redis_server.url, prefix, tmp_path / "host-b", KEY)
    assert "index file fetched from redis" in log_b, log_b[-2000:]
    assert "index file built" not in log_b and "index file shared" not in log_b
    assert second == first > 10_000
    (a,) = (tmp_path / "host-a").glob("*.idx")
    (b,) = (tmp_path / "host-b").glob("*.idx")
    assert a.name == b.name and a.read_bytes() == b.read_bytes()

    # A host given another key refuses the copy (its HMAC does not check) and builds its own.
    third, log_c = _host(redis_server.url, prefix, tmp_path / "host-c", "another key")
    assert "shared index file rejected: its HMAC does not check" in log_c, log_c[-2000:]
    assert "index file built" in log_c and third == first
