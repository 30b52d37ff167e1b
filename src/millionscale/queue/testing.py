"""Tasks for tests of the queue's processes, where no application's tasks are wanted.

    QUEUE_URL=nats://TOKEN@HOST:PORT python -m millionscale.queue \\
        --tasks millionscale.queue.testing:tasks

:func:`tasks` is a ``--tasks`` factory (an async context manager yielding task
name to handler) with two tasks:

- ``noop`` does nothing and succeeds: a job that is done;
- ``fail`` always raises :class:`ValueError` naming its ``what`` argument: a job
  that ends in dead letters after the worker's ``--max-deliveries``, with that
  error as its last.

They hold nothing and open nothing; a test that needs a task with effects writes
its own handler and runs a :class:`~millionscale.queue.worker.Worker` in process.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Mapping

from millionscale.queue.job import Job
from millionscale.queue.worker import Handler

__all__ = ["fail", "noop", "tasks"]


async def noop(job: Job) -> None:
    """Succeeds at once."""


async def fail(job: Job) -> None:
    """Always fails, with an error naming ``job.args["what"]``."""
    raise ValueError(f"cannot do {job.args.get('what', 'it')}")


@contextlib.asynccontextmanager
async def tasks() -> AsyncIterator[Mapping[str, Handler]]:
    """``--tasks millionscale.queue.testing:tasks``: ``noop`` and ``fail``."""
    yield {"noop": noop, "fail": fail}
