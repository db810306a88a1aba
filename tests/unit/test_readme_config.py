"""Every setting is documented with the default the code has: the common ones in the README's
configuration table, the rest in docs/operations.md ("All settings")."""

from __future__ import annotations

import re

from screening.config import Settings
from tests.conftest import ROOT


def _table() -> dict[str, str]:
    rows = {}
    text = (ROOT / "README.md").read_text() + (ROOT / "docs" / "operations.md").read_text()
    for line in text.splitlines():
        match = re.match(r"\| `(SCREENING_[A-Z0-9_]+)`[^|]*\| ([^|]*)\|", line)
        if match:
            rows[match.group(1)] = match.group(2).strip().strip("`")
    return rows


def test_every_setting_is_documented_with_its_default():
    table = _table()
    missing = [f"SCREENING_{n.upper()}" for n in Settings.model_fields]
    missing = [name for name in missing if name not in table]
    assert not missing, f"settings missing from the README and docs/operations.md tables: {missing}"
    for name, field in Settings.model_fields.items():
        default = field.default
        if isinstance(default, bool | int | float) and not isinstance(default, bool):
            documented = table[f"SCREENING_{name.upper()}"]
            assert float(documented) == float(default), (name, documented, default)
