"""One PostgreSQL node as the router holds it: a pool for requests, a connection for checks.

:class:`NodePool` is the router's I/O for one node, and nothing else: which
node serves what is :mod:`.routing`'s decision, who the primary is and when a
node leaves rotation is the router's. It owns:

- **the request pool** (:class:`~psycopg_pool.AsyncConnectionPool`, autocommit
  connections). It is *renewed* when the node comes back into rotation
  (:meth:`NodePool.renew`): a fresh pool takes the old one's place only once it
  holds connections, because the old one may still sit in psycopg_pool's
  reconnect backoff, seconds after the server is back, and a request would wait
  that out. It is *retired* when the node leaves rotation
  (:meth:`NodePool.retire_pool`): closed at once, so that requests waiting on it
  for a connection that cannot come are woken (``PoolClosed``) and go elsewhere
  instead of waiting out the acquire timeout; a fresh one reconnects in the
  background meanwhile.
- **the check connection**, one per node, for :data:`~millionscale.db.health.CHECK`
  (:meth:`NodePool.check`); reopened by the next check when it is lost.
- **the node's last health** and its count of requests in flight.

A node removed from the router (:meth:`NodePool.retire`) takes no new request
(the router stops routing to it at once); its pool and check connection are
closed once the requests in flight on it have ended, never under them.

Also here: the connection strings that reach nodes (:func:`address_of`,
:func:`node_dsn`) and the line between a node that is down and one that refuses
us (:func:`misconfigured`).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from typing import Any

import psycopg
from psycopg.conninfo import conninfo_to_dict, make_conninfo
from psycopg.rows import TupleRow
from psycopg_pool import AsyncConnectionPool

from millionscale.db.health import CHECK, REPLAY_LSN, NodeHealth
from millionscale.db.lsn import parse_lsn
from millionscale.errors import DatabaseError, first_line

__all__ = [
    "CONNECT_TIMEOUT_S",
    "NETWORK_OPTIONS",
    "NodePool",
    "address_of",
    "conninfo_of",
    "misconfigured",
    "network_dsn",
    "node_dsn",
]

Connection = psycopg.AsyncConnection[TupleRow]

CONNECT_TIMEOUT_S = 2  # libpq's connect_timeout; it treats values below 2 as 2
# A node cut off (its data center lost, a partition) answers nothing, not even a reset:
# a query on an open connection would wait for TCP's retransmissions (minutes), and
# one cancelled by a timeout for psycopg's cancel request (up to 5 s for the request
# on a new connection that gets no answer either, then 5 s more for the query). With
# these libpq options the kernel gives up on a connection whose data stays
# unacknowledged for 750 ms (TCP_USER_TIMEOUT, RFC 5482), and probes an idle one
# after 2 s: the query fails at once, before the checks' 1 s timeouts, which then
# cancel nothing. 750 ms is several retransmissions on any link a data tier spans.
NETWORK_OPTIONS: dict[str, int] = {
    "connect_timeout": CONNECT_TIMEOUT_S,
    "tcp_user_timeout": 750,
    "keepalives": 1,
    "keepalives_idle": 2,
    "keepalives_interval": 1,
    "keepalives_count": 2,
}


def network_dsn(dsn: str) -> str:
    """``dsn`` with :data:`NETWORK_OPTIONS` (its own settings of them win)."""
    own = conninfo_of(dsn)
    return make_conninfo(dsn, **{k: str(v) for k, v in NETWORK_OPTIONS.items() if k not in own})


def conninfo_of(dsn: str) -> dict[str, Any]:
    """``dsn``'s parameters; DatabaseError (never echoing it: it holds a password) if
    it is no PostgreSQL connection string."""
    try:
        return conninfo_to_dict(dsn)
    except psycopg.Error as error:
        raise DatabaseError(
            f"not a PostgreSQL connection string: {first_line(error)}",
            hint="write postgresql://user:password@host:port/dbname",
        ) from None


def address_of(dsn: str) -> str:
    """``host:port`` of the node ``dsn`` reaches (libpq's defaults where it is silent)."""
    params = conninfo_of(dsn)
    return f"{params.get('host', 'localhost')}:{params.get('port', 5432)}"


def node_dsn(conninfo: str, host: str, port: int) -> str:
    """``conninfo`` (user, password, database, options) pointed at ``host:port``."""
    conninfo_of(conninfo)
    return make_conninfo(conninfo, host=host, port=str(port))


def misconfigured(error: DatabaseError) -> bool:
    """A node that answers but refuses us (a wrong password, not PostgreSQL), as
    opposed to one that is down (connection refused, or no answer in time): the
    first is a mistake to report, the second an outage to wait out."""
    message = error.message.lower()
    down = "refused" in message or "timeout" in message or "timed out" in message
    return not down or "password" in message or "authentication" in message


class NodePool:
    """The pool and the check connection of node ``name`` at ``dsn``; see the module docstring.

    ``sizes`` are the pool's (min, max). Nothing connects until :meth:`connect`,
    :meth:`open`, :meth:`check` or :meth:`renew` is awaited. Raises
    :class:`~millionscale.errors.DatabaseError` at once for a ``dsn`` that is no
    connection string.
    """

    def __init__(self, name: str, dsn: str, *, sizes: tuple[int, int], health: NodeHealth) -> None:
        self.name = name
        self.dsn = dsn
        self.address = address_of(dsn)
        self.health = health
        self.outstanding = 0  # reads waiting for or holding one of its connections
        self.in_flight = 0  # every request waiting for or holding one
        self.removed = False  # out of the router: no request enters it any more
        self._sizes = sizes
        self.pool = self._new_pool()
        self._checker: Connection | None = None
        self._idle = asyncio.Event()
        self._idle.set()
        self._swaps: set[asyncio.Task[None]] = set()
        self._closed = False

    # -- connecting ----------------------------------------------------------

    @property
    def connected(self) -> bool:
        """Whether the check connection is open."""
        return self._checker is not None and not self._checker.closed

    async def connect(self) -> None:
        """Open the check connection; DatabaseError naming the node if it cannot be had."""
        try:
            async with asyncio.timeout(CONNECT_TIMEOUT_S + 1):
                self._checker = await self._connection()
        except (psycopg.Error, OSError, TimeoutError) as error:
            raise self.error(error) from None

    async def open(self, *, wait: bool, timeout_s: float) -> None:
        """Open the request pool: filled before returning (``wait``; DatabaseError naming
        the node if that fails within ``timeout_s``), or connecting in the background."""
        if not wait:
            await self.pool.open(wait=False)
            return
        try:
            await self.pool.open(wait=True, timeout=timeout_s)
        except psycopg.Error as error:
            raise self.error(error) from None

    def error(self, error: BaseException) -> DatabaseError:
        """``error`` as the DatabaseError that names this node (never the password)."""
        reason = first_line(error)
        where = f"database node {self.name!r} at {self.address}"
        if "password" in reason or "authentication" in reason:
            hint = "check the user name and password in its connection string"
        else:
            hint = "check that a PostgreSQL server listens at that address and port"
        return DatabaseError(f"{where} cannot be used: {reason}", hint=hint)

    # -- checking ------------------------------------------------------------

    async def check(self, timeout_s: float) -> NodeHealth:
        """Ask the node :data:`~millionscale.db.health.CHECK` within ``timeout_s``, on the
        check connection (reconnected if lost): its health now. Never raises for the
        node; a failed check keeps the last known position and role."""
        try:
            async with asyncio.timeout(timeout_s):
                if not self.connected:
                    if self._closed:
                        raise psycopg.OperationalError("the node was removed")
                    self._checker = await self._connection()
                    if self._closed:  # removed while connecting
                        await self._drop_checker()
                        raise psycopg.OperationalError("the node was removed")
                assert self._checker is not None
                row = await (await self._checker.execute(CHECK)).fetchone()
        except (psycopg.Error, OSError, TimeoutError) as error:
            await self._drop_checker()
            return self.health.failed(f"health check failed: {first_line(error)}")
        assert row is not None
        return NodeHealth.answered(row)

    async def replay_lsn(self, timeout_s: float) -> int | None:
        """The replay position now, on a pooled connection; None if it cannot be had."""
        try:
            async with self.pool.connection(timeout=timeout_s) as conn:
                row = await (await conn.execute(REPLAY_LSN)).fetchone()
        except (psycopg.Error, OSError, TimeoutError):
            return None
        if row is None or row[0] is None:
            return None
        return parse_lsn(row[0])

    # -- renewal and retirement of the pool ------------------------------------

    async def renew(self, health: NodeHealth, timeout_s: float) -> NodeHealth:
        """A node back in rotation takes requests only once a fresh pool holds
        connections: ``health`` if one does within ``timeout_s`` (it has replaced the
        old pool, which is closed), else ``health`` out of rotation, saying why."""
        fresh = self._new_pool()
        try:
            await fresh.open(wait=True, timeout=timeout_s)
        except psycopg.Error as error:
            await fresh.close()
            reason = f"answers checks but its pool cannot connect: {first_line(error)}"
            return health.failed(reason)
        if self._closed:  # removed meanwhile
            await fresh.close()
            return health
        self._swap(fresh)
        return health

    def retire_pool(self) -> None:
        """Out of rotation: close the pool now (its waiters are woken with
        ``PoolClosed``) and put a fresh one, connecting in the background, in its place."""
        if not self._closed:
            self._swap(None)

    def _swap(self, fresh: AsyncConnectionPool | None) -> None:
        old, self.pool = self.pool, fresh or self._new_pool()
        new = self.pool

        async def swap() -> None:
            if fresh is None:
                await new.open(wait=False)
            await old.close()

        task = asyncio.create_task(swap(), name=f"db-router: retire pool {self.name}")
        self._swaps.add(task)
        task.add_done_callback(self._swaps.discard)

    # -- requests ----------------------------------------------------------------

    @contextlib.asynccontextmanager
    async def connection(self, timeout_s: float, *, read: bool) -> AsyncIterator[Connection]:
        """A pooled connection (waiting at most ``timeout_s`` for one), counted in flight
        (and outstanding, for a ``read``) from before the wait to the end of the block."""
        self.outstanding += read
        self.in_flight += 1
        self._idle.clear()
        try:
            async with self.pool.connection(timeout=timeout_s) as conn:
                yield conn
        finally:
            self.outstanding -= read
            self.in_flight -= 1
            if self.in_flight == 0:
                self._idle.set()

    # -- leaving ---------------------------------------------------------------------

    async def retire(self) -> None:
        """Removed from the router: once nothing is in flight here, close everything.

        The caller has set :attr:`removed` (and stopped routing here) first, so
        nothing new enters meanwhile."""
        self.removed = True
        await self._idle.wait()
        await self.close()

    def stop_waiting(self) -> None:
        """Let :meth:`retire` close the node now, without waiting for the requests in
        flight (the router is closing): they finish on the connections they hold,
        each closed as it is given back."""
        self._idle.set()

    async def close(self) -> None:
        """Close the check connection and the pool (requests still holding one of its
        connections finish on it; it is closed when they give it back). Safe twice."""
        self._closed = True
        await asyncio.gather(*self._swaps, return_exceptions=True)
        await self._drop_checker()
        await self.pool.close()

    # -- inside ----------------------------------------------------------------------

    async def _connection(self) -> Connection:
        return await psycopg.AsyncConnection.connect(network_dsn(self.dsn), autocommit=True)

    async def _drop_checker(self) -> None:
        conn, self._checker = self._checker, None
        if conn is not None:
            with contextlib.suppress(Exception):
                await conn.close()

    def _new_pool(self) -> AsyncConnectionPool:
        low, high = self._sizes
        return AsyncConnectionPool(
            network_dsn(self.dsn),
            min_size=low,
            max_size=high,
            open=False,
            name=f"db-{self.name}",
            kwargs={"autocommit": True},
        )
