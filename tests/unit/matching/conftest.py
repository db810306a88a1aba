"""Fixtures for matcher tests: an index over every shared list (built once per session)."""

from __future__ import annotations

import pytest

from screening.harness.evaluate import load_latest_entities
from screening.matching.matcher import MatchIndex
from screening.model.entities import Entity
from tests.conftest import LISTS_DIR


@pytest.fixture(scope="session")
def list_entities() -> list[Entity]:
    if not LISTS_DIR.is_dir():
        pytest.skip(f"shared lists not found at {LISTS_DIR}")
    return load_latest_entities(LISTS_DIR)


@pytest.fixture(scope="session")
def list_index(list_entities: list[Entity]) -> MatchIndex:
    return MatchIndex(list_entities)
