"""Celery 5 on Redis: the app, configured from the environment, and its one task.

``BENCH_QUEUE_CELERY_ACKS_LATE=1`` (the default here): ``task_acks_late`` and
``worker_prefetch_multiplier = 1``, at-least-once like ours (a job is acked
once its work is done; a worker fetches no more than it runs). ``0``: Celery's
own defaults (acked when received, prefetch 4 per slot). Results are not
stored (``task_ignore_result``): the completion record is the result.

    celery -A queue_peers.celery_app worker --pool threads --concurrency 8 \\
        --without-heartbeat --without-gossip --without-mingle
"""

from __future__ import annotations

import os

from celery import Celery

from queue_peers.work import ACKS_LATE_ENV, BROKER_ENV, TASK, perform, source_jpeg

ACKS_LATE = os.environ.get(ACKS_LATE_ENV, "1") == "1"

app = Celery("bench", broker=os.environ.get(BROKER_ENV, "redis://127.0.0.1:6379/0"))
app.conf.update(
    task_ignore_result=True,
    task_serializer="json",
    accept_content=["json"],
    broker_connection_retry_on_startup=True,
    worker_hijack_root_logger=False,
)
if ACKS_LATE:
    app.conf.update(task_acks_late=True, worker_prefetch_multiplier=1)


@app.task(name=TASK)
def job(kind: str, seq: int, enqueued_at: float, key: str) -> None:
    perform(kind, seq, enqueued_at, key)


source_jpeg()  # drawn at import, before the first job, as ours and Dramatiq's
