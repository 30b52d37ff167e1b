"""Sessions for the web tier: an interface, PostgreSQL and Redis stores, signed cookies.

A web server that keeps sessions in its own memory pins each user to it; the
stateless web tier keeps them in a shared store instead, behind
:class:`SessionStore`, so that any web server can serve any user and any can
die. :class:`PostgresSessionStore` keeps them in the app's database (the
single-server stage); :class:`RedisSessionStore` keeps them in Redis (the
stateless web tier), and also implements :class:`SessionUpdates`: small
per-session data that concurrent requests change without losing each other's
changes.

Guarantees of every store here:

- a session id is 256 random bits; the store keeps only its SHA-256 (the
  table's key, or the Redis key), so a leaked table, dump or backup opens no
  session;
- the cookie carries only the id, signed with the app's secret key
  (itsdangerous, HMAC-SHA1 over the value with a key derived per purpose): a
  forged or altered cookie is rejected before the store is asked;
- cookies are ``HttpOnly`` and ``SameSite=Lax`` (``Secure`` when the app is
  served over HTTPS);
- an expired session is never returned, and deleting a session (logout)
  takes effect at once for every web server.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from collections.abc import Awaitable, Callable, Mapping
from collections.abc import Set as AbstractSet
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from types import MappingProxyType
from typing import Any, Protocol, TypeVar, cast

import redis.exceptions as redis_errors
from itsdangerous import BadSignature, Signer
from prometheus_client import Counter
from psycopg import AsyncConnection
from psycopg_pool import AsyncConnectionPool

from millionscale.cache.l2 import bounded_client, redis_address
from millionscale.errors import SessionStoreUnavailable

__all__ = [
    "COOKIE_NAME",
    "COUNTER_MAX",
    "SESSIONS_SCHEMA",
    "SESSION_TTL",
    "PoolStatements",
    "PostgresSessionStore",
    "RedisSessionStore",
    "Session",
    "SessionChanges",
    "SessionCookie",
    "SessionStore",
    "SessionStoreStatistics",
    "SessionUpdates",
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


FIELD_PATTERN = re.compile(r"[A-Za-z0-9_.:-]{1,64}")  # short names chosen by the app's code
VALUE_MAX_BYTES = 4096  # RFC 6265 6.1: what a browser keeps per cookie (a cookie session)
COUNTER_MAX = 2**53 - 1  # JavaScript's Number.MAX_SAFE_INTEGER: exact in JSON and in Lua's doubles


def _frozen(mapping: Mapping[str, T] | None = None) -> Mapping[str, T]:
    return MappingProxyType(dict(mapping or {}))


@dataclass(frozen=True, slots=True)
class Session:
    """A live session: who it belongs to, until when, and its small data.

    ``data`` maps field names to strings (counters are decimal strings; read
    them with :meth:`counter`): a read-only snapshot of the moment the store
    answered. Stores without :class:`SessionUpdates` always give it empty.
    """

    user_id: int
    expires_at: datetime
    data: Mapping[str, str] = field(default_factory=_frozen, hash=False)

    def counter(self, name: str) -> int:
        """The integer counter ``name`` (0 while it was never incremented)."""
        return int(self.data.get(name, "0"))


@dataclass(frozen=True, slots=True)
class SessionChanges:
    """Changes to one session's data, applied together by :meth:`SessionUpdates.update`.

    ``assign`` sets fields to strings, ``increment`` adds to integer counters
    (a counter never set counts from 0; an amount may be negative),
    ``remove`` deletes fields. A field appears in at most one of the three.
    Construction checks everything and raises ValueError naming the field:
    names match ``[A-Za-z0-9_.:-]{1,64}``, values are at most 4096 bytes of
    UTF-8, amounts are integers within ``COUNTER_MAX``. The record keeps
    read-only copies of the mappings it was given.
    """

    assign: Mapping[str, str] = field(default_factory=_frozen)
    increment: Mapping[str, int] = field(default_factory=_frozen)
    remove: AbstractSet[str] = frozenset()  # kept as a frozenset

    def __post_init__(self) -> None:
        names = [*self.assign, *self.increment, *self.remove]
        for name in names:
            if not isinstance(name, str) or not FIELD_PATTERN.fullmatch(name):
                raise ValueError(f"session field name {name!r} is not 1-64 of A-Z a-z 0-9 _ . : -")
        repeated = sorted({name for name in names if names.count(name) > 1})
        if repeated:
            raise ValueError(f"session field {repeated[0]!r} is changed twice in one update")
        for name, value in self.assign.items():
            if not isinstance(value, str):
                raise ValueError(
                    f"session field {name!r}: a value is a str, not {type(value).__name__}"
                )
            if len(value.encode()) > VALUE_MAX_BYTES:
                raise ValueError(f"session field {name!r}: value over {VALUE_MAX_BYTES} bytes")
        for name, amount in self.increment.items():
            if type(amount) is not int or abs(amount) > COUNTER_MAX:
                raise ValueError(
                    f"session field {name!r}: increment {amount!r} is not an integer "
                    f"within +-{COUNTER_MAX}"
                )
        object.__setattr__(self, "assign", _frozen(self.assign))
        object.__setattr__(self, "increment", _frozen(self.increment))
        object.__setattr__(self, "remove", frozenset(self.remove))


class SessionStore(Protocol):
    """Where sessions live. Shared by every web server of a topology.

    Contract: ``create`` returns a new unguessable id; ``get`` returns the
    session for an id while it is unexpired and not deleted, else None;
    ``delete`` is idempotent. Ids are opaque strings; a store may keep only a
    hash of them. A store that cannot be reached raises: the Redis store
    :class:`~millionscale.errors.SessionStoreUnavailable`, the PostgreSQL
    store the data tier's errors (which the photo app answers with 503 too).
    """

    async def create(self, user_id: int, ttl: timedelta = SESSION_TTL) -> str: ...

    async def get(self, session_id: str) -> Session | None: ...

    async def delete(self, session_id: str) -> None: ...


class SessionUpdates(Protocol):
    """The extension of :class:`SessionStore` for stores whose sessions carry data.

    Contract: ``update`` applies all of ``changes`` to the live session at
    once and returns the session as it is right after; when the session does
    not exist (expired, deleted, never was) it changes nothing and returns
    None: an update never brings a session back. Updates of one session are
    serializable: concurrent updates of different fields all persist,
    concurrent increments of one counter all add up, and of two concurrent
    assignments to one field the one applied last stays. An update is applied
    at most once: one that raises
    :class:`~millionscale.errors.SessionStoreUnavailable` may or may not have
    been applied, and is never applied twice. It does not move the session's
    expiry. Incrementing a field that holds no integer, or beyond
    ``COUNTER_MAX``, raises ValueError and changes nothing.
    """

    async def update(self, session_id: str, changes: SessionChanges) -> Session | None: ...


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

    It does not implement :class:`SessionUpdates`: :class:`Statements` may run
    work again after a lost connection, so an increment could count twice,
    and an at-most-once update would need a ledger of applied updates. Use
    :class:`RedisSessionStore` for session data.
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


REDIS_TIMEOUT_S = 1.0  # per command and per connect: a session read on a LAN takes well under 1 ms
REDIS_POOL_MAX = 50  # connections per web process: redis-py's BlockingConnectionPool default
REDIS_KEY_PREFIX = "ms:session:"
_USER_ID, _EXPIRES_AT, _DATA = "user_id", "expires_at", "d:"  # hash fields; data fields prefixed

_OPERATIONS = Counter(
    "session_store_operations_total",
    "Session store operations, by store, operation and outcome (ok, missing, unavailable).",
    ["store", "operation", "outcome"],
)

# One script, so that an update is one atomic step in Redis (no other command
# runs while a script runs). Redis does not roll a script back when a command
# in it fails, so every check comes before the first write.
# KEYS[1] the session's key; ARGV: how many assignments, increments and
# removals, then (field, value) pairs, (field, amount) pairs, fields.
_UPDATE_SCRIPT = """
local key = KEYS[1]
if redis.call('HEXISTS', key, 'user_id') == 0 then
  return false
