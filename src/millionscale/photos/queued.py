"""The photo app with a queue (``QUEUE_URL`` set): slow work goes to workers.

:class:`QueuedPhotoRepository` is :class:`~millionscale.photos.repository.PostgresPhotoRepository`
with three changes:

- **a post enqueues its work** in the transaction of its row
  (:func:`~millionscale.queue.enqueue_in`, the transactional outbox): a
  ``thumbnail`` job when the upload has none yet (the row's
  ``thumbnail_path`` is NULL until a worker sets it), and a ``fanout`` job.
  Both are sent once the post commits and never if it rolls back; their
  idempotency keys (``thumbnail:<id>``, ``fanout:<id>``) make a second
  enqueue of the same work one effect. :mod:`millionscale.photos.jobs` runs them.
- **the timeline reads precomputed entries**, merged at read time with the
  viewer's own posts and those of the celebrities they follow
  (:mod:`millionscale.photos.timeline`). A page deeper than the precomputed
  list reaches (it keeps :data:`~millionscale.photos.timeline.TIMELINE_KEEP`)
  is read by fan-out on read, as without a queue: pagination is the same.
- **a follow backfills** the followee's newest posts into the follower's
  entries (unless the followee is a celebrity: merged at read), in the
  follow's transaction, so a followee's past posts show at once; an unfollow
  removes them. Entries of an author the viewer no longer follows are never
  shown either way (a fan-out running during the unfollow may add one).

What a follower may miss, and for how long: a post is on their timeline once
its ``fanout`` job has run (the relay's delay, milliseconds, plus the queue's
backlog). The author sees it at once.

:func:`relay_outbox` is the outbox relay the app runs beside it, on one
database; :func:`relay_primary_outbox` runs it on the primary wherever a
failover or a switchover puts it (the outbox is a table of the primary: a
relay left on the old one, a standby now, could never take a row again).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from typing import Any

import structlog
from psycopg.rows import dict_row

from millionscale.errors import MillionscaleError, QueueError
from millionscale.photos.repository import (
    PHOTO_COLUMNS,
    Conn,
    Cursor,
    PhotoRecord,
    PostgresPhotoRepository,
    photo_record,
)
from millionscale.photos.timeline import TIMELINE_KEEP, merge
from millionscale.queue import JetStreamBroker, Job, OutboxRelay, enqueue_in
from millionscale.queue.outage import MAX_RETRY_S, RETRY_S

__all__ = [
    "PRIMARY_CHECK_S",
    "TRIM",
    "QueuedPhotoRepository",
    "fanout_job",
    "relay_outbox",
    "relay_primary_outbox",
    "thumbnail_job",
]

PRIMARY_CHECK_S = 0.2  # how often the relay asks who the primary is: the router's own poll

log = structlog.get_logger()

# Drop each listed user's entries past their newest ``keep``: one index probe per user
# (OFFSET keep on the (user_id, created_at, photo_id) index), then a ranged delete.
TRIM = """
DELETE FROM timeline_entries t USING (
    SELECT b.user_id, cut.created_at, cut.photo_id
    FROM unnest(%(users)s::bigint[]) AS b (user_id)
    CROSS JOIN LATERAL (
        SELECT e.created_at, e.photo_id FROM timeline_entries e
        WHERE e.user_id = b.user_id
        ORDER BY e.created_at DESC, e.photo_id DESC OFFSET %(keep)s LIMIT 1
    ) cut
) old
WHERE t.user_id = old.user_id AND (t.created_at, t.photo_id) <= (old.created_at, old.photo_id)
"""

_BACKFILL = """
INSERT INTO timeline_entries (user_id, photo_id, created_at)
SELECT %(me)s, p.id, p.created_at FROM photos p
WHERE p.owner_id = %(followee)s
  AND NOT EXISTS (SELECT 1 FROM celebrities c WHERE c.user_id = p.owner_id)
ORDER BY p.created_at DESC, p.id DESC LIMIT %(keep)s
ON CONFLICT DO NOTHING
"""

_PRECOMPUTED = f"""
SELECT {PHOTO_COLUMNS} FROM timeline_entries e
JOIN photos p ON p.id = e.photo_id JOIN users u ON u.id = p.owner_id
WHERE e.user_id = %(viewer)s
  AND EXISTS (SELECT 1 FROM follows f WHERE f.follower_id = %(viewer)s AND f.followee_id = p.owner_id)
  {{older}}
