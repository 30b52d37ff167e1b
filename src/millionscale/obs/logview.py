"""Reading the logs a topology writes, whoever wrote them: records, by time, for a person.

``logs/NAME.log`` holds what a process wrote. Ours write the JSON lines of
:mod:`millionscale.obs.logging`; the engines write their own plain text.
:func:`parse_log` turns either into :class:`LogRecord` values (time, level,
process, message, fields, and the lines that belong to it: a traceback, a
PostgreSQL ``DETAIL``), recognising:

- our JSON lines (``timestamp``, ``level``, ``event``, ``process``, ``exception``);
- PostgreSQL's default prefix, ``2024-05-01 12:00:00.123 UTC [1234] LOG:  ...``;
- Redis's, ``1234:M 01 May 2024 12:00:00.123 * ...``;
- NATS's, ``[1234] 2024/05/01 12:00:00.123456 [INF] ...``;
- a Python traceback printed raw (a crash before logging was set up): one
  ``error`` record whose lines are the traceback.

A line that none of these starts belongs to the record before it (in the same
file); at the top of a file it is a record of its own, with no time or level.
Engines' times without a zone are the machine's local time. Levels are
normalised to :data:`LEVELS`; a record without one counts as ``info``.
Everything here is pure: the command line reads the files and prints.
"""

from __future__ import annotations

import heapq
import json
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from rich.text import Text

__all__ = [
    "LEVELS",
    "LogRecord",
    "human_text",
    "interleave",
    "json_line",
    "parse_log",
    "passes",
]

LEVELS = ("debug", "info", "warning", "error", "critical")
_LABEL = {"debug": "DEBUG", "info": "INFO", "warning": "WARN", "error": "ERROR", "critical": "CRIT"}
_STYLE = {"debug": "dim", "warning": "yellow", "error": "red", "critical": "bold red"}

# PostgreSQL's severities (elog.h): DEBUG1-5, LOG, INFO, NOTICE, WARNING, ERROR, FATAL, PANIC;
# DETAIL, HINT, QUERY, CONTEXT, LOCATION and STATEMENT lines belong to the message before.
_PG_LEVELS = {"LOG": "info", "INFO": "info", "NOTICE": "info", "WARNING": "warning"}
_PG_LEVELS |= {"ERROR": "error", "FATAL": "error", "PANIC": "critical"}
_PG_FOLLOWERS = frozenset({"DETAIL", "HINT", "QUERY", "CONTEXT", "LOCATION", "STATEMENT"})
_PG = re.compile(
    r"^(?P<time>\d{4}-\d\d-\d\d \d\d:\d\d:\d\d(?:\.\d+)?)(?: (?P<zone>[A-Za-z][\w/+-]*))?"
    r" \[\d+\] (?P<severity>[A-Z]+\d?):\s+(?P<message>.*)$"
)
# Redis (server.c, serverLogRaw): pid:role day month year time, then . - * # for
# debug, verbose, notice, warning.
_REDIS_LEVELS = {".": "debug", "-": "debug", "*": "info", "#": "warning"}
_REDIS = re.compile(
    r"^\d+:[XCSM] (?P<time>\d\d [A-Z][a-z]{2} \d{4} \d\d:\d\d:\d\d(?:\.\d+)?) "
    r"(?P<mark>[.\-*#]) (?P<message>.*)$"
)
# NATS (server/log): [pid] date time [TRC|DBG|INF|WRN|ERR|FTL] message
_NATS_LEVELS = {"TRC": "debug", "DBG": "debug", "INF": "info", "WRN": "warning"}
_NATS_LEVELS |= {"ERR": "error", "FTL": "critical"}
_NATS = re.compile(
    r"^\[\d+\] (?P<time>\d{4}/\d\d/\d\d \d\d:\d\d:\d\d(?:\.\d+)?) "
    r"\[(?P<level>[A-Z]{3})\] (?P<message>.*)$"
)
_TRACEBACK = "Traceback (most recent call last):"
_OWN_KEYS = frozenset({"timestamp", "level", "event", "process", "exception", "stack"})


@dataclass(frozen=True, slots=True)
class LogRecord:
    """One thing a process logged. ``lines`` are the ones that belong to it, verbatim."""

    time: datetime | None  # aware
    level: str | None  # one of LEVELS
    process: str
    message: str
    fields: dict[str, Any] = field(default_factory=dict)
    lines: tuple[str, ...] = ()
    raw: str | None = None  # our JSON line as written
    continued: bool = False  # lines followed it in the file (a raw traceback, DETAIL)

    def with_line(self, line: str) -> LogRecord:
        return LogRecord(
            self.time, self.level, self.process, self.message, self.fields,
            (*self.lines, line), self.raw, continued=True,
        )  # fmt: skip


def _local(text: str, layout: str) -> datetime:
    return datetime.strptime(text, layout).astimezone()  # naive: the machine's zone


def _fraction(layout: str, text: str) -> str:
    return layout + (".%f" if "." in text else "")


