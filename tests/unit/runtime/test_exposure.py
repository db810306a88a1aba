"""Loopback by default; plaintext beyond it refused unless allowed by name, then warned."""

from __future__ import annotations

import logging
import re
from pathlib import Path

import pytest

from screening.config import Settings
from screening.runtime.exposure import InsecureExposure, check_exposure, is_loopback


@pytest.mark.parametrize(
    ("host", "loopback"),
    [
        ("127.0.0.1", True),
        ("127.0.0.53", True),
        ("::1", True),
        ("[::1]", True),
        ("localhost", True),
        ("0.0.0.0", False),
        ("::", False),
        ("", False),
        ("192.0.2.10", False),
        ("fd00::2", False),
        ("no-such-host.invalid", False),
    ],
)
def test_what_counts_as_loopback(host: str, loopback: bool) -> None:
    assert is_loopback(host) is loopback


def test_the_default_listens_on_loopback_only() -> None:
    settings = Settings()
    assert settings.host == "127.0.0.1" and not settings.allow_insecure_network
    assert check_exposure(settings) == []


def test_plaintext_beyond_loopback_is_refused_naming_the_way_out() -> None:
    with pytest.raises(InsecureExposure) as refused:
        check_exposure(Settings(host="0.0.0.0", metrics_host="0.0.0.0", metrics_port=9464))
    message = str(refused.value)
    assert "gRPC on 0.0.0.0:50051" in message and "metrics on 0.0.0.0:9464" in message
    assert "SCREENING_ALLOW_INSECURE_NETWORK=1" in message and "SCREENING_TLS_CERT_FILE" in message


def test_allowed_by_name_it_starts_with_a_loud_warning(caplog: pytest.LogCaptureFixture) -> None:
    settings = Settings(host="0.0.0.0", metrics_port=0, allow_insecure_network=True)
    with caplog.at_level(logging.WARNING, logger="screening.runtime.exposure"):
        exposed = check_exposure(settings)
    assert [p.address for p in exposed] == ["0.0.0.0:50051"]
    warned = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warned) == 1 and "WITHOUT TLS" in warned[0].getMessage()
    assert getattr(warned[0], "address", None) == "0.0.0.0:50051"


def test_a_tls_port_may_listen_anywhere(tmp_path: Path) -> None:
    tls = Settings(
        host="0.0.0.0", metrics_port=0, tls_cert_file=tmp_path / "c", tls_key_file=tmp_path / "k"
    )
    assert check_exposure(tls) == []
    # Its metrics stay on loopback unless asked for elsewhere (SCREENING_METRICS_HOST)...
    assert check_exposure(tls.model_copy(update={"metrics_port": 9464})) == []
    # ...and there, plain HTTP beside a TLS port, they need the setting too.
    with pytest.raises(InsecureExposure, match=re.escape("metrics on 0.0.0.0:9464")):
        check_exposure(tls.model_copy(update={"metrics_port": 9464, "metrics_host": "0.0.0.0"}))
