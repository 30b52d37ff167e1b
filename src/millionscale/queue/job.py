"""A job: what a producer asks a worker to do, and its bytes on the wire.

Pure. A :class:`Job` names a task (``thumbnail``, ``fanout``), carries a JSON
object of arguments, and has two identities:

- ``id``, unique per enqueue: the broker's publish deduplication key (a
  producer that retries a publish it is unsure of stores the job once);
- ``key``, its idempotency key: two jobs with one key are one effect
  (:mod:`.idempotency` records it in the same transaction as the effect). By
  default the id; a producer that may enqueue the same work twice (``resize
  photo 42``) names it.

The envelope is one JSON object (UTF-8, at most :data:`MAX_JOB_BYTES`). What
cannot be decoded into a job raises :class:`MalformedJob` with a reason a
person can read: a worker dead-letters it with that reason and never runs it.
"""

from __future__ import annotations

import json
import math
import re
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from millionscale.errors import MalformedJob

__all__ = [
    "MAX_JOB_BYTES",
    "TASK_NAME",
    "Job",
    "MalformedJob",
    "decode",
    "encode",
]

# Far below NATS's default max_payload (1 MiB), so a job plus its headers always
# fits; bulky inputs (an image) belong in storage, the job names them.
MAX_JOB_BYTES = 64 * 1024
TASK_NAME = re.compile(r"[a-z][a-z0-9_]{0,63}")  # a subject token: no dots, spaces or wildcards
MAX_KEY_CHARS = 200
ENVELOPE_FIELDS = frozenset({"id", "task", "args", "key", "enqueued_at", "not_before"})


@dataclass(frozen=True, slots=True)
class Job:
    """One unit of work. ``enqueued_at`` and ``not_before`` are Unix times (seconds)."""

    task: str
    args: Mapping[str, Any] = field(default_factory=dict)
    id: str = field(default_factory=lambda: uuid.uuid4().hex)
    key: str = ""  # empty: the id
    enqueued_at: float = 0.0
    not_before: float | None = None  # a delayed job: not run before this time

    def __post_init__(self) -> None:
        _check(self)

    @property
    def idempotency_key(self) -> str:
        return self.key or self.id

    def delay_s(self, now: float) -> float:
        """How long until the job may run (0 when due)."""
        return 0.0 if self.not_before is None else max(0.0, self.not_before - now)


def encode(job: Job) -> bytes:
    """The job's envelope; :class:`MalformedJob` if it exceeds :data:`MAX_JOB_BYTES`."""
    body: dict[str, Any] = {"id": job.id, "task": job.task, "args": dict(job.args)}
    if job.key:
        body["key"] = job.key
    body["enqueued_at"] = job.enqueued_at
    if job.not_before is not None:
        body["not_before"] = job.not_before
    try:
        data = json.dumps(body, separators=(",", ":"), allow_nan=False).encode()
    except (TypeError, ValueError) as error:
        raise MalformedJob(f"the job's args are not JSON: {error}") from None
    if len(data) > MAX_JOB_BYTES:
        raise MalformedJob(f"the job is {len(data)} bytes, over the {MAX_JOB_BYTES} allowed")
    return data


def decode(data: bytes) -> Job:
    """The job in ``data``; :class:`MalformedJob` saying why if there is none."""
    if len(data) > MAX_JOB_BYTES:
        raise MalformedJob(f"the message is {len(data)} bytes, over the {MAX_JOB_BYTES} allowed")
    try:
        body = json.loads(data.decode("utf-8"))
    except UnicodeDecodeError:
        raise MalformedJob("the message is not UTF-8") from None
    except (ValueError, RecursionError) as error:
        raise MalformedJob(f"the message is not JSON: {error}") from None
    if not isinstance(body, dict):
        raise MalformedJob(f"the message is a JSON {type(body).__name__}, not an object")
    unknown = set(body) - ENVELOPE_FIELDS
    if unknown:
        raise MalformedJob(f"unknown field(s) {', '.join(sorted(unknown))}")
    for name in ("id", "task"):
        if not isinstance(body.get(name), str):
            raise MalformedJob(f"the job has no {name} (a string)")
    args = body.get("args", {})
    if not isinstance(args, dict):
        raise MalformedJob("the job's args are not a JSON object")
    key = body.get("key", "")
    if not isinstance(key, str):
        raise MalformedJob("the job's key is not a string")
    enqueued_at = _time(body.get("enqueued_at", 0.0), "enqueued_at")
    not_before = body.get("not_before")
    return Job(
        task=body["task"],
        args=args,
        id=body["id"],
        key=key,
        enqueued_at=enqueued_at,
        not_before=None if not_before is None else _time(not_before, "not_before"),
    )


def _time(value: object, name: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise MalformedJob(f"the job's {name} is not a number of seconds")
    return float(value)


def _check(job: Job) -> None:
    if not isinstance(job.task, str) or not TASK_NAME.fullmatch(job.task):
        raise MalformedJob(
            f"task name {job.task!r} is not 1-64 lowercase letters, digits or '_' "
            "starting with a letter"
        )
    if not isinstance(job.id, str) or not 1 <= len(job.id) <= MAX_KEY_CHARS:
        raise MalformedJob(f"a job id is 1-{MAX_KEY_CHARS} characters")
    if not job.id.isprintable() or not job.key.isprintable():
        raise MalformedJob("a job's id and key are printable text")
    if len(job.key) > MAX_KEY_CHARS:
        raise MalformedJob(f"an idempotency key is at most {MAX_KEY_CHARS} characters")
