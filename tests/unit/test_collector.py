"""The garbage collector's pause (collector.py): off for the block, then as the caller had
it, a failure or a nested pause included."""

from __future__ import annotations

import gc

import pytest

from screening.collector import collector_paused


def test_the_collector_is_off_in_the_block_and_back_after_a_failure():
    assert gc.isenabled()
    with pytest.raises(ValueError), collector_paused():
        assert not gc.isenabled()
        raise ValueError("the block failed")
    assert gc.isenabled()


def test_a_nested_pause_leaves_the_outer_one_in_force():
    with collector_paused():
        with collector_paused():
            assert not gc.isenabled()
        assert not gc.isenabled()
    assert gc.isenabled()
