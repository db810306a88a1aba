"""The shipment policy: a versioned TOML file, validated whole before it is used.

`load_policy(path)` returns a ready `Policy` or raises `PolicyError` naming every problem.
`PolicyHolder` keeps the policy in force and re-reads the file when it changes; a file that
fails validation is refused and the previous policy stays.
"""

from __future__ import annotations

import csv
import logging
import os
import re
import threading
import time
import tomllib
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Annotated, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from screening.model.countries import is_alpha2
from screening.risk.findings import RULE_CODES, Severity
from screening.risk.places import RegionMatcher, fold
from screening.risk.shipment import Role

log = logging.getLogger(__name__)

DATA_DIR = Path(str(resources.files("screening.risk") / "data"))
DEFAULT_POLICY_PATH = DATA_DIR / "policy.toml"

SeverityName = Literal["info", "low", "medium", "high", "critical"]
_LOCODE = re.compile(r"^[A-Z]{2}[A-Z2-9]{3}$")
_HS6 = re.compile(r"^\d{6}$")


def _country(code: str) -> str:
    if not is_alpha2(code):
        raise ValueError(f"{code!r} is not an ISO 3166 alpha-2 country code")
    return code


Country = Annotated[str, AfterValidator(_country)]


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class DecisionSection(_Section):
    points: dict[SeverityName, Annotated[int, Field(ge=0, le=100)]]
    block_severity: SeverityName
    block_score: int = Field(ge=1, le=100)
    review_severity: SeverityName
    review_score: int = Field(ge=1, le=100)

    @model_validator(mode="after")
    def _consistent(self) -> DecisionSection:
        missing = [s.name.lower() for s in Severity if s.name.lower() not in self.points]
        if missing:
            raise ValueError(f"points: missing {', '.join(missing)}")
        values = [self.points[s.name.lower()] for s in Severity]  # type: ignore[index]
        if values != sorted(values):
            raise ValueError("points must not decrease with severity")
        if self.review_score > self.block_score:
            raise ValueError("review_score must not exceed block_score")
        if Severity.parse(self.review_severity) > Severity.parse(self.block_severity):
            raise ValueError("review_severity must not exceed block_severity")
        return self


class LimitsSection(_Section):
    max_parties: int = Field(ge=1, le=1000)
    max_vessels: int = Field(ge=0, le=100)
    max_goods: int = Field(ge=1, le=10_000)
    max_transit_countries: int = Field(ge=0, le=250)
    max_ports: int = Field(ge=0, le=250)


def _default_severity(table: dict[str, SeverityName]) -> dict[str, SeverityName]:
    if "*" not in table:
        raise ValueError('needs a "*" entry: the severity for every source not named')
    return table


SeverityBySource = Annotated[dict[str, SeverityName], AfterValidator(_default_severity)]


class MatchesSection(_Section):
    strong_score: float = Field(gt=0, le=1)
    alert_score: float = Field(gt=0, le=1)
    strong_severity: SeverityBySource
    alert_severity: SeverityBySource

    @model_validator(mode="after")
    def _ordered(self) -> MatchesSection:
        if self.alert_score > self.strong_score:
            raise ValueError("alert_score must not exceed strong_score")
        return self


class RegionSection(_Section):
    name: str = Field(min_length=1, max_length=200)
    names: list[str] = Field(min_length=1)
    locodes: list[str] = Field(default_factory=list)

    @field_validator("names")
    @classmethod
    def _names(cls, names: list[str]) -> list[str]:
        empty = [n for n in names if not fold(n)]
        if empty:
            raise ValueError(f"names without letters: {empty}")
        return names

    @field_validator("locodes")
    @classmethod
    def _locodes(cls, codes: list[str]) -> list[str]:
        bad = [c for c in codes if not _LOCODE.match(c) or not is_alpha2(c[:2])]
        if bad:
            raise ValueError(f"not UN/LOCODEs (e.g. UASVP): {bad}")
        return codes


class EmbargoSection(_Section):
    countries: list[Country]
    regions: list[RegionSection] = Field(default_factory=list)


