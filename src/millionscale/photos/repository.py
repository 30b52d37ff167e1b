"""Data access for the photo app, behind one interface.

Handlers never write SQL: they call a :class:`PhotoRepository`. Later tiers
slot in here without touching handlers: the database router (reads to
replicas, read-your-writes), the cache tier (cache-aside around ``photo`` and
``timeline``), shards (users and their photos placed by user id) and the queue
(thumbnails off the request path: :mod:`millionscale.photos.queued`).

:class:`PostgresPhotoRepository` is the implementation on one PostgreSQL. Its
timeline is fan-out on read: the newest photos of the viewer and of everyone
the viewer follows, by a keyset cursor ``(created_at, id)`` so that pages are
stable while new photos arrive.
"""

from __future__ import annotations

import contextvars
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

import psycopg
from psycopg import AsyncConnection
from psycopg.rows import dict_row

from millionscale.db import Router, Session, Strong

__all__ = [
    "DB_SESSION",
    "PHOTO_COLUMNS",
    "Cursor",
    "PhotoRecord",
    "PhotoRepository",
    "PostgresPhotoRepository",
    "Profile",
    "RemovedMedia",
    "User",
    "UsernameTaken",
    "photo_record",
]


class UsernameTaken(Exception):
    """Sign-up with a username that exists."""


@dataclass(frozen=True, slots=True)
class User:
    id: int
    username: str


@dataclass(frozen=True, slots=True)
class PhotoRecord:
    id: int
    owner: User
    caption: str
    media_path: str
    thumbnail_path: str | None  # None until a worker has made it (the queued mode)
    width: int
    height: int
    like_count: int
    created_at: datetime
    liked_by_me: bool


@dataclass(frozen=True, slots=True)
class Profile:
    user: User
    followers: int
    following: int
    photo_count: int
    followed_by_me: bool
    photos: tuple[PhotoRecord, ...]


@dataclass(frozen=True, slots=True)
class Cursor:
    """A position in a newest-first list: strictly older than this photo."""

    created_at: datetime
    photo_id: int


@dataclass(frozen=True, slots=True)
class RemovedMedia:
    """Files a deleted photo used that no other photo uses: safe to delete."""

    paths: tuple[str, ...]


class PhotoRepository(Protocol):
    """Everything the photo app reads and writes.

    Writes are atomic: each method commits all of its change or none of it.
    ``viewer_id`` decides ``liked_by_me`` and ``followed_by_me``; None is an
    anonymous viewer.
    """

    async def create_user(self, username: str, password_hash: str) -> User: ...

    async def credentials(self, username: str) -> tuple[User, str] | None: ...

    async def user(self, user_id: int) -> User | None: ...

    async def follow(self, follower_id: int, username: str) -> bool: ...

    async def unfollow(self, follower_id: int, username: str) -> bool: ...

    async def add_photo(
        self,
        owner_id: int,
        caption: str,
        media_path: str,
        thumbnail_path: str | None,
        width: int,
        height: int,
    ) -> PhotoRecord: ...

    async def photo(self, photo_id: int, viewer_id: int | None) -> PhotoRecord | None: ...

    async def update_caption(self, photo_id: int, owner_id: int, caption: str) -> bool: ...

    async def delete_photo(self, photo_id: int, owner_id: int) -> RemovedMedia | None: ...

    async def like(self, photo_id: int, user_id: int, liked: bool) -> int | None: ...

    async def timeline(
        self, viewer_id: int, before: Cursor | None, limit: int
    ) -> list[PhotoRecord]: ...

    async def profile(self, username: str, viewer_id: int | None, limit: int) -> Profile | None: ...


PHOTO_COLUMNS = """
    p.id, p.owner_id, u.username, p.caption, p.media_path, p.thumbnail_path,
    p.width, p.height, p.like_count, p.created_at,
    EXISTS (SELECT 1 FROM likes l WHERE l.photo_id = p.id AND l.user_id = %(viewer)s) AS liked
"""


