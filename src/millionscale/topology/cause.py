"""The one line of a crashed process's log that says why it crashed.

A process that exits before it is ready leaves its reason somewhere in its
log, in one of the shapes our processes and engines write:

- a Python traceback, whose cause is its *last* line
  (``psycopg.OperationalError: connection failed: ...``), not its first;
- our structured JSON lines (:mod:`millionscale.obs.logging`): the last one
  at level ``error`` or ``critical``, its ``event`` with its exception's last line;
- our entry points' ``error: ...`` line (:func:`millionscale.aio.run_main`);
- an engine's own log: PostgreSQL's ``FATAL:`` / ``PANIC:`` / ``ERROR:``,
  Redis's ``# ...`` warnings.

:func:`crash_cause` is pure: the supervisor feeds it what the process wrote
in this run (never earlier runs' lines) and puts the answer in the failed
process's reason, which ``up`` prints.
"""

from __future__ import annotations

import json
import re

__all__ = ["MAX_CAUSE_CHARS", "crash_cause"]

MAX_CAUSE_CHARS = 300  # one terminal line or two: a cause, not a log

_ERROR_LEVELS = frozenset({"error", "critical", "fatal", "exception"})
# "SomeError: text", "pkg.mod.SomeException", "SystemExit: 2" at the start of a line.
_EXCEPTION_LINE = re.compile(r"^[A-Za-z_][\w.]*(Error|Exception|Exit|Interrupt|Warning)\b")
_ENGINE_ERROR = re.compile(r"\b(FATAL|PANIC|ERROR|CRITICAL)\b|^error:|# (Fatal|Failed|Can't)")
_BANNER = "--- millionscale: "  # the supervisor's line before each start


def _json_cause(line: str) -> str | None:
    """The cause a structured log line states, if it is an error line."""
    try:
        record = json.loads(line)
    except ValueError:
        return None
    if not isinstance(record, dict):
        return None
    if str(record.get("level", "")).lower() not in _ERROR_LEVELS:
        return None
    event = str(record.get("event", "")).strip()
    exception = str(record.get("exception", "")).strip()
    last = exception.splitlines()[-1].strip() if exception else ""
    return f"{event}: {last}" if event and last else event or last or None


def _looks_like_an_error(line: str) -> bool:
    """A line at column 0 (never a traceback's indented source lines) that states an error."""
    return not line[0].isspace() and bool(_EXCEPTION_LINE.match(line) or _ENGINE_ERROR.search(line))


def crash_cause(text: str) -> str:
    """Why the process that wrote ``text`` (this run's log) crashed, in one line: the
    last line that states an error (a traceback's last line, an error-level JSON
    line, an engine's FATAL); else the last line it wrote; "" for an empty log."""
    lines = [line.rstrip() for line in text.splitlines()]
    lines = [line for line in lines if line.strip() and not line.startswith(_BANNER)]
    cause = ""
    for line in reversed(lines):
        found = _json_cause(line) if line.startswith("{") else None
        if found is None and _looks_like_an_error(line):
            found = line.strip()
        if found:
            cause = found
            break
    else:
        cause = lines[-1].strip() if lines else ""
    if len(cause) > MAX_CAUSE_CHARS:
        cause = cause[: MAX_CAUSE_CHARS - 1] + "…"
    return cause
