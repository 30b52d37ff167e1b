"""The photo app's jobs, run by workers:

    QUEUE_URL=nats://... DATABASE_URL=postgresql://... MEDIA_DIR=./media \\
        [CELEBRITY_FOLLOWERS=10000] [CACHE_URL=redis://...] \\
        python -m millionscale.queue --tasks millionscale.photos.jobs:tasks

:func:`tasks` opens a connection pool to ``DATABASE_URL`` (the primary), the
media directory the web servers write to (``MEDIA_DIR``: a shared directory),
and, with ``CACHE_URL``, the app's tiered cache for its invalidations; it
yields the two handlers and closes all of it at the end. With
``DATABASE_DISCOVERY=SOURCE`` (as the app takes it: ``{discovery}`` in a
topology) the workers follow the primary as the app does, through a
:class:`~millionscale.db.Router` on the PostgreSQL nodes of tier
``DATABASE_TIER`` (``db``), ``DATABASE_URL`` giving only the user, password
and database: after a failover or a switchover their jobs write to the new
primary (a job that failed on the old one is retried there by the worker's
backoff), not to the node the topology started with. The jobs are
enqueued by :class:`~millionscale.photos.queued.QueuedPhotoRepository`.

``thumbnail`` ``{"photo": ID}``: make the photo's thumbnail from its stored
original (:meth:`~millionscale.photos.media.MediaStore.store_thumbnail`, in a
thread), then set the row's ``thumbnail_path`` in the transaction that claims
the job's key (:func:`~millionscale.queue.claim`): the effect happens once,
however often the job is delivered. A photo with its thumbnail already, or
deleted before or during the job, is done: nothing to do, nothing dead-lettered
(a file this job wrote for a photo deleted meanwhile is removed unless another
photo uses it). After the commit the photo's cache keys are invalidated, so
its page, profile and owner's timeline show the thumbnail at once; followers'
cached timelines within their TTL. Its URL is new (it names the thumbnail's
content), so no CDN edge holds an older answer for it: nothing to purge.

``fanout`` ``{"photo": ID}``: write the photo into each follower's
``timeline_entries``, :data:`~millionscale.photos.timeline.FANOUT_BATCH`
followers per transaction (keyset over follower ids), each batch then cut to
the newest :data:`~millionscale.photos.timeline.TIMELINE_KEEP` entries per
follower. Idempotent without a claim: an entry is inserted ``ON CONFLICT DO
NOTHING``, so a redelivery, or a rerun after a batch failed, writes what is
missing and nothing twice. An author with more than ``CELEBRITY_FOLLOWERS``
followers (or recorded as a celebrity already) is recorded in
``celebrities`` and not fanned out: readers merge their posts at read time.
A photo deleted before or during the fan-out is done.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator, Mapping
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import psycopg
import structlog
from psycopg_pool import AsyncConnectionPool

from millionscale.cache import CacheSettings, TieredCache
from millionscale.db import Router
from millionscale.discovery import HttpDiscovery, connect
from millionscale.errors import ConfigError
from millionscale.photos.cached import CACHE_NAME, photo_keys
from millionscale.photos.media import MediaStore
from millionscale.photos.queued import TRIM
from millionscale.photos.timeline import (
    CELEBRITY_FOLLOWERS,
    FANOUT_BATCH,
    TIMELINE_KEEP,
    is_celebrity,
)
from millionscale.queue import Handler, Job, claim

__all__ = ["Connections", "JobSettings", "PhotoJobs", "PrimaryPool", "tasks"]

log = structlog.get_logger()

POOL_MAX = 8  # the worker's default concurrency: one connection per running job


@dataclass(frozen=True, slots=True)
class JobSettings:
    """What the photo app's workers need: the app's own settings, a few of them."""

    database_url: str = field(repr=False)
    media_dir: Path
    celebrity_followers: int = CELEBRITY_FOLLOWERS
    cache_url: str | None = field(default=None, repr=False)
    fanout_batch: int = FANOUT_BATCH
    keep: int = TIMELINE_KEEP
    pool_max: int = POOL_MAX
    database_discovery: str | None = None  # follow the primary through discovery
    database_tier: str = "db"

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> JobSettings:
        """``DATABASE_URL`` (required), ``MEDIA_DIR`` (``media``), ``CELEBRITY_FOLLOWERS``,
        ``CACHE_URL``, ``DB_POOL_MAX``, ``DATABASE_DISCOVERY`` and ``DATABASE_TIER``, as
        the app reads them; ConfigError if bad."""
        env = os.environ if env is None else env
        if not env.get("DATABASE_URL"):
            raise ConfigError(
                "DATABASE_URL not set",
                hint="the photo app's workers need its database (the topology's env table)",
            )
        try:
            threshold = int(env.get("CELEBRITY_FOLLOWERS", "") or CELEBRITY_FOLLOWERS)
            pool_max = int(env.get("DB_POOL_MAX", "") or POOL_MAX)
        except ValueError as error:
            raise ConfigError(f"bad value in the environment: {error}", hint="fix it") from None
        if threshold < 0 or pool_max < 1:
            raise ConfigError(
                "CELEBRITY_FOLLOWERS must be 0 or more and DB_POOL_MAX 1 or more",
                hint="fix it",
            )
        return cls(
            database_url=env["DATABASE_URL"],
            media_dir=Path(env.get("MEDIA_DIR", "") or "media"),
            celebrity_followers=threshold,
            cache_url=env.get("CACHE_URL", "").strip() or None,
            pool_max=pool_max,
            database_discovery=env.get("DATABASE_DISCOVERY", "").strip() or None,
            database_tier=env.get("DATABASE_TIER", "").strip() or "db",
        )


class Connections(Protocol):
    """Where the handlers get a primary connection: a pool, or :class:`PrimaryPool`."""

    def connection(self) -> AbstractAsyncContextManager[psycopg.AsyncConnection[Any]]: ...


class PrimaryPool:
    """The pool of the node ``router`` takes for the primary, asked again for each
    connection: it changes with a failover (:attr:`~millionscale.db.Router.primary_pool`).
    Its connections are in autocommit: the handlers write inside ``conn.transaction()``."""

    def __init__(self, router: Router) -> None:
        self.router = router

    def connection(self) -> AbstractAsyncContextManager[psycopg.AsyncConnection[Any]]:
        return self.router.primary_pool.connection()


class PhotoJobs:
    """The handlers, on an open pool (and cache); see the module docstring."""

    def __init__(
        self,
        settings: JobSettings,
        pool: Connections,
        cache: TieredCache | None = None,
    ) -> None:
        self.settings = settings
        self.pool = pool
        self.cache = cache
        self.media = MediaStore(settings.media_dir)

    def handlers(self) -> dict[str, Handler]:
        return {"thumbnail": self.thumbnail, "fanout": self.fanout}

    async def _photo(self, photo_id: int) -> tuple[Any, ...] | None:
        async with self.pool.connection() as conn:
            cur = await conn.execute(
                "SELECT media_path, thumbnail_path, owner_id FROM photos WHERE id = %s",
                (photo_id,),
            )
            row: tuple[Any, ...] | None = await cur.fetchone()
        return row

    async def thumbnail(self, job: Job) -> None:
        photo_id = int(job.args["photo"])
        row = await self._photo(photo_id)
        if row is None or row[1] is not None:
            return  # deleted, or made already: done
        try:
            relative, created = await asyncio.to_thread(self.media.store_thumbnail, row[0])
        except FileNotFoundError:
            if await self._photo(photo_id) is None:
                return  # deleted while we read its file
            raise
        async with self.pool.connection() as conn, conn.transaction():
            updated = None
            if await claim(conn, job):
                cur = await conn.execute(
                    "UPDATE photos p SET thumbnail_path = %s FROM users u"
                    " WHERE p.id = %s AND p.thumbnail_path IS NULL AND u.id = p.owner_id"
                    " RETURNING p.owner_id, u.username",
                    (relative, photo_id),
                )
                updated = await cur.fetchone()
            if updated is None and created is not None:
                used = await conn.execute(
                    "SELECT 1 FROM photos WHERE thumbnail_path = %(p)s OR media_path = %(p)s",
                    {"p": relative},
                )
                if await used.fetchone() is None:
                    self.media.remove([created])  # written for a photo deleted meanwhile
        if updated is not None and self.cache is not None:
            await self.cache.invalidate(*photo_keys(photo_id, updated[0], updated[1]))

    async def fanout(self, job: Job) -> None:
        photo_id = int(job.args["photo"])
        row = await self._photo(photo_id)
        if row is None:
            return  # deleted before its fan-out: done
        owner_id = row[2]
        if await self._celebrity(owner_id):
            return
        after, written = 0, 0
        while True:
            try:
                batch, added = await self._fan_out_batch(photo_id, owner_id, after)
            except psycopg.errors.ForeignKeyViolation:
                return  # the photo was deleted under the batch: done
            written += added
            if len(batch) < self.settings.fanout_batch:
                break
            after = batch[-1]
        log.debug(f"photo {photo_id} fanned out: {written} new timeline entries", task="fanout")

    async def _celebrity(self, owner_id: int) -> bool:
        """Whether ``owner_id``'s posts are merged at read (recording it if newly so)."""
        limit = self.settings.celebrity_followers + 1  # counting past the threshold is enough
        async with self.pool.connection() as conn, conn.transaction():
            cur = await conn.execute(
                "SELECT EXISTS (SELECT 1 FROM celebrities WHERE user_id = %(u)s),"
                " (SELECT count(*) FROM"
                "   (SELECT 1 FROM follows WHERE followee_id = %(u)s LIMIT %(n)s) f)",
                {"u": owner_id, "n": limit},
            )
            row = await cur.fetchone()
            assert row is not None  # a SELECT without FROM returns one row
            if row[0]:
                return True
            if not is_celebrity(row[1], self.settings.celebrity_followers):
                return False
            await conn.execute(
                "INSERT INTO celebrities (user_id) VALUES (%s) ON CONFLICT DO NOTHING",
                (owner_id,),
            )
        log.info(f"user {owner_id} has over {limit - 1} followers: posts merged at read from now")
        return True

    async def _fan_out_batch(
        self, photo_id: int, owner_id: int, after: int
    ) -> tuple[list[int], int]:
        """One transaction: the next followers after id ``after``, the photo written
        into their timelines, those cut to ``keep``; the followers and the rows added."""
        async with self.pool.connection() as conn, conn.transaction():
            cur = await conn.execute(
                "SELECT follower_id FROM follows WHERE followee_id = %s AND follower_id > %s"
                " ORDER BY follower_id LIMIT %s",
                (owner_id, after, self.settings.fanout_batch),
            )
            batch = [follower for (follower,) in await cur.fetchall()]
            if not batch:
                return batch, 0
            added = await conn.execute(
                "INSERT INTO timeline_entries (user_id, photo_id, created_at)"
                " SELECT f, p.id, p.created_at FROM unnest(%s::bigint[]) AS f, photos p"
                " WHERE p.id = %s ON CONFLICT DO NOTHING",
                (batch, photo_id),
            )
            await conn.execute(TRIM, {"users": batch, "keep": self.settings.keep})
        return batch, added.rowcount


