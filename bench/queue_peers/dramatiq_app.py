"""Dramatiq on Redis: its default Redis broker (default middleware), and the one actor.

dramatiq queue_peers.dramatiq_app --processes 1 --threads 8
"""

from __future__ import annotations

import os

import dramatiq
from dramatiq.brokers.redis import RedisBroker

from queue_peers.work import BROKER_ENV, TASK, perform, source_jpeg

broker = RedisBroker(url=os.environ.get(BROKER_ENV, "redis://127.0.0.1:6379/0"))
dramatiq.set_broker(broker)


@dramatiq.actor(actor_name=TASK)
def job(kind: str, seq: int, enqueued_at: float, key: str) -> None:
    perform(kind, seq, enqueued_at, key)


source_jpeg()
