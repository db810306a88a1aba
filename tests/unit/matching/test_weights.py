"""The weights module is the one source of the matcher's numbers, and the table in
docs/matching.md shows exactly them."""

from __future__ import annotations

import re
from pathlib import Path

from screening.config import Settings
from screening.matching import weights

DOC = Path(__file__).resolve().parents[3] / "docs" / "matching.md"
ROW = re.compile(r"^\| `([A-Z_]+)(?:\[\"([a-z_]+)\"\])?` \| ([-0-9.]+) \|")


def code_weights() -> dict[str, float]:
    out: dict[str, float] = {}
    for name in dir(weights):
        value = getattr(weights, name)
        if not name.isupper():
            continue
        if isinstance(value, dict):
            out.update({f'{name}["{key}"]': float(v) for key, v in value.items()})
        else:
            out[name] = float(value)
    return out


def documented_weights() -> dict[str, float]:
    out: dict[str, float] = {}
    for line in DOC.read_text().splitlines():
        match = ROW.match(line)
        if match:
            name, key, value = match.groups()
            out[f'{name}["{key}"]' if key else name] = float(value)
    return out


def test_documented_weight_table_equals_the_code():
    assert documented_weights() == code_weights()


def test_service_default_threshold_is_the_one_the_weights_are_set_for():
    fields = Settings.model_fields
    assert fields["alert_threshold"].default == weights.ALERT_THRESHOLD
    assert fields["review_threshold"].default == weights.ALERT_THRESHOLD