def tasks(
    arg: str | None = None, *, settings: JobSettings | None = None
) -> AbstractAsyncContextManager[Mapping[str, Handler]]:
    """The photo app's task set for ``--tasks millionscale.photos.jobs:tasks``: opens the
    pool (and the cache) on entry, yields ``{task: handler}``, closes them on exit.
    Settings from the environment unless given; it takes no ``=ARG``."""
    if arg is not None:
        raise ValueError("millionscale.photos.jobs:tasks takes no argument")
    chosen = settings or JobSettings.from_env()
    return _opened(chosen)


@asynccontextmanager
async def _connections(settings: JobSettings) -> AsyncIterator[Connections]:
    """The primary's pool: a router following discovery, else ``DATABASE_URL``'s pool."""
    if settings.database_discovery is None:
        pool: AsyncConnectionPool[Any] = AsyncConnectionPool(
            settings.database_url, min_size=1, max_size=settings.pool_max, open=False
        )
        await pool.open()
        try:
            yield pool
        finally:
            await pool.close()
        return
    # DiscoveryError for a source that cannot be opened (an unknown scheme, no token).
    discovery = connect(settings.database_discovery)
    router = Router.from_discovery(
        discovery,
        settings.database_url,
        tier=settings.database_tier,
        pool_min=1,
        pool_max=settings.pool_max,
    )
    try:
        async with router:  # finds the primary, wherever a failover has put it
            yield PrimaryPool(router)
    finally:
        if isinstance(discovery, HttpDiscovery):
            await discovery.aclose()


@asynccontextmanager
async def _opened(settings: JobSettings) -> AsyncIterator[Mapping[str, Handler]]:
    async with _connections(settings) as pool:
        if settings.cache_url is None:
            yield PhotoJobs(settings, pool).handlers()
            return
        # The workers read nothing through the cache: no L1, invalidations only.
        cache = TieredCache(
            settings.cache_url, name=CACHE_NAME, settings=CacheSettings(l1_admission="none")
        )
        async with cache:
            yield PhotoJobs(settings, pool, cache).handlers()