class ChplSection(_Section):
    file: str = Field(min_length=1)
    restricted_countries: list[Country]
    tier_severity: dict[str, SeverityName] = Field(min_length=1)
    diversion_countries: list[Country]


class RedFlagsSection(_Section):
    forwarder_words: list[str]
    off_route_roles: list[Role]


class PolicyFile(_Section):
    """The file's schema. Every section is required: a policy states all of its choices."""

    version: str = Field(min_length=1, max_length=64, pattern=r"^\S+$")
    decision: DecisionSection
    limits: LimitsSection
    matches: MatchesSection
    embargo: EmbargoSection
    rules: dict[str, SeverityName]
    chpl: ChplSection
    red_flags: RedFlagsSection

    @field_validator("rules")
    @classmethod
    def _rules(cls, rules: dict[str, SeverityName]) -> dict[str, SeverityName]:
        unknown = sorted(set(rules) - RULE_CODES)
        missing = sorted(RULE_CODES - set(rules))
        problems = []
        if unknown:
            problems.append(f"unknown codes {unknown}")
        if missing:
            problems.append(f"missing codes {missing}")
        if problems:
            raise ValueError("; ".join(problems))
        return rules


class PolicyError(ValueError):
    """A policy file that cannot be used; the message names the file and every problem."""

    def __init__(self, path: Path, problems: list[str]) -> None:
        self.path = path
        self.problems = problems
        super().__init__(f"policy {path} is invalid: " + "; ".join(problems))


@dataclass(frozen=True)
class Policy:
    """A validated policy, ready for the rules."""

    version: str
    source: Path
    spec: PolicyFile
    chpl: dict[str, str]  # HS6 -> tier
    chpl_file: Path
    regions: tuple[RegionMatcher, ...]
    embargoed: frozenset[str]
    restricted: frozenset[str]
    diversion: frozenset[str]
    forwarder_words: re.Pattern[str] | None

    def severity(self, code: str) -> Severity:
        return Severity.parse(self.spec.rules[code])

    def match_severity(self, source: str, score: float) -> Severity | None:
        """Severity of a list match by its score and list; None below the alert score."""
        matches = self.spec.matches
        if score >= matches.strong_score:
            table = matches.strong_severity
        elif score >= matches.alert_score:
            table = matches.alert_severity
        else:
            return None
        return Severity.parse(table.get(source, table["*"]))

    def tier_severity(self, tier: str) -> Severity:
        return Severity.parse(self.spec.chpl.tier_severity[tier])

    def points(self, severity: Severity) -> int:
        return self.spec.decision.points[severity.name.lower()]  # type: ignore[index]


def _format_errors(exc: ValidationError) -> list[str]:
    problems = []
    for error in exc.errors():
        where = ".".join(str(part) for part in error["loc"]) or "(file)"
        message = error["msg"].removeprefix("Value error, ")
        problems.append(f"{where}: {message}")
    return problems


def _resolve_data_file(policy_path: Path, name: str) -> Path:
    path = Path(name)
    if path.is_absolute():
        return path
    beside = policy_path.parent / path
    return beside if beside.exists() else DATA_DIR / path


def load_chpl(path: Path) -> dict[str, str]:
    """The CHPL table: `hs6,tier` rows, six-digit codes, each once."""
    try:
        with path.open(newline="", encoding="utf-8") as fh:
            rows = list(csv.reader(fh))
    except (OSError, UnicodeDecodeError) as exc:
        raise ValueError(f"cannot read {path}: {exc}") from exc
    if not rows or [c.strip().lower() for c in rows[0]] != ["hs6", "tier"]:
        raise ValueError(f"{path}: the first line must be the header 'hs6,tier'")
    table: dict[str, str] = {}
    for number, row in enumerate(rows[1:], start=2):
        if not row or not "".join(row).strip():
            continue
        if len(row) != 2 or not _HS6.match(row[0].strip()) or not row[1].strip():
            raise ValueError(f"{path} line {number}: expected a six-digit code and a tier")
        hs6, tier = row[0].strip(), row[1].strip()
        if hs6 in table:
            raise ValueError(f"{path} line {number}: {hs6} appears twice")
        table[hs6] = tier
    if not table:
        raise ValueError(f"{path}: no codes")
    return table


