"""What the handlers work with, built once per worker by runtime/wiring.py and never
changed after: the index, the stores, the casework, and the settings as plain values."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field

from screening.api.cache import ResultCache
from screening.api.data_age import AnswerAges
from screening.api.repeat import KnownAnswer
from screening.api.validation import Limits
from screening.api.workload import Workload
from screening.casework.settle import Casework
from screening.casework.watching import AlertFeed
from screening.index.holder import IndexHolder, LoadedIndex
from screening.model.errors import NotReady
from screening.risk.party import PartyThresholds
from screening.risk.policy import PolicyHolder
from screening.store.snapshots import ListStore


@dataclass(frozen=True)
class Deps:
    holder: IndexHolder
    store: ListStore
    casework: Casework
    # How old the data behind each answer is (every answer says).
    ages: AnswerAges
    policies: PolicyHolder
    limits: Limits
    thresholds: PartyThresholds
    # Default min_score: every match returned is an alert.
    alert_threshold: float
    max_results: int
    max_stream_items: int
    accept_max_days: int
    cache: ResultCache[KnownAnswer] | None = None
    # The code and settings that shape an answer (part of its cache key): replicas running
    # other code or configured differently never share answers.
    answer_settings: tuple[object, ...] = ()
    # Set when the worker stops: open WatchAlerts streams end.
    stopping: asyncio.Event = field(default_factory=asyncio.Event)
    # The worker's one reader of the alert stream, for every WatchAlerts stream.
    alert_feed: AlertFeed | None = None
    # Where and within what budget a call's matching runs.
    workload: Workload = field(default_factory=lambda: Workload(0.75, 256, 8))

    def index(self) -> LoadedIndex:
        index = self.holder.current
        if index is None:
            raise NotReady("no list data loaded yet")
        return index
