"""Structured logs: one JSON object a line, on stderr.

Screened names, dates of birth and other party data are never logged at INFO or above;
debug logging of request content is opt-in (`SCREENING_LOG_LEVEL=DEBUG`, read by config.py).
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import sys

_RESERVED = set(vars(logging.makeLogRecord({}))) | {"message", "asctime", "taskName"}


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "ts": dt.datetime.fromtimestamp(record.created, dt.UTC).isoformat(
                timespec="milliseconds"
            ),
            "level": record.levelname.lower(),
            "logger": record.name,
            "msg": record.getMessage(),
            "pid": record.process,
        }
        for key, value in record.__dict__.items():
            if key not in _RESERVED and not key.startswith("_"):
                entry[key] = value
        if record.exc_info:
            entry["exc"] = self.formatException(record.exc_info)
        return json.dumps(entry, default=str, ensure_ascii=False)


def setup_logging(level: str = "INFO") -> None:
    """JSON lines on stderr at `level` (config.log_level gives the level to start with)."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    # Libraries log connection chatter at INFO; keep ours readable.
    for noisy in ("grpc", "asyncio", "urllib3"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