ORDER BY e.created_at DESC, e.photo_id DESC LIMIT %(limit)s
"""

_AT_READ = f"""
SELECT {PHOTO_COLUMNS} FROM photos p JOIN users u ON u.id = p.owner_id
WHERE (p.owner_id = %(viewer)s OR p.owner_id IN (
    SELECT c.user_id FROM celebrities c
    JOIN follows f ON f.followee_id = c.user_id AND f.follower_id = %(viewer)s))
  {{older}}
ORDER BY p.created_at DESC, p.id DESC LIMIT %(limit)s
"""

_FULL = """
SELECT count(*) >= %(keep)s FROM (
    SELECT 1 FROM timeline_entries WHERE user_id = %(viewer)s LIMIT %(keep)s
) kept
"""


def thumbnail_job(photo_id: int) -> Job:
    """Make photo ``photo_id``'s thumbnail (one effect per photo, however often enqueued)."""
    return Job("thumbnail", {"photo": photo_id}, key=f"thumbnail:{photo_id}")


def fanout_job(photo_id: int) -> Job:
    """Write photo ``photo_id`` into its author's followers' timelines."""
    return Job("fanout", {"photo": photo_id}, key=f"fanout:{photo_id}")


class QueuedPhotoRepository(PostgresPhotoRepository):
    """The photo app's data with its slow work queued; see the module docstring."""

    keep = TIMELINE_KEEP

    async def add_photo(
        self,
        owner_id: int,
        caption: str,
        media_path: str,
        thumbnail_path: str | None,
        width: int,
        height: int,
    ) -> PhotoRecord:
        """Insert the photo and enqueue its thumbnail (if ``thumbnail_path`` is None)
        and its fan-out, in one transaction."""

        async def work(conn: Conn) -> Any:
            cur = await conn.execute(
                "INSERT INTO photos (owner_id, caption, media_path, thumbnail_path, width, height)"
                " VALUES (%s, %s, %s, %s, %s, %s) RETURNING id",
                (owner_id, caption, media_path, thumbnail_path, width, height),
            )
            row = await cur.fetchone()
            assert row is not None
            if thumbnail_path is None:
                await enqueue_in(conn, thumbnail_job(row[0]))
            await enqueue_in(conn, fanout_job(row[0]))
            return row

        row = await self._write(work)
        photo = await self.photo(row[0], owner_id)  # read-your-writes: the session saw it
        assert photo is not None
        return photo

    async def follow(self, follower_id: int, username: str) -> bool:
        """Follow ``username`` and backfill their newest posts into the follower's
        entries, in one transaction; False if there is no such user. Idempotent."""

        async def work(conn: Conn) -> bool:
            cur = await conn.execute("SELECT id FROM users WHERE username = %s", (username,))
            row = await cur.fetchone()
            if row is None:
                return False
            if row[0] == follower_id:
                return True  # as the fan-out-on-read repository: nothing to do
            added = await conn.execute(
                "INSERT INTO follows (follower_id, followee_id) VALUES (%s, %s)"
                " ON CONFLICT DO NOTHING",
                (follower_id, row[0]),
            )
            if added.rowcount:
                params = {"me": follower_id, "followee": row[0], "keep": self.keep}
                await conn.execute(_BACKFILL, params)
                await conn.execute(TRIM, {"users": [follower_id], "keep": self.keep})
            return True

        return bool(await self._write(work))

    async def unfollow(self, follower_id: int, username: str) -> bool:
        """Stop following ``username`` and drop their posts from the follower's entries."""

        async def work(conn: Conn) -> bool:
            cur = await conn.execute("SELECT id FROM users WHERE username = %s", (username,))
            row = await cur.fetchone()
            if row is None:
                return False
            await conn.execute(
                "DELETE FROM follows WHERE follower_id = %s AND followee_id = %s",
                (follower_id, row[0]),
            )
            await conn.execute(
                "DELETE FROM timeline_entries e USING photos p"
                " WHERE e.user_id = %s AND p.id = e.photo_id AND p.owner_id = %s",
                (follower_id, row[0]),
            )
            return True

        return bool(await self._write(work))

    async def timeline(
        self, viewer_id: int, before: Cursor | None, limit: int, *, strong: bool = False
    ) -> list[PhotoRecord]:
        """The precomputed entries merged with the posts merged at read (one snapshot);
        fan-out on read for a page below what the entries keep."""
        params: dict[str, Any] = {"viewer": viewer_id, "limit": limit, "keep": self.keep}
        entries_older = posts_older = ""
        if before is not None:
            entries_older = "AND (e.created_at, e.photo_id) < (%(before_at)s, %(before_id)s)"
            posts_older = "AND (p.created_at, p.id) < (%(before_at)s, %(before_id)s)"
            params |= {"before_at": before.created_at, "before_id": before.photo_id}

        async def work(conn: Conn) -> list[PhotoRecord] | None:
            async with conn.transaction():  # one snapshot for both lists
                cur = conn.cursor(row_factory=dict_row)
                await cur.execute(_PRECOMPUTED.format(older=entries_older), params)
                precomputed = [photo_record(row) for row in await cur.fetchall()]
                if len(precomputed) < limit:
                    full = await (await conn.execute(_FULL, params)).fetchone()
                    if full is not None and full[0]:
                        return None  # the page goes below the kept entries
                await cur.execute(_AT_READ.format(older=posts_older), params)
                at_read = [photo_record(row) for row in await cur.fetchall()]
            return merge(precomputed, at_read, limit)

        page: list[PhotoRecord] | None = await self._read(work, strong=strong)
        if page is None:
            return await super().timeline(viewer_id, before, limit, strong=strong)
        return page