def load_policy(path: Path | str = DEFAULT_POLICY_PATH) -> Policy:
    """Read and validate a policy file and the CHPL table it names; PolicyError if unusable."""
    path = Path(path)
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise PolicyError(path, [f"cannot read: {exc.strerror or exc}"]) from exc
    except UnicodeDecodeError as exc:
        raise PolicyError(path, [f"not UTF-8 text: {exc}"]) from exc
    except tomllib.TOMLDecodeError as exc:
        raise PolicyError(path, [f"not valid TOML: {exc}"]) from exc
    try:
        spec = PolicyFile.model_validate(raw)
    except ValidationError as exc:
        raise PolicyError(path, _format_errors(exc)) from exc

    chpl_file = _resolve_data_file(path, spec.chpl.file)
    try:
        chpl = load_chpl(chpl_file)
    except ValueError as exc:
        raise PolicyError(path, [f"chpl.file: {exc}"]) from exc
    untiered = sorted(set(chpl.values()) - set(spec.chpl.tier_severity))
    if untiered:
        raise PolicyError(path, [f"chpl.tier_severity: no severity for tiers {untiered}"])

    words = sorted({fold(w) for w in spec.red_flags.forwarder_words if fold(w)}, key=len)
    forwarder = (
        re.compile(r"(?<!\w)(?:" + "|".join(re.escape(w) for w in reversed(words)) + r")(?!\w)")
        if words
        else None
    )
    return Policy(
        version=spec.version,
        source=path,
        spec=spec,
        chpl=chpl,
        chpl_file=chpl_file,
        regions=tuple(
            RegionMatcher.build(r.name, r.names, r.locodes) for r in spec.embargo.regions
        ),
        embargoed=frozenset(spec.embargo.countries),
        restricted=frozenset(spec.chpl.restricted_countries),
        diversion=frozenset(spec.chpl.diversion_countries),
        forwarder_words=forwarder,
    )


def _stamp(path: Path) -> tuple[int, int, int] | None:
    try:
        st = os.stat(path)
    except OSError:
        return None
    return (st.st_mtime_ns, st.st_size, st.st_ino)


class PolicyHolder:
    """The policy in force. `current()` re-reads the file at most every `check_seconds`
    when it changed; a file that fails validation is refused and logged, and the policy
    in force stays (`last_error` says why)."""

    def __init__(self, path: Path | str | None = None, *, check_seconds: float = 1.0) -> None:
        self.path = Path(path) if path else DEFAULT_POLICY_PATH
        self.check_seconds = check_seconds
        self._stamp = _stamp(self.path)
        self.policy = load_policy(self.path)  # at start a bad policy is fatal
        self.last_error = ""
        self._next_check = time.monotonic() + check_seconds
        self._lock = threading.Lock()
        log.info(
            "policy loaded", extra={"path": str(self.path), "policy_version": self.policy.version}
        )

    def current(self) -> Policy:
        now = time.monotonic()
        if now >= self._next_check:
            self._next_check = now + self.check_seconds
            self.reload_if_changed()
        return self.policy

    def reload_if_changed(self) -> bool:
        stamp = _stamp(self.path)
        if stamp == self._stamp:
            return False
        self._stamp = stamp
        return self.reload()

    def reload(self) -> bool:
        """Load the file now; True if a new policy is in force."""
        with self._lock:
            try:
                policy = load_policy(self.path)
            except PolicyError as exc:
                self.last_error = str(exc)
                log.error(
                    "policy refused; the policy in force stays",
                    extra={"error": str(exc), "policy_version": self.policy.version},
                )
                return False
            previous, self.policy, self.last_error = self.policy, policy, ""
        log.info(
            "policy loaded",
            extra={
                "path": str(self.path),
                "policy_version": policy.version,
                "previous_version": previous.version,
            },
        )
        return True
