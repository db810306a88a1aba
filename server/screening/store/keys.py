"""Redis key layout. Every key carries the `{prefix}` hash tag, so on Redis Cluster all list
data lives in one slot and a snapshot can be read and switched atomically."""

from __future__ import annotations


class Keys:
    def __init__(self, prefix: str = "screening") -> None:
        self.tag = "{" + prefix + "}"

    # Content-addressed entity blobs (one per source publication), shared by snapshots.
    def blob(self, sha: str) -> str:
        return f"{self.tag}:blob:{sha}"

    # Snapshot manifest: JSON with per-source status and blob references.
    def snapshot(self, version: str) -> str:
        return f"{self.tag}:snapshot:{version}"

    @property
    def current(self) -> str:
        return f"{self.tag}:current"

    @property
    def history(self) -> str:
        """List of snapshot versions, newest first."""
        return f"{self.tag}:snapshots"

    @property
    def reload_channel(self) -> str:
        return f"{self.tag}:reload"

    def first_seen(self, source: str) -> str:
        """Hash source_ref -> ISO date of the first publication that held the entry."""
        return f"{self.tag}:first_seen:{source}"

    def held(self, source: str) -> str:
        """Hash publication date -> sha256 of every publication of a source ingested so far
        (live, superseded or history): which publications an entry could be missing from."""
        return f"{self.tag}:held:{source}"

    def applied(self, source: str) -> str:
        """Hash publication sha256 -> JSON of when it was applied (dedupes re-ingests)."""
        return f"{self.tag}:applied:{source}"

    def changes(self, source: str) -> str:
        """List of change reports (JSON), newest first."""
        return f"{self.tag}:changes:{source}"

    def official_dates(self, source: str) -> str:
        """Hash source_ref -> official designation date stated by any publication so far."""
        return f"{self.tag}:official_dates:{source}"

    def refresh_status(self, source: str) -> str:
        """Hash: last refresh attempt, outcome, error, and per-URL validators and hashes."""
        return f"{self.tag}:refresh:{source}"

    def result(self, data_version: str, digest: str) -> str:
        """A cached screening result. Without the hash tag, on purpose: results spread over
        a Cluster's slots instead of crowding the list data's."""
        return f"{self.tag[1:-1]}:result:{data_version}:{digest}"

    def index_copy(self, name: str) -> str:
        """JSON: size, parts, HMAC and writer of a host's index file shared through Redis
        (index/shared.py). Without the hash tag, as results: tens of megabytes that need
        not crowd the list data's slot."""
        return f"{self.tag[1:-1]}:index-copy:{name}"

    def index_copy_part(self, name: str, writer: str, number: int) -> str:
        return f"{self.tag[1:-1]}:index-copy:{name}:{writer}:{number}"

    @property
    def index_copies(self) -> str:
        """Sorted set of the shared index files' names, by when each was shared."""
        return f"{self.tag[1:-1]}:index-copies"

    @property
    def refresh_last_run(self) -> str:
        """When any replica last ran a scheduled refresh (replicas share one schedule)."""
        return f"{self.tag}:refresh:last_run"

    @property
    def ingest_lock(self) -> str:
        return f"{self.tag}:lock:ingest"