async def relay_outbox(
    conninfo: str, queue_url: str, queue: str, stop: asyncio.Event, *, name: str = "photos"
) -> None:
    """Connect to the broker (retrying with backoff while it is down, one warning),
    then run an :class:`~millionscale.queue.OutboxRelay` from ``conninfo`` to it until
    ``stop`` is set. Writes never wait for this: their jobs wait in the outbox."""
    pause, warned = RETRY_S, False
    broker: JetStreamBroker | None = None
    while broker is None and not stop.is_set():
        try:
            broker = await JetStreamBroker.connect(queue_url, queue, name=f"{name}-outbox")
        except QueueError as error:
            if not warned:
                log.warning(
                    f"cannot reach the queue ({error.one_line()}); retrying with backoff up to "
                    f"{MAX_RETRY_S:g} s; jobs wait in the outbox meanwhile"
                )
                warned = True
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), pause)
            pause = min(pause * 2, MAX_RETRY_S)
    if broker is None:
        return
    if warned:
        log.info("reached the queue; relaying the outbox", broker=broker.address)
    try:
        async with OutboxRelay(conninfo, broker, name=f"{name}-outbox") as relay:
            await relay.run(stop)
    finally:
        await broker.close()


async def relay_primary_outbox(
    primary: Callable[[], str],
    queue_url: str,
    queue: str,
    stop: asyncio.Event,
    *,
    name: str = "photos",
    check_s: float = PRIMARY_CHECK_S,
) -> None:
    """:func:`relay_outbox` on the primary's connection string ``primary()`` (the
    router's ``primary_dsn``), until ``stop`` is set. Every ``check_s`` it asks again;
    when the primary has moved it stops that relay (it ends its step first) and starts
    one on the new primary. Nothing is lost meanwhile: the rows wait in the outbox,
    which the new primary holds too (the standbys replicate it), and a row published
    twice across the move is one job (the broker's dedup window). A ``primary()`` that
    raises (no primary known yet) keeps the relay where it is."""
    dsn = primary()
    while not stop.is_set():
        moved = asyncio.Event()
        relay = asyncio.create_task(relay_outbox(dsn, queue_url, queue, moved, name=name))
        try:
            while not stop.is_set() and not relay.done():
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), check_s)
                try:
                    now = primary()
                except MillionscaleError:
                    continue
                if now != dsn:
                    log.info("the primary moved: the outbox relay follows it", relay=name)
                    dsn = now
                    break
        finally:
            moved.set()
            await relay  # its own errors propagate, as from relay_outbox
