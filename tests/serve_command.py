"""The `screening serve` command line the tests and the load benchmark start a service with:
on loopback, the given port and workers, its own embedded Redis unless a URL is given."""

from __future__ import annotations

import sys
from pathlib import Path


def serve_command(
    *, port: int, workers: int, redis_url: str = "", lists_dir: Path | None = None
) -> list[str]:
    command = [
        sys.executable,
        "-m",
        "screening.cli",
        "serve",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--workers",
        str(workers),
    ]
    if redis_url:
        command += ["--redis-url", redis_url]
    if lists_dir is not None:
        command += ["--lists-dir", str(lists_dir)]
    return command
