"""The benchmark's reading of how h2load's requests arrived (tests/load/bench.py)."""

from __future__ import annotations

import random

from tests.load.loadgen import arrival_pattern


def test_bursts_of_every_connection_every_10_ms() -> None:
    # 8 connections x 4 requests fired together every 10 ms, spread over 0.6 ms each time
    rng = random.Random(7)
    starts = [tick * 10_000 + rng.randint(0, 600) for tick in range(200) for _ in range(32)]
    size, _, gap = arrival_pattern(starts).partition(" at once, ")
    assert size == "32"
    assert 9.0 <= float(gap.removesuffix(" ms apart")) <= 10.0


def test_evenly_spaced_requests_arrive_one_at_a_time() -> None:
    starts = [n * 2_000 for n in range(500)]  # one every 2 ms
    assert arrival_pattern(starts) == "1 at once, 2.0 ms apart"


def test_too_few_requests_to_say() -> None:
    assert arrival_pattern([]) == ""
    assert arrival_pattern([5]) == ""
