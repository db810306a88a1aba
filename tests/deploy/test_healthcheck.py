"""The image's HEALTHCHECK command against a real server: 0 when SERVING, 1 when unreachable."""

from __future__ import annotations

import subprocess
import sys

from tests.conftest import free_port


def test_healthcheck_command(service):
    ok = subprocess.run([sys.executable, "-m", "screening.healthcheck", service.target])
    assert ok.returncode == 0
    down = subprocess.run(
        [sys.executable, "-m", "screening.healthcheck", f"127.0.0.1:{free_port()}"],
        capture_output=True,
        text=True,
    )
    assert down.returncode == 1 and "unhealthy" in down.stderr
