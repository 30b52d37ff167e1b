"""What a job does, and how its completion is recorded: the same for every system.

A job is ``(kind, seq, enqueued_at, key)``: ``kind`` is ``noop``,
``thumbnail`` or ``sleep`` (:data:`SLEEP_S`, the scaler's burst); ``seq`` its number in the run; ``enqueued_at`` the producer's
``time.time()`` just before it published; ``key`` the Redis list of the run's
completions. :func:`perform` does the work, then ``RPUSH``es
:func:`~millionscale.bench.queue_runs.record_line` to ``key`` on the recorder
(the Redis at :data:`RECORD_ENV`, another instance than any broker). "Done" is
thus the end of the job's work, before the system acks it: the same point for
all three.

``thumbnail`` decodes :func:`source_jpeg` (1280x800, ~1 MP, drawn
deterministically: every process has the same bytes) and makes a thumbnail of
at most 320 px (Pillow's ``Image.thumbnail``), which is discarded.

All three run :func:`perform` in a thread of their own pool of the same size
(Celery's ``threads`` pool, Dramatiq's worker threads, and for ours
:func:`tasks`' executor, ``THREADS`` from ``--tasks queue_peers.work:tasks=THREADS``).
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import io
import os
import threading
import time
from collections.abc import AsyncIterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import redis
from PIL import Image, ImageDraw

from millionscale.bench.queue_runs import record_line

BROKER_ENV = "BENCH_QUEUE_BROKER_URL"  # the system's broker: redis:// or nats://
RECORD_ENV = "BENCH_QUEUE_RECORD_URL"  # the recorder: redis://
ACKS_LATE_ENV = (
    "BENCH_QUEUE_CELERY_ACKS_LATE"  # "1": acks_late + prefetch 1; "0": Celery's defaults
)
KINDS = ("noop", "thumbnail")  # the throughput runs'
# The scaler's burst: a job that waits rather than computes, so a worker's slots (not
# the worker core) are what one worker lacks, and more workers drain it faster.
SLEEP_KIND = "sleep"
SLEEP_S = 0.02
ALL_KINDS = (*KINDS, SLEEP_KIND)
TASK = "job"  # the one task (actor) name in every system
QUEUE = "bench"  # our JetStream queue's name
SOURCE_SIZE = (1280, 800)  # 1.02 MP, a phone photo scaled down once
THUMBNAIL_PX = 320
JPEG_QUALITY = 85


@functools.cache
def source_jpeg() -> bytes:
    """The thumbnail job's input: a JPEG drawn the same way in every process."""
    width, height = SOURCE_SIZE
    image = Image.linear_gradient("L").resize(SOURCE_SIZE).convert("RGB")
    draw = ImageDraw.Draw(image)
    for i in range(0, width, 40):  # stripes and boxes: detail for the encoder to keep
        draw.line([(i, 0), (width - i, height)], fill=(i % 256, 80, 255 - i % 256), width=3)
        draw.rectangle(
            [i, (i * 7) % height, i + 25, (i * 7) % height + 25], fill=(200, i % 256, 40)
        )
    out = io.BytesIO()
    image.save(out, "JPEG", quality=JPEG_QUALITY)
    return out.getvalue()


def thumbnail(data: bytes) -> tuple[int, int]:
    """Decode ``data``, make a thumbnail of at most :data:`THUMBNAIL_PX`; its size."""
    with Image.open(io.BytesIO(data)) as image:
        image.thumbnail((THUMBNAIL_PX, THUMBNAIL_PX))
        return image.size


_local = threading.local()


def _recorder() -> redis.Redis:
    """This thread's connection to the recorder (a client per thread: no shared pool lock)."""
    client = getattr(_local, "recorder", None)
    if client is None:
        client = redis.Redis.from_url(os.environ[RECORD_ENV])
        _local.recorder = client
    return client


def perform(kind: str, seq: int, enqueued_at: float, key: str) -> None:
    """Do job ``seq`` of kind ``kind``, then record its completion in list ``key``."""
    if kind == "thumbnail":
        thumbnail(source_jpeg())
    elif kind == SLEEP_KIND:
        time.sleep(SLEEP_S)
    elif kind != "noop":
        raise ValueError(f"unknown kind of job {kind!r}")
    _recorder().rpush(key, record_line(seq, enqueued_at, time.time()))


@contextlib.asynccontextmanager
async def _task_set(threads: int) -> AsyncIterator[Mapping[str, Any]]:
    source_jpeg()
    loop = asyncio.get_running_loop()
    with ThreadPoolExecutor(threads, thread_name_prefix="job") as pool:

        async def job(job: Any) -> None:
            args = job.args
            await loop.run_in_executor(
                pool, perform, args["kind"], args["seq"], args["t"], args["key"]
            )

        yield {TASK: job}


def tasks(threads: str = "8") -> contextlib.AbstractAsyncContextManager[Mapping[str, Any]]:
    """Our worker's task set (``--tasks queue_peers.work:tasks=THREADS``)."""
    count = int(threads)
    if count < 1:
        raise ValueError(f"THREADS is at least 1, not {count}")
    return _task_set(count)
