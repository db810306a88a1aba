"""docs/architecture.md matches the tree: every package and module it names exists."""

from __future__ import annotations

import re

from tests.conftest import ROOT

PACKAGE = ROOT / "server" / "screening"


def test_every_package_and_module_named_in_the_architecture_exists():
    text = (ROOT / "docs" / "architecture.md").read_text()
    named = set(re.findall(r"`([a-z0-9_/]+(?:/|\.py))`", text))
    assert named, "the architecture names no package"
    missing = []
    for path in sorted(named):
        where = [PACKAGE / path, ROOT / path, *(p / path for p in PACKAGE.iterdir() if p.is_dir())]
        if not any(w.exists() for w in where):
            missing.append(path)
    assert missing == []


def test_the_architecture_names_every_package():
    text = (ROOT / "docs" / "architecture.md").read_text()
    packages = {p.name for p in PACKAGE.iterdir() if (p / "__init__.py").exists()}
    assert {p for p in packages if f"`{p}/`" not in text} == set()
