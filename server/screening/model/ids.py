"""Screening ids: time-ordered and unique across replicas, cheap to make."""

from __future__ import annotations

import random
import secrets
import time

# Ids need uniqueness, not secrecy: a generator seeded from the OS once per process costs
# a fraction of a system call per id (workers are spawned, so each has its own seed).
_ID_RANDOM = random.Random(secrets.randbits(128))


def new_screening_id() -> str:
    """Time-ordered and unique across replicas: 12 hex digits of milliseconds, 16 random."""
    return f"{int(time.time() * 1000):012x}{_ID_RANDOM.getrandbits(64):016x}"