def photo_record(row: dict[str, Any]) -> PhotoRecord:
    return PhotoRecord(
        id=row["id"],
        owner=User(row["owner_id"], row["username"]),
        caption=row["caption"],
        media_path=row["media_path"],
        thumbnail_path=row["thumbnail_path"],
        width=row["width"],
        height=row["height"],
        like_count=row["like_count"],
        created_at=row["created_at"],
        liked_by_me=bool(row["liked"]),
    )


DB_SESSION: contextvars.ContextVar[Session | None] = contextvars.ContextVar(
    "millionscale_db_session", default=None
)
"""The current user's database session (last write's LSN), set per request by the app."""

Conn = AsyncConnection[Any]


class PostgresPhotoRepository:
    """The photo app's data on PostgreSQL, through the data tier's router.

    Writes go to the primary; reads go to replicas with read-your-writes for
    the request's :data:`DB_SESSION` (a user sees what they wrote, on any web
    server, despite replica lag), or to the primary where they must be
    authoritative (credentials). A replica lost under a read is retried once
    elsewhere.
    """

    def __init__(self, router: Router) -> None:
        self.router = router

    async def _write(self, work: Callable[[Conn], Awaitable[Any]]) -> Any:
        """One transaction on the primary, run again on the next primary if the
        first was lost before COMMIT (a failover or a switchover)."""
        return await self.router.run_write(work, DB_SESSION.get())

    async def _read(self, work: Callable[[Conn], Awaitable[Any]], *, strong: bool = False) -> Any:
        if strong:
            return await self.router.run_read(work, consistency=Strong())
        return await self.router.run_read(work, DB_SESSION.get())

    async def create_user(self, username: str, password_hash: str) -> User:
        async def work(conn: Conn) -> Any:
            cur = await conn.execute(
                "INSERT INTO users (username, password_hash) VALUES (%s, %s) RETURNING id",
                (username, password_hash),
            )
            return await cur.fetchone()

        try:
            row = await self._write(work)
        except psycopg.errors.UniqueViolation:
            raise UsernameTaken(username) from None
        assert row is not None
        return User(row[0], username)

    async def credentials(self, username: str) -> tuple[User, str] | None:
        async def work(conn: Conn) -> tuple[User, str] | None:
            cur = await conn.execute(
                "SELECT id, username, password_hash FROM users WHERE username = %s", (username,)
            )
            row = await cur.fetchone()
            return (User(row[0], row[1]), row[2]) if row else None

        # Authoritative: an account created a moment ago, elsewhere, can log in.
        result: tuple[User, str] | None = await self._read(work, strong=True)
        return result

    async def user(self, user_id: int, *, strong: bool = False) -> User | None:
        async def work(conn: Conn) -> User | None:
            cur = await conn.execute("SELECT id, username FROM users WHERE id = %s", (user_id,))
            row = await cur.fetchone()
            return User(row[0], row[1]) if row else None

        result: User | None = await self._read(work, strong=strong)
        return result

    async def _follow_change(self, follower_id: int, username: str, change: str) -> bool:
        async def work(conn: Conn) -> Any:
            cur = await conn.execute(
                "WITH target AS (SELECT id FROM users WHERE username = %(name)s),"
                f" change AS ({change})"
                " SELECT count(*) FROM target",
                {"name": username, "me": follower_id},
            )
            return await cur.fetchone()

        row = await self._write(work)
        return bool(row and row[0])

    async def follow(self, follower_id: int, username: str) -> bool:
        """Follow ``username``; False if there is no such user. Idempotent."""
        return await self._follow_change(
            follower_id,
            username,
            "INSERT INTO follows (follower_id, followee_id)"
            " SELECT %(me)s, id FROM target WHERE id <> %(me)s ON CONFLICT DO NOTHING",
        )

    async def unfollow(self, follower_id: int, username: str) -> bool:
        return await self._follow_change(
            follower_id,
            username,
            "DELETE FROM follows WHERE follower_id = %(me)s"
            " AND followee_id IN (SELECT id FROM target)",
        )

    async def add_photo(
        self,
        owner_id: int,
        caption: str,
        media_path: str,
        thumbnail_path: str | None,
        width: int,
        height: int,
    ) -> PhotoRecord:
        async def work(conn: Conn) -> Any:
            cur = await conn.execute(
                "INSERT INTO photos (owner_id, caption, media_path, thumbnail_path, width, height)"
                " VALUES (%s, %s, %s, %s, %s, %s) RETURNING id",
                (owner_id, caption, media_path, thumbnail_path, width, height),
            )
            return await cur.fetchone()

        row = await self._write(work)
        assert row is not None
        photo = await self.photo(row[0], owner_id)  # read-your-writes: the session saw it
        assert photo is not None
        return photo

    async def photo(
        self, photo_id: int, viewer_id: int | None, *, strong: bool = False
    ) -> PhotoRecord | None:
        async def work(conn: Conn) -> PhotoRecord | None:
            cur = conn.cursor(row_factory=dict_row)
            await cur.execute(
                f"SELECT {PHOTO_COLUMNS} FROM photos p JOIN users u ON u.id = p.owner_id"
                " WHERE p.id = %(id)s",
                {"id": photo_id, "viewer": viewer_id},
            )
            row = await cur.fetchone()
            return photo_record(row) if row else None

        result: PhotoRecord | None = await self._read(work, strong=strong)
        return result

    async def update_caption(self, photo_id: int, owner_id: int, caption: str) -> bool:
        async def work(conn: Conn) -> int:
            cur = await conn.execute(
                "UPDATE photos SET caption = %s WHERE id = %s AND owner_id = %s",
                (caption, photo_id, owner_id),
            )
            return cur.rowcount

        return bool(await self._write(work) == 1)

    async def delete_photo(self, photo_id: int, owner_id: int) -> RemovedMedia | None:
        """Delete the photo if ``owner_id`` owns it; return the files no photo uses any more."""

        async def work(conn: Conn) -> RemovedMedia | None:
            cur = await conn.execute(
                "DELETE FROM photos WHERE id = %s AND owner_id = %s"
                " RETURNING media_path, thumbnail_path",
                (photo_id, owner_id),
            )
            row = await cur.fetchone()
            if row is None:
                return None
            unused = []
            for path in row:
                if path is None:
                    continue  # a thumbnail not made yet: its job finds the photo gone
                used = await conn.execute(
                    "SELECT 1 FROM photos WHERE media_path = %(p)s OR thumbnail_path = %(p)s LIMIT 1",
                    {"p": path},
                )
                if await used.fetchone() is None:
                    unused.append(path)
            return RemovedMedia(tuple(unused))

        removed: RemovedMedia | None = await self._write(work)
        return removed

    async def like(self, photo_id: int, user_id: int, liked: bool) -> int | None:
        """Like or unlike; return the new like count, or None if there is no such photo.

        The count is kept on the photo row (denormalised) and changes only
        when a like is really added or removed, in the same transaction.
        """

        async def work(conn: Conn) -> Any:
            if liked:
                change = await conn.execute(
                    "INSERT INTO likes (photo_id, user_id) SELECT id, %s FROM photos WHERE id = %s"
                    " ON CONFLICT DO NOTHING",
                    (user_id, photo_id),
                )
                delta = 1
            else:
                change = await conn.execute(
                    "DELETE FROM likes WHERE photo_id = %s AND user_id = %s", (photo_id, user_id)
                )
                delta = -1
            if change.rowcount:
                cur = await conn.execute(
                    "UPDATE photos SET like_count = like_count + %s WHERE id = %s"
                    " RETURNING like_count",
                    (delta, photo_id),
                )
            else:
                cur = await conn.execute("SELECT like_count FROM photos WHERE id = %s", (photo_id,))
            return await cur.fetchone()

        row = await self._write(work)
        return int(row[0]) if row else None

    async def timeline(
        self, viewer_id: int, before: Cursor | None, limit: int, *, strong: bool = False
    ) -> list[PhotoRecord]:
        params: dict[str, Any] = {"viewer": viewer_id, "limit": limit}
        older = ""
        if before is not None:
            older = "AND (p.created_at, p.id) < (%(before_at)s, %(before_id)s)"
            params |= {"before_at": before.created_at, "before_id": before.photo_id}

        async def work(conn: Conn) -> list[PhotoRecord]:
            cur = conn.cursor(row_factory=dict_row)
            await cur.execute(
                f"SELECT {PHOTO_COLUMNS} FROM photos p JOIN users u ON u.id = p.owner_id"
                " WHERE (p.owner_id = %(viewer)s OR p.owner_id IN"
                "   (SELECT followee_id FROM follows WHERE follower_id = %(viewer)s))"
                f" {older} ORDER BY p.created_at DESC, p.id DESC LIMIT %(limit)s",
                params,
            )
            return [photo_record(row) for row in await cur.fetchall()]

        result: list[PhotoRecord] = await self._read(work, strong=strong)
        return result

    async def profile(
        self, username: str, viewer_id: int | None, limit: int, *, strong: bool = False
    ) -> Profile | None:
        async def work(conn: Conn) -> Profile | None:
            async with conn.transaction():  # one snapshot for the counts and the photos
                cur = conn.cursor(row_factory=dict_row)
                await cur.execute(
                    "SELECT u.id, u.username,"
                    " (SELECT count(*) FROM follows WHERE followee_id = u.id) AS followers,"
                    " (SELECT count(*) FROM follows WHERE follower_id = u.id) AS following,"
                    " (SELECT count(*) FROM photos WHERE owner_id = u.id) AS photo_count,"
                    " EXISTS (SELECT 1 FROM follows WHERE follower_id = %(viewer)s"
                    "   AND followee_id = u.id) AS followed_by_me"
                    " FROM users u WHERE u.username = %(name)s",
                    {"name": username, "viewer": viewer_id},
                )
                user = await cur.fetchone()
                if user is None:
                    return None
                await cur.execute(
                    f"SELECT {PHOTO_COLUMNS} FROM photos p JOIN users u ON u.id = p.owner_id"
                    " WHERE p.owner_id = %(owner)s ORDER BY p.created_at DESC, p.id DESC"
                    " LIMIT %(limit)s",
                    {"owner": user["id"], "viewer": viewer_id, "limit": limit},
                )
                photos = await cur.fetchall()
            return Profile(
                user=User(user["id"], user["username"]),
                followers=user["followers"],
                following=user["following"],
                photo_count=user["photo_count"],
                followed_by_me=bool(user["followed_by_me"]),
                photos=tuple(photo_record(row) for row in photos),
            )

        result: Profile | None = await self._read(work, strong=strong)
        return result

    async def viewer_marks(
        self, viewer_id: int, user_id: int | None, photo_ids: list[int]
    ) -> tuple[bool, frozenset[int]]:
        """Whether ``viewer_id`` follows ``user_id``, and which of ``photo_ids`` they like:
        what a cached page, the same for everyone, lacks for one viewer. One query."""

        async def work(conn: Conn) -> tuple[bool, frozenset[int]]:
            cur = await conn.execute(
                "SELECT EXISTS (SELECT 1 FROM follows WHERE follower_id = %(viewer)s"
                "   AND followee_id = %(user)s),"
                " ARRAY(SELECT photo_id FROM likes WHERE user_id = %(viewer)s"
                "   AND photo_id = ANY(%(photos)s))",
                {"viewer": viewer_id, "user": user_id, "photos": photo_ids},
            )
            row = await cur.fetchone()
            assert row is not None
            return bool(row[0]), frozenset(row[1])

        marks: tuple[bool, frozenset[int]] = await self._read(work)
        return marks