def _from_json(line: str, process: str) -> LogRecord | None:
    try:
        data = json.loads(line)
    except ValueError:
        return None
    if not isinstance(data, dict) or "event" not in data:
        return None
    try:
        time = datetime.fromisoformat(str(data["timestamp"]).replace("Z", "+00:00"))
    except (KeyError, ValueError):
        time = None
    level = str(data.get("level", "")).lower()
    level = {"warn": "warning", "fatal": "critical", "exception": "error"}.get(level, level)
    detail = "\n".join(str(data[k]) for k in ("stack", "exception") if data.get(k))
    return LogRecord(
        time=time,
        level=level if level in LEVELS else None,
        process=str(data.get("process") or process),
        message=str(data["event"]),
        fields={k: v for k, v in data.items() if k not in _OWN_KEYS},
        lines=tuple(detail.splitlines()),
        raw=line,
    )


def _from_engine(line: str, process: str) -> LogRecord | str | None:
    """An engine's record; ``"follows"`` for a line that continues the one before."""
    if match := _PG.match(line):
        severity = match["severity"]
        if severity in _PG_FOLLOWERS:
            return "follows"
        zone = match["zone"]
        layout = _fraction("%Y-%m-%d %H:%M:%S", match["time"])
        time = datetime.strptime(match["time"], layout)
        when = time.replace(tzinfo=UTC) if zone in ("UTC", "GMT") else time.astimezone()
        level = "debug" if severity.startswith("DEBUG") else _PG_LEVELS.get(severity)
        return LogRecord(when, level, process, match["message"])
    if match := _REDIS.match(line):
        when = _local(match["time"], _fraction("%d %b %Y %H:%M:%S", match["time"]))
        return LogRecord(when, _REDIS_LEVELS[match["mark"]], process, match["message"])
    if match := _NATS.match(line):
        when = _local(match["time"], _fraction("%Y/%m/%d %H:%M:%S", match["time"]))
        return LogRecord(when, _NATS_LEVELS.get(match["level"]), process, match["message"])
    return None


def parse_log(lines: Iterable[str], process: str) -> list[LogRecord]:
    """The records of one process's log, in the order written."""
    records: list[LogRecord] = []
    for raw in lines:
        line = raw.rstrip("\r\n")
        if not line.strip():
            continue
        record: LogRecord | str | None
        if line.startswith(_TRACEBACK):
            last = records[-1].time if records else None
            record = LogRecord(last, "error", process, "a Python traceback", lines=(line,))
        else:
            record = _from_json(line, process) if line.startswith("{") else None
            record = record or _from_engine(line, process)
        if isinstance(record, LogRecord):
            records.append(record)
        elif records:
            records[-1] = records[-1].with_line(line)
        else:
            records.append(LogRecord(None, None, process, line))
    return records


def interleave(logs: Iterable[Sequence[LogRecord]]) -> list[LogRecord]:
    """Every log's records in one list by time; each log's own order is kept (a record
    without a time goes with the one before it in its log)."""

    def timed(log: Sequence[LogRecord]) -> list[tuple[float, int, LogRecord]]:
        out, last = [], float("-inf")
        for i, record in enumerate(log):
            last = record.time.timestamp() if record.time is not None else last
            out.append((last, i, record))
        return out

    return [record for _, _, record in heapq.merge(*map(timed, logs), key=lambda t: t[:2])]


def passes(record: LogRecord, level: str) -> bool:
    """Whether ``record`` is at ``level`` or above (no level counts as ``info``)."""
    return LEVELS.index(record.level or "info") >= LEVELS.index(level)


def _value(value: object) -> str:
    text = value if isinstance(value, str) else json.dumps(value, default=str)
    return json.dumps(text) if not text or any(c.isspace() for c in text) else text


def human_text(record: LogRecord, process_width: int = 0) -> Text:
    """``MM-DD HH:MM:SS.mmm LEVEL process  message key=value``, then its lines as written."""
    when = record.time.astimezone().strftime("%m-%d %H:%M:%S.%f")[:-3] if record.time else ""
    level = record.level or "info"
    text = Text(no_wrap=False)
    text.append(f"{when:18} ", style="dim")
    text.append(f"{_LABEL[level] if record.level else '':5} ", style=_STYLE.get(level, ""))
    text.append(f"{record.process:{process_width}}  ", style="cyan")
    text.append(record.message, style="bold" if level in ("error", "critical") else "")
    for key, value in record.fields.items():
        text.append(f" {key}=", style="dim")
        text.append(_value(value))
    for line in record.lines:
        text.append("\n" + line)
    return text


def json_line(record: LogRecord) -> str:
    """The record as one JSON object: our line as written, an engine's in our keys."""
    if record.raw is not None and not record.continued:
        return record.raw
    data: dict[str, Any] = {
        "timestamp": record.time.astimezone(UTC).isoformat() if record.time else None,
        "level": record.level,
        "process": record.process,
        "event": record.message,
        **record.fields,
    }
    if record.lines:
        data["lines"] = list(record.lines)
    return json.dumps(data)
