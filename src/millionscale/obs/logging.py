"""Structured JSON logs: one object per line, secrets redacted.

Every line carries ``timestamp`` (UTC, ISO 8601), ``level``, ``event``,
``process`` (the topology's process name) and whatever the caller bound.
Lines from the standard library's ``logging`` (uvicorn, asyncio, psycopg) go
through the same processors, so a process writes one format only.
"""

from __future__ import annotations

import logging
import re
import sys
from collections.abc import MutableMapping
from typing import Any, TextIO

import structlog

__all__ = ["configure_logging", "redact"]

_URL_CREDENTIALS = re.compile(r"(?P<scheme>[a-z][a-z0-9+.-]*://)(?P<creds>[^/@\s]+)@", re.I)
_SECRET_KEYS = re.compile(r"pass(word)?|secret|token|authorization|cookie|api_?key", re.I)
REDACTED = "***"


def redact(value: object) -> object:
    """``value`` with any ``scheme://user:secret@`` credentials replaced by ``***``."""
    if isinstance(value, str):
        return _URL_CREDENTIALS.sub(lambda m: f"{m.group('scheme')}{REDACTED}@", value)
    return value


def _redact_processor(
    _logger: object, _method: str, event: MutableMapping[str, Any]
) -> MutableMapping[str, Any]:
    for key, value in list(event.items()):
        event[key] = REDACTED if _SECRET_KEYS.search(key) else redact(value)
    return event


def configure_logging(process: str, *, level: str = "info", stream: TextIO | None = None) -> None:
    """Make every logger of this process write JSON lines to ``stream`` (stderr).

    Call once, at process start, before the first log line.
    """
    shared: list[Any] = [
        structlog.contextvars.merge_contextvars,
        structlog.stdlib.add_log_level,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        _redact_processor,
    ]
    structlog.configure(
        processors=[
            *shared,
            structlog.processors.format_exc_info,
            structlog.stdlib.ProcessorFormatter.wrap_for_formatter,
        ],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=True,
    )
    structlog.contextvars.bind_contextvars(process=process)
    formatter = structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=shared,
        processors=[
            structlog.stdlib.ProcessorFormatter.remove_processors_meta,
            structlog.processors.format_exc_info,
            structlog.processors.JSONRenderer(),
        ],
    )
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(formatter)
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access"):
        logging.getLogger(name).handlers[:] = []
        logging.getLogger(name).propagate = True
