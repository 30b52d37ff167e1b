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
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Protocol

from itsdangerous import BadSignature, Signer
from psycopg_pool import AsyncConnectionPool

__all__ = [
    "COOKIE_NAME",
    "SESSIONS_SCHEMA",
    "PostgresSessionStore",
    "Session",
    "SessionCookie",
    "SessionStore",
]

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


class PostgresSessionStore:
    """Sessions in a PostgreSQL table (``SESSIONS_SCHEMA``), reached through a pool.

    ``pool`` is a pool, or a function returning the pool to use now (the data
    tier's router hands out the current primary's, which a failover changes).
    """

    def __init__(self, pool: AsyncConnectionPool | Callable[[], AsyncConnectionPool]) -> None:
        self._pool = pool

    @property
    def pool(self) -> AsyncConnectionPool:
        return self._pool if isinstance(self._pool, AsyncConnectionPool) else self._pool()

    async def create(self, user_id: int, ttl: timedelta = SESSION_TTL) -> str:
        session_id = secrets.token_urlsafe(32)
        async with self.pool.connection() as conn:
            await conn.execute(
                "INSERT INTO sessions (id_hash, user_id, expires_at) VALUES (%s, %s, %s)",
                (_digest(session_id), user_id, datetime.now(UTC) + ttl),
            )
        return session_id

    async def get(self, session_id: str) -> Session | None:
        async with self.pool.connection() as conn:
            cur = await conn.execute(
                "SELECT user_id, expires_at FROM sessions WHERE id_hash = %s AND expires_at > now()",
                (_digest(session_id),),
            )
            row = await cur.fetchone()
        return Session(user_id=row[0], expires_at=row[1]) if row else None

    async def delete(self, session_id: str) -> None:
        async with self.pool.connection() as conn:
            await conn.execute("DELETE FROM sessions WHERE id_hash = %s", (_digest(session_id),))

    async def purge_expired(self) -> int:
        """Delete expired sessions; return how many."""
        async with self.pool.connection() as conn:
            cur = await conn.execute("DELETE FROM sessions WHERE expires_at <= now()")
            return cur.rowcount


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
