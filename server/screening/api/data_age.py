"""The data age every screening answer carries: the worker's view of how old each source's
data is (index/data_age_watch.py), as a DataAge message built once per view and source set."""

from __future__ import annotations

from screening.api import convert
from screening.index.data_age_watch import DataAges, DataAgeWatch
from screening.index.holder import LoadedIndex
from screening.v1 import screening_pb2 as pb

# Distinct (view, source set) messages kept; a view changes at most once a minute.
_KEPT = 256


class AnswerAges:
    def __init__(self, watch: DataAgeWatch) -> None:
        self.watch = watch
        self._built: dict[tuple[str, tuple[str, ...]], pb.DataAge] = {}

    def view(self, index: LoadedIndex) -> DataAges:
        return self.watch.current(index.manifest)

    def message(self, ages: DataAges, sources: list[str] | tuple[str, ...] = ()) -> pb.DataAge:
        """The DataAge of an answer on `sources` (empty: every source)."""
        key = (ages.stamp, tuple(sources))
        built = self._built.get(key)
        if built is None:
            if len(self._built) >= _KEPT:
                self._built.clear()
            built = self._built[key] = convert.data_age_pb(ages.of(sources))
        return built
