"""The shipment policy: the shipped file, validation of bad files, reload keeping the old one."""

from __future__ import annotations

import os
import re
import time
from pathlib import Path

import pytest

from screening.risk.findings import RULE_CODES, Severity
from screening.risk.policy import (
    DEFAULT_POLICY_PATH,
    PolicyError,
    PolicyHolder,
    load_chpl,
    load_policy,
)

SHIPPED = DEFAULT_POLICY_PATH.read_text(encoding="utf-8")


def write(tmp_path: Path, text: str, name: str = "policy.toml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def with_version(version: str) -> str:
    return re.sub(r'(?m)^version = ".*"$', f'version = "{version}"', SHIPPED)


def test_shipped_policy_is_valid_and_complete():
    policy = load_policy()
    assert policy.version
    assert set(policy.spec.rules) == RULE_CODES
    assert len(policy.chpl) == 50
    assert policy.chpl["854231"] == "TIER_1"
    assert "853710" not in policy.chpl
    assert policy.embargoed == {"CU", "IR", "KP", "SY"}
    assert policy.restricted == {"RU", "BY"}
    for country in ("AM", "GE", "KZ", "KG", "UZ", "TJ", "TR", "AE", "CN", "HK", "IN", "RS"):
        assert country in policy.diversion
    assert policy.tier_severity("TIER_1") == Severity.CRITICAL
    assert policy.match_severity("ofac-sdn", 0.99) == Severity.CRITICAL
    assert policy.match_severity("anything", 0.85) == Severity.HIGH
    assert policy.match_severity("ofac-sdn", 0.79) is None


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (lambda s: s.replace("[decision]", "[decision"), "not valid TOML"),
        (
            lambda s: s.replace('EMBARGOED_TRANSIT = "high"', 'EMBARGOED_TRANSIT = "severe"'),
            "rules.EMBARGOED_TRANSIT",
        ),
        (
            lambda s: s.replace(
                'countries = ["CU", "IR", "KP", "SY"]', 'countries = ["CU", "IRN", "KP", "SY"]'
            ),
            "embargo.countries.1: Value error, 'IRN' is not an ISO 3166 alpha-2",
        ),
        (
            lambda s: s.replace('OCCUPIED_REGION = "critical"\n', ""),
            "missing codes ['OCCUPIED_REGION']",
        ),
        (
            lambda s: s.replace(
                'OCCUPIED_REGION = "critical"', 'OCCUPIED_REGION = "critical"\nNEW = "low"'
            ),
            "unknown codes ['NEW']",
        ),
        (
            lambda s: s.replace("review_score = 30", "review_score = 99"),
            "review_score must not exceed block_score",
        ),
        (lambda s: s.replace("max_goods = 500", "max_goodz = 500"), "limits.max_goodz"),
        (lambda s: re.sub(r'(?m)^version = ".*"\n', "", s), "version: Field required"),
        (
            lambda s: s.replace('file = "chpl_hs6_tiers_2024-02-23.csv"', 'file = "missing.csv"'),
            "chpl.file: cannot read",
        ),
        (lambda s: s.replace('TIER_1 = "critical", ', ""), "no severity for tiers ['TIER_1']"),
        (lambda s: s.replace('locodes = ["UASVP"', 'locodes = ["SEVASTOPOL"'), "not UN/LOCODEs"),
        (
            lambda s: s.replace(
                'strong_severity = { "*" = "critical" }',
                'strong_severity = { "ofac-sdn" = "critical" }',
            ),
            'needs a "*" entry',
        ),
        (
            lambda s: s.replace('off_route_roles = ["consignee"', 'off_route_roles = ["receiver"'),
            "red_flags.off_route_roles.0",
        ),
    ],
)
def test_bad_policy_is_refused_naming_the_problem(tmp_path, change, expected):
    text = change(SHIPPED)
    assert text != SHIPPED, "the test's change did not apply"
    path = write(tmp_path, text)
    with pytest.raises(PolicyError) as err:
        load_policy(path)
    message = str(err.value)
    assert str(path) in message
    assert expected.replace("Value error, ", "") in message, message


def test_missing_policy_file(tmp_path):
    with pytest.raises(PolicyError, match="cannot read"):
        load_policy(tmp_path / "nope.toml")


def test_chpl_file_beside_the_policy_wins(tmp_path):
    write(tmp_path, "hs6,tier\n847150,TIER_X\n", "chpl_hs6_tiers_2024-02-23.csv")
    text = SHIPPED.replace('TIER_1 = "critical",', 'TIER_X = "low", TIER_1 = "critical",')
    policy = load_policy(write(tmp_path, text))
    assert policy.chpl == {"847150": "TIER_X"}
    assert policy.chpl_file == tmp_path / "chpl_hs6_tiers_2024-02-23.csv"


@pytest.mark.parametrize(
    ("content", "problem"),
    [
        ("hs,tier\n854231,TIER_1\n", "header"),
        ("hs6,tier\n85423,TIER_1\n", "line 2"),
        ("hs6,tier\n854231,TIER_1\n854231,TIER_2\n", "appears twice"),
        ("hs6,tier\n", "no codes"),
    ],
)
def test_bad_chpl_file(tmp_path, content, problem):
    path = write(tmp_path, content, "chpl.csv")
    with pytest.raises(ValueError, match=problem):
        load_chpl(path)


def _touch_later(path: Path) -> None:
    # Make sure the change is seen even on file systems with coarse mtimes.
    stat = path.stat()
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 2_000_000_000))


def test_reload_keeps_the_old_policy_when_the_new_one_is_bad(tmp_path):
    path = write(tmp_path, with_version("v1"))
    holder = PolicyHolder(path, check_seconds=0)
    assert holder.current().version == "v1"

    path.write_text(with_version("v2").replace("review_score = 30", "review_score = -1"))
    _touch_later(path)
    assert holder.current().version == "v1"
    assert "decision.review_score" in holder.last_error

    path.write_text("this is not toml [")
    _touch_later(path)
    assert holder.current().version == "v1"
    assert "not valid TOML" in holder.last_error

    path.unlink()
    assert holder.current().version == "v1"
    assert "cannot read" in holder.last_error

    write(tmp_path, with_version("v3"))
    _touch_later(path)
    assert holder.current().version == "v3"
    assert holder.last_error == ""


def test_reload_is_checked_at_most_every_check_seconds(tmp_path):
    path = write(tmp_path, with_version("v1"))
    holder = PolicyHolder(path, check_seconds=3600)
    path.write_text(with_version("v2"))
    _touch_later(path)
    assert holder.current().version == "v1"  # not looked at yet
    assert holder.reload_if_changed()
    assert holder.current().version == "v2"


def test_a_bad_policy_at_start_is_fatal(tmp_path):
    path = write(tmp_path, "version = 1")
    started = time.monotonic()
    with pytest.raises(PolicyError):
        PolicyHolder(path)
    assert time.monotonic() - started < 5
