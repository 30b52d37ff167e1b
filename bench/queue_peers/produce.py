"""The producer: enqueue one run's jobs into one system, as fast as its publishes return.

    python -m queue_peers.produce SYSTEM KIND JOBS KEY [--window N]

``SYSTEM`` is ``ours``, ``celery`` or ``dramatiq`` (the broker at
:data:`~queue_peers.work.BROKER_ENV`). Each job's ``enqueued_at`` is
``time.time()`` just before its publish. Ours awaits each
:meth:`~millionscale.queue.JetStreamBroker.publish` (its publisher confirm)
with at most ``--window`` in flight (1: one at a time, as Celery's
``apply_async`` and Dramatiq's ``send`` each wait for Redis's reply). Prints
one JSON line: ``{"jobs": n, "enqueue_s": seconds}``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import time
from typing import Any

from queue_peers.work import ALL_KINDS, BROKER_ENV, QUEUE, TASK

SYSTEMS = ("ours", "celery", "dramatiq")


async def _ours(kind: str, jobs: int, key: str, window: int) -> float:
    from millionscale.queue import JetStreamBroker, Job

    broker = await JetStreamBroker.connect(os.environ[BROKER_ENV], QUEUE, name="bench-producer")
    room = asyncio.Semaphore(window)
    pending: set[asyncio.Task[Any]] = set()

    def settled(done: asyncio.Task[Any]) -> None:
        pending.discard(done)
        room.release()

    started = time.monotonic()
    try:
        for seq in range(jobs):
            await room.acquire()
            job = Job(TASK, {"kind": kind, "seq": seq, "t": time.time(), "key": key})
            task = asyncio.create_task(broker.publish(job))
            pending.add(task)
            task.add_done_callback(settled)
        for task in list(pending):
            await task  # a publish that was not confirmed raises here
        return time.monotonic() - started
    finally:
        await broker.close()


def _celery(kind: str, jobs: int, key: str) -> float:
    from queue_peers.celery_app import job

    started = time.monotonic()
    for seq in range(jobs):
        job.apply_async((kind, seq, time.time(), key))
    return time.monotonic() - started


def _dramatiq(kind: str, jobs: int, key: str) -> float:
    from queue_peers.dramatiq_app import job

    started = time.monotonic()
    for seq in range(jobs):
        job.send(kind, seq, time.time(), key)
    return time.monotonic() - started


def main() -> None:
    parser = argparse.ArgumentParser(prog="queue_peers.produce")
    parser.add_argument("system", choices=SYSTEMS)
    parser.add_argument("kind", choices=ALL_KINDS)
    parser.add_argument("jobs", type=int)
    parser.add_argument("key")
    parser.add_argument("--window", type=int, default=1)
    args = parser.parse_args()
    if args.system == "ours":
        seconds = asyncio.run(_ours(args.kind, args.jobs, args.key, max(1, args.window)))
    elif args.system == "celery":
        seconds = _celery(args.kind, args.jobs, args.key)
    else:
        seconds = _dramatiq(args.kind, args.jobs, args.key)
    print(json.dumps({"jobs": args.jobs, "enqueue_s": seconds}))


if __name__ == "__main__":
    main()