end
local na, ni, nr = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
local inc = 4 + 2 * na
local rem = inc + 2 * ni
for i = inc, rem - 1, 2 do
  local current = redis.call('HGET', key, ARGV[i])
  local n = 0
  if current then
    if current ~= '0' and not string.match(current, '^-?[1-9]%d*$') then
      return redis.error_reply('MSNOTCOUNTER ' .. ARGV[i])
    end
    n = tonumber(current)
  end
  if math.abs(n + tonumber(ARGV[i + 1])) > tonumber(ARGV[rem + nr]) then
    return redis.error_reply('MSOVERFLOW ' .. ARGV[i])
  end
end
for i = 4, inc - 1, 2 do
  redis.call('HSET', key, ARGV[i], ARGV[i + 1])
end
for i = inc, rem - 1, 2 do
  redis.call('HINCRBY', key, ARGV[i], ARGV[i + 1])
end
for i = rem, rem + nr - 1 do
  redis.call('HDEL', key, ARGV[i])
end
return redis.call('HGETALL', key)
"""


@dataclass(frozen=True, slots=True)
class SessionStoreStatistics:
    """What a session store has done since it was made."""

    created: int
    found: int
    missing: int
    updated: int
    deleted: int
    unavailable: int  # operations that raised SessionStoreUnavailable
    retried: int  # idempotent operations repeated once on a fresh connection


class RedisSessionStore:
    """Sessions in Redis: :class:`SessionStore` and :class:`SessionUpdates`.

    Each session is one Redis hash under ``ms:session:<SHA-256 of the id,
    hex>``: fields ``user_id``, ``expires_at`` (Unix milliseconds) and the
    session's data fields (prefixed ``d:``), with a Redis TTL equal to the
    session's. Expiry is Redis's: one clock for every web server, and Redis
    never returns a key past its TTL.

    Guarantees, beyond :class:`SessionStore`'s and :class:`SessionUpdates`':

    - ``update`` is one Lua script, so each update is atomic and updates of
      one session are serialized by Redis itself; it is never retried (a
      retry after a lost reply could apply it twice);
    - ``create``, ``get``, ``delete`` and ``ping`` are safe to repeat and are
      repeated once on a connection error (a pooled connection that Redis
      closed, as after a restart); a second failure, a timeout, a refused
      password or a Redis still loading raises
      :class:`~millionscale.errors.SessionStoreUnavailable` within about
      ``timeout_s`` (twice that for a repeated operation): a request never
      hangs on a dead Redis;
    - sessions live as long as Redis keeps its data: a restart of a Redis
      without persistence loses every session (users log in again); with the
      append-only file fsynced every second (the ``durable`` mode of
      :class:`~millionscale.servers.RedisEngine`) a crash loses at most the
      last second's sessions and updates, a clean restart none.

    ``url`` is ``redis://[:password@]host:port/db`` (or ``rediss://``,
    ``unix://``). At most ``pool_max`` connections are open; a request that
    finds none free within ``timeout_s`` gets SessionStoreUnavailable.
    """

    def __init__(
        self,
        url: str,
        *,
        timeout_s: float = REDIS_TIMEOUT_S,
        pool_max: int = REDIS_POOL_MAX,
        prefix: str = REDIS_KEY_PREFIX,
    ) -> None:
        self.address = redis_address(url)
        if not timeout_s > 0 or pool_max < 1:
            raise ValueError("timeout_s must be positive and pool_max at least 1")
        # redis-py's retries off: ours, per operation (see _call).
        self.client = bounded_client(
            url, timeout_s=timeout_s, pool_max=pool_max, decode_responses=True
        )
        self.prefix = prefix
        self._update_script = self.client.register_script(_UPDATE_SCRIPT)
        self._counts = dict.fromkeys(SessionStoreStatistics.__slots__, 0)

    def _key(self, session_id: str) -> str:
        return self.prefix + hashlib.sha256(session_id.encode()).hexdigest()

    async def create(self, user_id: int, ttl: timedelta = SESSION_TTL) -> str:
        ttl_ms = ttl // timedelta(milliseconds=1)
        if ttl_ms < 1:
            raise ValueError(f"a session's ttl must be at least 1 ms, not {ttl}")
        session_id = secrets.token_urlsafe(32)
        key = self._key(session_id)
        expires_ms = int(datetime.now(UTC).timestamp() * 1000) + ttl_ms

        async def work() -> None:
            async with self.client.pipeline(transaction=True) as pipe:
                pipe.hset(key, mapping={_USER_ID: str(user_id), _EXPIRES_AT: str(expires_ms)})
                pipe.pexpire(key, ttl_ms)
                await pipe.execute()

        await self._call("create", work, idempotent=True)
        self._count("create", "created")
        return session_id

    async def get(self, session_id: str) -> Session | None:
        key = self._key(session_id)

        async def work() -> dict[str, str]:
            return cast(dict[str, str], await self.client.hgetall(key))  # decode_responses

        session = _session(await self._call("get", work, idempotent=True))
        self._count("get", "found" if session else "missing")
        return session

    async def update(self, session_id: str, changes: SessionChanges) -> Session | None:
        assign = [part for name, value in changes.assign.items() for part in (_DATA + name, value)]
        increment = [
            part for name, by in changes.increment.items() for part in (_DATA + name, str(by))
        ]
        remove = [_DATA + name for name in sorted(changes.remove)]
        args = [
            *(
                str(len(group) // step)
                for group, step in ((assign, 2), (increment, 2), (remove, 1))
            ),
            *assign,
            *increment,
            *remove,
            str(COUNTER_MAX),
        ]

        async def work() -> list[str] | None:
            return await self._update_script(keys=[self._key(session_id)], args=args)  # type: ignore[no-any-return]

        reply = await self._call("update", work, idempotent=False)
        session = (
            None if reply is None else _session(dict(zip(reply[::2], reply[1::2], strict=True)))
        )
        self._count("update", "updated" if session else "missing")
        return session

    async def delete(self, session_id: str) -> None:
        key = self._key(session_id)

        async def work() -> None:
            await self.client.delete(key)

        await self._call("delete", work, idempotent=True)
        self._count("delete", "deleted")

    async def ping(self) -> None:
        """Return once Redis answers; raise SessionStoreUnavailable if it does not."""

        async def work() -> None:
            await self.client.ping()

        await self._call("ping", work, idempotent=True)

    async def close(self) -> None:
        """Close every connection of the pool."""
        await self.client.aclose()

    def statistics(self) -> SessionStoreStatistics:
        return SessionStoreStatistics(**self._counts)

    def _count(self, operation: str, what: str) -> None:
        self._counts[what] += 1
        _OPERATIONS.labels("redis", operation, "missing" if what == "missing" else "ok").inc()

    async def _call(
        self, operation: str, work: Callable[[], Awaitable[T]], *, idempotent: bool
    ) -> T:
        """Run ``work``, once more on a connection error when it is idempotent.

        Errors become SessionStoreUnavailable naming the store, except the
        update script's own refusals, which are the caller's ValueError.
        """
        for attempt in (1, 2):
            try:
                return await work()
            except (redis_errors.AuthenticationError, redis_errors.BusyLoadingError) as error:
                failure: redis_errors.RedisError = error
            except redis_errors.ConnectionError as error:
                failure = error
                if idempotent and attempt == 1:
                    self._counts["retried"] += 1
                    continue
            except redis_errors.ResponseError as error:
                code, _, name = str(error).partition(" ")
                if code == "MSNOTCOUNTER":
                    raise ValueError(f"session field {name[2:]!r} holds no integer") from None
                if code == "MSOVERFLOW":
                    raise ValueError(
                        f"session field {name[2:]!r} would pass {COUNTER_MAX}"
                    ) from None
                failure = error
            except redis_errors.RedisError as error:  # TimeoutError and the rest
                failure = error
            break
        self._counts["unavailable"] += 1
        _OPERATIONS.labels("redis", operation, "unavailable").inc()
        reason = " ".join(str(failure).split()) or type(failure).__name__
        raise SessionStoreUnavailable(
            f"session store redis at {self.address} cannot be used: {reason}",
            hint="check that Redis runs and REDIS_URL points at it; requests get 503 meanwhile",
        ) from None


def _session(fields: Mapping[str, str]) -> Session | None:
    """The session a Redis hash holds, or None for a missing (or foreign) key."""
    try:
        user_id, expires_ms = int(fields[_USER_ID]), int(fields[_EXPIRES_AT])
    except (KeyError, ValueError):
        return None
    data = {name[len(_DATA) :]: value for name, value in fields.items() if name.startswith(_DATA)}
    return Session(
        user_id=user_id,
        expires_at=datetime.fromtimestamp(expires_ms / 1000, UTC),
        data=_frozen(data),
    )


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
