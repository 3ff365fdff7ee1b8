"""Access log: one JSON line per request (logger ``phishguard.access``), never the message text
unless ``service.log_text`` is on."""

from __future__ import annotations

import json
import logging
import time
from typing import Any

__all__ = ["ACCESS_LOGGER", "JsonFormatter", "log_request", "setup_logging"]

ACCESS_LOGGER = logging.getLogger("phishguard.access")


def log_request(record: dict[str, Any]) -> None:
    """Write one access line (skipped cheaply when the logger is off)."""
    if ACCESS_LOGGER.isEnabledFor(logging.INFO):
        record["ts"] = round(time.time(), 3)
        ACCESS_LOGGER.info(json.dumps(record, ensure_ascii=False, separators=(",", ":")))


class JsonFormatter(logging.Formatter):
    """The service's own messages as JSON lines (a traceback, if any, in ``exc``)."""

    def format(self, record: logging.LogRecord) -> str:
        out: dict[str, Any] = {
            "ts": round(record.created, 3),
            "level": record.levelname.lower(),
            "event": record.getMessage(),
        }
        if record.exc_info:
            out["exc"] = self.formatException(record.exc_info)
        return json.dumps(out, ensure_ascii=False)


def setup_logging(access_log: bool) -> None:
    """Send access lines (and the service's own messages) to stderr, one per line, as they are."""
    handler = logging.StreamHandler()
    handler.setFormatter(logging.Formatter("%(message)s"))
    ACCESS_LOGGER.handlers[:] = [handler]
    ACCESS_LOGGER.propagate = False
    ACCESS_LOGGER.setLevel(logging.INFO if access_log else logging.WARNING)
    service = logging.getLogger("phishguard.service")
    if not service.handlers:
        service_handler = logging.StreamHandler()
        service_handler.setFormatter(JsonFormatter())
        service.addHandler(service_handler)
    service.setLevel(logging.INFO)
