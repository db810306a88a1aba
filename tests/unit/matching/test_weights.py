"""The weights module is the one source of the matcher's numbers."""

from __future__ import annotations

from screening.config import Settings
from screening.matching import weights


def test_service_default_threshold_is_the_one_the_weights_are_set_for():
    fields = Settings.model_fields
    assert fields["alert_threshold"].default == weights.ALERT_THRESHOLD
    assert fields["review_threshold"].default == weights.ALERT_THRESHOLD
