"""Shared by the queue's integration tests: a broker on a fresh NATS, a worker
run for a bounded time, waiting for a condition on the queue."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping

from millionscale.queue import RetryPolicy
from millionscale.queue.jetstream import JetStreamBroker
from millionscale.queue.worker import Handler, Worker

WAIT_S = 20.0  # the longest any condition is waited for


@contextlib.asynccontextmanager
async def broker_at(url: str, **options) -> AsyncIterator[JetStreamBroker]:
    broker = await JetStreamBroker.connect(url, **options)
    try:
        yield broker
    finally:
        await broker.close()


@contextlib.asynccontextmanager
async def running(
    broker: JetStreamBroker, handlers: Mapping[str, Handler], **options
) -> AsyncIterator[Worker]:
    """A worker running in the background until the block ends (then stopped gracefully)."""
    options.setdefault("policy", RetryPolicy(max_deliveries=3, base_s=0.05, max_backoff_s=0.2))
    worker = Worker(broker, handlers, **options)
    stop = asyncio.Event()
    task = asyncio.create_task(worker.run(stop))
    try:
        yield worker
    finally:
        stop.set()
        await asyncio.wait_for(task, WAIT_S)


async def until(
    condition: Callable[[], Awaitable[bool]], what: str, within_s: float = WAIT_S
) -> None:
    """Return once ``condition()`` holds; AssertionError naming ``what`` after ``within_s``."""
    deadline = time.monotonic() + within_s
    while time.monotonic() < deadline:
        if await condition():
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"not within {within_s:g} s: {what}")
