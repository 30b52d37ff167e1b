"""The photo app in its queued mode, in-process, for the queue's photo tests: the app
(its outbox relay running in its lifespan) on a fresh database and a fresh NATS, and
the app's workers run in-process for the length of a block."""

from __future__ import annotations

import asyncio
import contextlib
import secrets
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import psycopg
from queue_support import RELAY_WAIT_S, broker_at, eventually, running
from starlette.testclient import TestClient

from conftest import PhotoApp
from millionscale.photos.app import Settings, create_app
from millionscale.photos.jobs import JobSettings, tasks
from millionscale.queue import QueueStatus, Worker, WorkerStatistics

THUMBNAIL_MADE = "SELECT thumbnail_path FROM photos WHERE thumbnail_path IS NOT NULL"


@contextlib.contextmanager
def queued_app(
    database_url: str, media_dir: Path, queue_url: str, **options: Any
) -> Iterator[PhotoApp]:
    settings = Settings(
        database_url=database_url,
        secret_key=secrets.token_urlsafe(32),
        media_dir=media_dir,
        max_upload_bytes=256 * 1024,
        pool_max=4,
        queue_url=queue_url,
        **options,
    )
    app = create_app(settings)
    with TestClient(app) as anonymous:
        helper = PhotoApp(app, settings.media_dir, database_url, anonymous)
        yield helper
        for client in helper.clients:
            client.close()


def job_settings(photos: PhotoApp, **options: Any) -> JobSettings:
    return replace(JobSettings(photos.database_url, photos.media_dir, pool_max=2), **options)


def work_until(
    queue_url: str,
    settings: JobSettings,
    done: Callable[[Worker], Awaitable[Any]],
    what: str,
) -> tuple[WorkerStatistics, QueueStatus]:
    """Run the app's workers in-process until ``done(worker)`` is truthy (bounded), then
    stop them gracefully; what they did and what the queue holds afterwards."""

    async def scenario() -> tuple[WorkerStatistics, QueueStatus]:
        async with broker_at(queue_url) as broker, tasks(settings=settings) as handlers:
            async with running(broker, handlers) as worker:
                await eventually(lambda: done(worker), what, RELAY_WAIT_S)
            return worker.statistics(), await broker.status()

    return asyncio.run(scenario())


def settled(count: int) -> Callable[[Worker], Awaitable[bool]]:
    """A check for :func:`work_until`: ``count`` jobs have ended (done or dead-lettered)."""

    async def check(worker: Worker) -> bool:
        stats = worker.statistics()
        return stats.done + stats.dead_lettered >= count

    return check


def query(database_url: str, sql: str, *params: Any) -> list[tuple[Any, ...]]:
    with psycopg.connect(database_url) as conn:
        return conn.execute(sql, params).fetchall()


def rows_of(database_url: str, sql: str, *params: Any) -> Callable[[Worker], Awaitable[Any]]:
    """A check for :func:`work_until`: the rows ``sql`` returns (truthy once there are some)."""

    async def check(_worker: Worker) -> Any:
        async with await psycopg.AsyncConnection.connect(database_url) as conn:
            return await (await conn.execute(sql, params)).fetchall()

    return check
