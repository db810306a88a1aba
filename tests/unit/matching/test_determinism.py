"""Scores must not depend on the process (workers have different string hash seeds)."""

from __future__ import annotations

import os
import subprocess
import sys

SCRIPT = r"""
from screening.matching.matcher import MatchIndex
from screening.matching.types import Query
from screening.model.entities import Entity, EntityType
names = ["MOHAMMAD ALI HASSAN", "MUHAMAD ALY HASAN", "MOHAMED ALI HASSAN AL-SAYED",
         "ALI HASAN MOHAMMED", "KIM JONG UN", "GOLDEN DRAGON TRADING LTD", "YURIY PETROV",
         "IOURI PETROFF", "ABU BAKR AL-BAGHDADI", "HASSAN ALI"]
idx = MatchIndex([Entity(id=f"t:{i}", source="t", source_ref=str(i),
                         entity_type=EntityType.PERSON, name=n) for i, n in enumerate(names)])
for q in ["Mohamad Aly Hasan", "Yuri Petrov", "Abu Bakr Baghdadi", "Muhammed Hassan Ali"]:
    print([(m.entity.id, m.score) for m in idx.screen(Query([q]), min_score=0.3)])
"""


def run(seed: str) -> str:
    env = {**os.environ, "PYTHONHASHSEED": seed}
    return subprocess.run(
        [sys.executable, "-c", SCRIPT], env=env, capture_output=True, text=True, check=True
    ).stdout


def test_same_scores_under_different_hash_seeds():
    outputs = {run(seed) for seed in ("1", "2", "3", "4")}
    assert len(outputs) == 1, outputs
    assert "t:" in next(iter(outputs))
