"""The shared samples directory of prometheus-client multiprocess mode.

prometheus_client decides at import time whether it writes samples to files, so this module
must not import it: the supervisor prepares the directory first, then imports the metrics.
"""

from __future__ import annotations

import logging
import os
import shutil
import sys
import tempfile

log = logging.getLogger(__name__)


def prepare_multiprocess_dir() -> str:
    """Create (or reuse) the shared samples directory; call before importing metrics."""
    path = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    if not path and "prometheus_client" in sys.modules:
        log.warning("prometheus_client was imported first: this process's samples stay private")
    if not path:
        path = tempfile.mkdtemp(prefix="screening-metrics-")
        os.environ["PROMETHEUS_MULTIPROC_DIR"] = path
    return path


def cleanup_multiprocess_dir(path: str) -> None:
    shutil.rmtree(path, ignore_errors=True)
