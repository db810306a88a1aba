"""Python's cyclic garbage collector, paused around work that makes hundreds of thousands
of objects and no cycle (a list file parsed, an ingest, an index built): the collections
their allocations trigger would walk them again and free nothing. Reference counting
still frees them."""

from __future__ import annotations

import contextlib
import gc
from collections.abc import Iterator


@contextlib.contextmanager
def collector_paused() -> Iterator[None]:
    """The collector off for the block (or the decorated function), then as the caller had
    it, failures included: pauses nest."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()
