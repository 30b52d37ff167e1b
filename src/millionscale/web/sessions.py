"""Sessions for the web tier: an interface, a PostgreSQL store, and signed cookies.

A web server that keeps sessions in its own memory pins each user to it; the
stateless web tier keeps them in a shared store instead, behind
:class:`SessionStore`, so that any web server can serve any user and any can
die. This module has the PostgreSQL implementation; Redis joins with the
stateless web tier.

Guarantees:

- a session id is 256 random bits; the store keeps only its SHA-256, so a
  leaked table (or backup) opens no session;
- the cookie carries the id signed with the app's secret key (itsdangerous,
  HMAC-SHA1 over the value with a key derived per purpose): a forged or
  altered cookie is rejected before the store is asked;
- cookies are ``HttpOnly`` and ``SameSite=Lax`` (``Secure`` when the app is
  served over HTTPS);
- an expired session is never returned, and deleting a session (logout)
  takes effect at once for every web server.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol, TypeVar

from itsdangerous import BadSignature, Signer
from psycopg import AsyncConnection
from psycopg_pool import AsyncConnectionPool

__all__ = [
    "COOKIE_NAME",
    "SESSIONS_SCHEMA",
    "PoolStatements",
    "PostgresSessionStore",
    "Session",
    "SessionCookie",
    "SessionStore",
    "Statements",
]

T = TypeVar("T")
Conn = AsyncConnection[Any]
Work = Callable[[Conn], Awaitable[T]]

COOKIE_NAME = "ms_session"
SESSION_TTL = timedelta(days=14)  # Django's SESSION_COOKIE_AGE is 2 weeks too

SESSIONS_SCHEMA = """
CREATE TABLE IF NOT EXISTS sessions (
    id_hash     bytea PRIMARY KEY,
    user_id     bigint NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now(),
    expires_at  timestamptz NOT NULL
);
CREATE INDEX IF NOT EXISTS sessions_expires_at ON sessions (expires_at);
"""


@dataclass(frozen=True, slots=True)
class Session:
    """A live session: who it belongs to and until when."""

    user_id: int
    expires_at: datetime


class SessionStore(Protocol):
    """Where sessions live. Shared by every web server of a topology.

    Contract: ``create`` returns a new unguessable id; ``get`` returns the
    session for an id while it is unexpired and not deleted, else None;
    ``delete`` is idempotent. Ids are opaque strings; a store may keep only a
    hash of them.
    """

    async def create(self, user_id: int, ttl: timedelta = SESSION_TTL) -> str: ...

    async def get(self, session_id: str) -> Session | None: ...

    async def delete(self, session_id: str) -> None: ...


def _digest(session_id: str) -> bytes:
    return hashlib.sha256(session_id.encode()).digest()


class Statements(Protocol):
    """Runs work on the sessions' database, on a connection in autocommit mode.

    Contract: ``write`` runs ``work`` in one transaction and returns once it
    committed; ``read`` runs it where every committed write is visible (the
    primary). Either may run ``work`` again after a lost connection, so
    ``work`` must be one statement or otherwise safe to repeat.
    """

    async def write(self, work: Work[T]) -> T: ...

    async def read(self, work: Work[T]) -> T: ...


class PoolStatements:
    """:class:`Statements` on one pool of connections to one server."""

    def __init__(self, pool: AsyncConnectionPool) -> None:
        self.pool = pool

    async def write(self, work: Work[T]) -> T:
        async with self.pool.connection() as conn, conn.transaction():
            return await work(conn)

    async def read(self, work: Work[T]) -> T:
        async with self.pool.connection() as conn:
            return await work(conn)


class PostgresSessionStore:
    """Sessions in a PostgreSQL table (``SESSIONS_SCHEMA``).

    ``db`` is a pool, or any :class:`Statements` (the photo app passes the
    data tier's router, whose writes and primary reads survive a failover).
    """

    def __init__(self, db: AsyncConnectionPool | Statements) -> None:
        self.db = PoolStatements(db) if isinstance(db, AsyncConnectionPool) else db

    async def create(self, user_id: int, ttl: timedelta = SESSION_TTL) -> str:
        session_id = secrets.token_urlsafe(32)
        args = (_digest(session_id), user_id, datetime.now(UTC) + ttl)

        async def work(conn: Conn) -> None:
            await conn.execute(
                "INSERT INTO sessions (id_hash, user_id, expires_at) VALUES (%s, %s, %s)", args
            )

        await self.db.write(work)
        return session_id

    async def get(self, session_id: str) -> Session | None:
        async def work(conn: Conn) -> Any:
            cur = await conn.execute(
                "SELECT user_id, expires_at FROM sessions WHERE id_hash = %s AND expires_at > now()",
                (_digest(session_id),),
            )
            return await cur.fetchone()

        row = await self.db.read(work)
        return Session(user_id=row[0], expires_at=row[1]) if row else None

    async def delete(self, session_id: str) -> None:
        async def work(conn: Conn) -> None:
            await conn.execute("DELETE FROM sessions WHERE id_hash = %s", (_digest(session_id),))

        await self.db.write(work)

    async def purge_expired(self) -> int:
        """Delete expired sessions; return how many."""

        async def work(conn: Conn) -> int:
            cur = await conn.execute("DELETE FROM sessions WHERE expires_at <= now()")
            return cur.rowcount

        return await self.db.write(work)


@dataclass(frozen=True, slots=True)
class SessionCookie:
    """Signs session ids into cookie values and checks them back."""

    secret_key: str
    secure: bool = False
    name: str = COOKIE_NAME
    max_age_s: int = int(SESSION_TTL.total_seconds())

    def _signer(self) -> Signer:
        return Signer(self.secret_key, salt="millionscale.session")

    def sign(self, session_id: str) -> str:
        return self._signer().sign(session_id).decode()

    def unsign(self, value: str | None) -> str | None:
        """The session id inside a cookie value, or None if it is missing or forged."""
        if not value:
            return None
        try:
            return self._signer().unsign(value).decode()
        except (BadSignature, UnicodeDecodeError):
            return None

    def attributes(self) -> dict[str, object]:
        """Keyword arguments for Starlette's ``Response.set_cookie``."""
        return {
            "key": self.name,
            "max_age": self.max_age_s,
            "httponly": True,
            "samesite": "lax",
            "secure": self.secure,
            "path": "/",
        }
