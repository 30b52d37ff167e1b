"""The photo app's jobs, run by workers:

    QUEUE_URL=nats://... DATABASE_URL=postgresql://... MEDIA_DIR=./media \\
        [DATABASE_DISCOVERY=unix:PATH] [DATABASE_TIER=db] \\
        [CELEBRITY_FOLLOWERS=10000] [CACHE_URL=redis://...] \\
        python -m millionscale.queue --tasks millionscale.photos.jobs:tasks

:func:`tasks` opens a connection pool to ``DATABASE_URL`` (the primary), or,
with ``DATABASE_DISCOVERY`` set (as the web app takes it), the data tier's
:class:`~millionscale.db.Router` on the PostgreSQL nodes of tier
``DATABASE_TIER`` (``db``), with ``DATABASE_URL`` giving only the user,
password and database: every statement then runs on the primary the router
finds, and follows a failover or a switchover (a transaction cut before its
COMMIT runs again on the next primary; one cut during its COMMIT fails the
job, whose retry the idempotency claim makes safe). It also opens the
media directory the web servers write to (``MEDIA_DIR``: a shared directory),
and, with ``CACHE_URL``, the app's tiered cache for its invalidations; it
yields the two handlers and closes all of it at the end. The jobs are
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
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import psycopg
import structlog
from psycopg_pool import AsyncConnectionPool

from millionscale.cache import CacheSettings, TieredCache
from millionscale.db import Router, Strong
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

__all__ = ["JobSettings", "PhotoJobs", "tasks"]

log = structlog.get_logger()

POOL_MAX = 8  # the worker's default concurrency: one connection per running job
T = TypeVar("T")
Conn = psycopg.AsyncConnection[Any]


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
    # The nodes from this discovery source instead (database_url: credentials, database).
    database_discovery: str | None = None
    database_tier: str = "db"  # the nodes' tier in that source

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> JobSettings:
        """``DATABASE_URL`` (required), ``DATABASE_DISCOVERY``, ``DATABASE_TIER``,
        ``MEDIA_DIR`` (``media``), ``CELEBRITY_FOLLOWERS``, ``CACHE_URL`` and
        ``DB_POOL_MAX``, as the app reads them; ConfigError if bad."""
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


class PhotoJobs:
    """The handlers, on an open pool or router (and cache); see the module docstring.

    ``database`` is a pool on the primary, or a :class:`~millionscale.db.Router`
    (opened), whose primary every statement runs on, across a failover: a
    transaction the primary lost before its COMMIT is run again on the next
    one (:meth:`~millionscale.db.Router.run_write`); an error during COMMIT
    fails the job, and its redelivery is safe (a claimed key, or ``ON
    CONFLICT DO NOTHING``).
    """

    def __init__(
        self,
        settings: JobSettings,
        database: AsyncConnectionPool[Any] | Router,
        cache: TieredCache | None = None,
    ) -> None:
        self.settings = settings
        self.database = database
        self.cache = cache
        self.media = MediaStore(settings.media_dir)

    def handlers(self) -> dict[str, Handler]:
        return {"thumbnail": self.thumbnail, "fanout": self.fanout}

    async def _write(self, work: Callable[[Conn], Awaitable[T]]) -> T:
        """``work`` in one transaction on the primary (run again if the primary was lost
        before COMMIT, with a router)."""
        if isinstance(self.database, Router):
            return await self.database.run_write(work)
        async with self.database.connection() as conn, conn.transaction():
            return await work(conn)

    async def _read(self, work: Callable[[Conn], Awaitable[T]]) -> T:
        """``work`` (a read, safe to run again) on the primary."""
        if isinstance(self.database, Router):
            return await self.database.run_read(work, consistency=Strong())
        async with self.database.connection() as conn:
            return await work(conn)

    async def _photo(self, photo_id: int) -> tuple[Any, ...] | None:
        async def work(conn: Conn) -> tuple[Any, ...] | None:
            cur = await conn.execute(
                "SELECT media_path, thumbnail_path, owner_id FROM photos WHERE id = %s",
                (photo_id,),
            )
            row: tuple[Any, ...] | None = await cur.fetchone()
            return row

        return await self._read(work)

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

        async def work(conn: Conn) -> tuple[Any, ...] | None:
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
            return updated

        updated = await self._write(work)
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

        async def work(conn: Conn) -> str:
            cur = await conn.execute(
                "SELECT EXISTS (SELECT 1 FROM celebrities WHERE user_id = %(u)s),"
                " (SELECT count(*) FROM"
                "   (SELECT 1 FROM follows WHERE followee_id = %(u)s LIMIT %(n)s) f)",
                {"u": owner_id, "n": limit},
            )
            row = await cur.fetchone()
            assert row is not None  # a SELECT without FROM returns one row
            if row[0]:
                return "recorded"
            if not is_celebrity(row[1], self.settings.celebrity_followers):
                return "no"
            await conn.execute(
                "INSERT INTO celebrities (user_id) VALUES (%s) ON CONFLICT DO NOTHING",
                (owner_id,),
            )
            return "new"

        verdict = await self._write(work)
        if verdict != "new":
            return verdict == "recorded"
        log.info(f"user {owner_id} has over {limit - 1} followers: posts merged at read from now")
        return True

    async def _fan_out_batch(
        self, photo_id: int, owner_id: int, after: int
    ) -> tuple[list[int], int]:
        """One transaction: the next followers after id ``after``, the photo written
        into their timelines, those cut to ``keep``; the followers and the rows added."""

        async def work(conn: Conn) -> tuple[list[int], int]:
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

        return await self._write(work)


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
async def _database(
    settings: JobSettings,
) -> AsyncIterator[AsyncConnectionPool[Any] | Router]:
    """A pool on ``DATABASE_URL``, or with a discovery source, the router on its nodes."""
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
    try:
        router = Router.from_discovery(  # the nodes as they come and go, as the web app's
            discovery,
            settings.database_url,
            tier=settings.database_tier,
            pool_min=1,
            pool_max=settings.pool_max,
        )
        async with router:
            yield router
    finally:
        if isinstance(discovery, HttpDiscovery):
            await discovery.aclose()


@asynccontextmanager
async def _opened(settings: JobSettings) -> AsyncIterator[Mapping[str, Handler]]:
    async with _database(settings) as database:
        if settings.cache_url is None:
            yield PhotoJobs(settings, database).handlers()
            return
        # The workers read nothing through the cache: no L1, invalidations only.
        cache = TieredCache(
            settings.cache_url, name=CACHE_NAME, settings=CacheSettings(l1_admission="none")
        )
        async with cache:
            yield PhotoJobs(settings, database, cache).handlers()
