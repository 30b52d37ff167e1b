"""The read/write router the web tier uses: psycopg 3 pools, one per PostgreSQL node.

This is the thin I/O shell around :mod:`millionscale.db.routing`. It owns one
:class:`~psycopg_pool.AsyncConnectionPool` per node and a background poller;
every decision (which node, whether to wait, when to fall back to the
primary) is the routing core's, taken from the facts the poller gathered.

Guarantees:

- :meth:`Router.write` runs on the primary in one transaction. After the
  commit it records in the :class:`Session` a position at or past the commit
  record, so the session's later :class:`ReadYourWrites` reads see the write.
- A read is never refused because of replicas: a read-your-writes read waits
  at most ``catch_up_wait_s`` for a replica to replay the session's last
  write, then runs on the primary; other reads fall back to the primary at
  once when no replica qualifies.
- :meth:`Router.run_read` survives a replica dying under it: a connection
  error retries the work once on another node (the primary at worst) and
  takes the replica out of rotation until a health check passes again.
  :meth:`Router.read` hands out a connection and cannot re-run its block, so
  an error inside the block propagates (the node is still taken out).

The poller runs every ``poll_interval_s`` (200 ms by default; pg_auto_failover's
monitor checks health every 5 s and Patroni's loop runs every 10 s, but those
decide failovers, while this one only steers reads with one tiny query per node).
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import TypeVar

import psycopg
import structlog
from psycopg.conninfo import conninfo_to_dict
from psycopg.rows import TupleRow
from psycopg_pool import AsyncConnectionPool

from millionscale.db.lsn import parse_lsn
from millionscale.db.routing import (
    Consistency,
    NodeState,
    ReadYourWrites,
    Role,
    Routing,
    RoutingPolicy,
    UseNode,
)
from millionscale.db.session import Session
from millionscale.db.staleness import LsnSample, keep_recent, staleness_bound
from millionscale.errors import DatabaseError

__all__ = ["POLL_INTERVAL_S", "READ_YOUR_WRITES", "Router", "RouterStatistics"]

log = structlog.get_logger()
T = TypeVar("T")
Connection = psycopg.AsyncConnection[TupleRow]

POLL_INTERVAL_S = 0.2  # see the module docstring for the peers' intervals
CHECK_TIMEOUT_S = 1.0  # a node that cannot answer one tiny query in 1 s is out of rotation
CONNECT_TIMEOUT_S = 2  # libpq's connect_timeout; it treats values below 2 as 2
ACQUIRE_TIMEOUT_S = 5.0  # waiting for a pooled connection; psycopg_pool's default is 30 s
READ_YOUR_WRITES = ReadYourWrites()
# While a read-your-writes read waits, replicas are asked again after 2, 4, 8... ms
# (at most 50 ms apart) instead of at the next poll, 200 ms away.
REFRESH_PAUSE_MIN_S = 0.002
REFRESH_PAUSE_MAX_S = 0.05
_REPLAY_LSN = "SELECT pg_last_wal_replay_lsn()::text"

# After COMMIT returns, the commit record is flushed unless synchronous_commit is
# off (every other level flushes locally first), so the flushed position is at or
# past it; with 'off' only the insert position is. The flushed position is
# preferred because it is what replicas receive and compare against: the insert
# position can sit just past a page header that a replica's replay position only
# passes when a later record arrives.
_COMMIT_LSN = (
    "SELECT CASE WHEN current_setting('synchronous_commit') = 'off'"
    " THEN pg_current_wal_insert_lsn() ELSE pg_current_wal_flush_lsn() END::text"
)
_CHECK = (
    "SELECT pg_is_in_recovery(), CASE WHEN pg_is_in_recovery()"
    " THEN pg_last_wal_replay_lsn() ELSE pg_current_wal_flush_lsn() END::text"
)


@dataclass(frozen=True, slots=True)
class RouterStatistics:
    """Counters since :meth:`Router.open`, and the nodes as the router sees them now."""

    reads: Mapping[str, int]  # reads handed a connection, per node name
    writes: int  # committed write transactions
    fallbacks_to_primary: int  # reads that wanted a replica and ran on the primary
    waits: int  # read-your-writes reads that waited for a replica to catch up
    retries: int  # reads re-run on another node after a connection error
    failed_checks: int  # health checks that failed
    nodes: tuple[NodeState, ...]


@dataclass(frozen=True, slots=True)
class _Health:
    healthy: bool
    lsn: int | None
    reason: str


def _address(dsn: str) -> str:
    try:
        params = conninfo_to_dict(dsn)
    except psycopg.Error as error:
        raise DatabaseError(
            f"not a PostgreSQL connection string: {_first_line(error)}",
            hint="write postgresql://user:password@host:port/dbname",
        ) from None
    return f"{params.get('host', 'localhost')}:{params.get('port', 5432)}"


def _first_line(error: BaseException) -> str:
    text = str(error).strip()
    return text.splitlines()[0] if text else type(error).__name__


def _misconfigured(error: DatabaseError) -> bool:
    """A node that answers but refuses us (a wrong password, not PostgreSQL), as
    opposed to one that is down (connection refused, or no answer in time): the
    first is a mistake to report, the second an outage to wait out."""
    message = error.message.lower()
    down = "refused" in message or "timeout" in message or "timed out" in message
    return not down or "password" in message or "authentication" in message


def _is_connection_error(error: psycopg.Error) -> bool:
    """Lost or refused connection (retry elsewhere), as opposed to an error in the SQL."""
    state = error.sqlstate
    return state is None or state.startswith("08") or state in {"57P01", "57P02", "57P03"}


class Router:
    """Writes and transactions to the primary, reads to replicas; see the module docstring.

    ``replicas`` maps node names (shown in statistics) to DSNs. ``clock`` is
    monotonic seconds, used for lag and wait deadlines. Use it as
    ``async with Router(...) as router:`` or call :meth:`open` and :meth:`close`.
    """

    def __init__(
        self,
        primary: str,
        replicas: Mapping[str, str],
        *,
        primary_name: str = "primary",
        policy: RoutingPolicy | None = None,
        poll_interval_s: float = POLL_INTERVAL_S,
        check_timeout_s: float = CHECK_TIMEOUT_S,
        acquire_timeout_s: float = ACQUIRE_TIMEOUT_S,
        pool_min: int = 1,
        pool_max: int = 10,
        clock: Callable[[], float] = time.monotonic,
        rng: random.Random | None = None,
    ) -> None:
        if primary_name in replicas:
            raise DatabaseError(
                f"node name {primary_name!r} is both the primary and a replica",
                hint="give every replica a name of its own",
            )
        self._dsns = {primary_name: primary, **replicas}
        self._addresses = {name: _address(dsn) for name, dsn in self._dsns.items()}
        self._primary = primary_name
        self._routing = Routing(policy, rng)
        self._poll_interval_s = poll_interval_s
        self._check_timeout_s = check_timeout_s
        self._acquire_timeout_s = acquire_timeout_s
        self._clock = clock
        self._pools = {
            name: AsyncConnectionPool(
                dsn,
                min_size=pool_min,
                max_size=pool_max,
                open=False,
                name=f"db-{name}",
                kwargs={"autocommit": True, "connect_timeout": CONNECT_TIMEOUT_S},
            )
            for name, dsn in self._dsns.items()
        }
        self._checkers: dict[str, Connection | None] = dict.fromkeys(self._dsns)
        self._health = {name: _Health(False, None, "not checked yet") for name in self._dsns}
        # Twice the rotation bound, so a replica behind every sample is beyond it.
        self._history_s = max(2 * self._routing.policy.max_lag_s, 4 * poll_interval_s)
        self._history: tuple[LsnSample, ...] = ()
        self._outstanding = dict.fromkeys(self._dsns, 0)
        self._reads = dict.fromkeys(self._dsns, 0)
        self._writes = self._fallbacks = self._waits = self._retries = self._failed_checks = 0
        self._polled = asyncio.Event()
        self._poller: asyncio.Task[None] | None = None

    # -- life cycle --------------------------------------------------------

    async def open(self) -> None:
        """Connect to every node, fill the pools, check health once, start polling.

        Raises :class:`~millionscale.errors.DatabaseError` naming the node when
        the primary cannot be reached, or any node is not PostgreSQL or refuses
        the password. A replica that is merely down starts out of rotation.
        """
        try:
            for name, dsn in self._dsns.items():
                try:
                    self._checkers[name] = await self._connect(name, dsn)
                except DatabaseError as error:
                    if name == self._primary or _misconfigured(error):
                        raise
                    # A replica that is down is not a reason to refuse service: it
                    # starts out of rotation and joins once a health check passes.
                    self._mark(name, _Health(False, None, f"down at start: {error.message}"))
            for name, pool in self._pools.items():
                if self._checkers[name] is None:
                    await pool.open(wait=False)  # keeps connecting in the background
                    continue
                try:
                    await pool.open(wait=True, timeout=self._acquire_timeout_s)
                except psycopg.Error as error:
                    raise self._node_error(name, error) from None
            await self._poll_once()
        except BaseException:
            await self.close()
            raise
        self._poller = asyncio.create_task(self._poll_forever(), name="db-router-poller")

    async def close(self) -> None:
        """Stop the poller and close every pool and connection; safe to call twice."""
        if self._poller is not None:
            self._poller.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._poller
            self._poller = None
        for name, conn in self._checkers.items():
            if conn is not None:
                await conn.close()
            self._checkers[name] = None
        for pool in self._pools.values():
            await pool.close()

    async def __aenter__(self) -> Router:
        await self.open()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.close()

    # -- writes and reads --------------------------------------------------

    @contextlib.asynccontextmanager
    async def write(self, session: Session | None = None) -> AsyncIterator[Connection]:
        """A primary connection inside a transaction, committed when the block ends.

        On commit, ``session`` (if given) learns a WAL position at or past the
        commit record. An exception in the block rolls back and records nothing.
        """
        node = self._routing.write(self._states()).node
        async with self._pools[node].connection(timeout=self._acquire_timeout_s) as conn:
            async with conn.transaction():
                yield conn
            row = await (await conn.execute(_COMMIT_LSN)).fetchone()
        self._writes += 1
        if session is not None and row is not None and row[0] is not None:
            session.record_write(parse_lsn(row[0]))

    @contextlib.asynccontextmanager
    async def read(
        self, session: Session | None = None, *, consistency: Consistency = READ_YOUR_WRITES
    ) -> AsyncIterator[Connection]:
        """An autocommit connection on the node the routing core picks.

        Wrap several statements in ``conn.transaction()`` for one snapshot.
        Errors inside the block are not retried (see :meth:`run_read`).
        """
        node = await self._route_read(session, consistency, exclude=set())
        async with self._use(node) as conn:
            yield conn

    async def run_read(
        self,
        work: Callable[[Connection], Awaitable[T]],
        session: Session | None = None,
        *,
        consistency: Consistency = READ_YOUR_WRITES,
    ) -> T:
        """``await work(conn)`` on a routed connection; retried once elsewhere if the
        connection is lost (``work`` must be safe to run twice: a read)."""
        failed: set[str] = set()
        while True:
            node = await self._route_read(session, consistency, exclude=failed)
            try:
                async with self._use(node) as conn:
                    return await work(conn)
            except psycopg.OperationalError as error:
                if failed or not _is_connection_error(error):
                    raise
                failed.add(node)
                self._retries += 1

    @property
    def primary_pool(self) -> AsyncConnectionPool:
        """The primary's pool (autocommit connections), for callers that must always
        use the primary and manage their own statements: session stores, readiness."""
        return self._pools[self._primary]

    # -- introspection -----------------------------------------------------

    def statistics(self) -> RouterStatistics:
        return RouterStatistics(
            reads=dict(self._reads),
            writes=self._writes,
            fallbacks_to_primary=self._fallbacks,
            waits=self._waits,
            retries=self._retries,
            failed_checks=self._failed_checks,
            nodes=self._states(),
        )

    async def next_poll(self) -> None:
        """Return once the health poll running or due next has finished."""
        await self._polled.wait()

    # -- internals ---------------------------------------------------------

    def _states(self) -> tuple[NodeState, ...]:
        now = self._clock()
        states = []
        for name, health in self._health.items():
            primary = name == self._primary
            states.append(
                NodeState(
                    name=name,
                    role=Role.PRIMARY if primary else Role.REPLICA,
                    healthy=health.healthy,
                    replay_lsn=health.lsn,
                    lag_s=0.0 if primary else staleness_bound(self._history, health.lsn, now),
                    outstanding=self._outstanding[name],
                )
            )
        return tuple(states)

    async def _route_read(
        self, session: Session | None, consistency: Consistency, exclude: set[str]
    ) -> str:
        if isinstance(consistency, ReadYourWrites) and session is not None:
            known = [x for x in (consistency.min_lsn, session.last_write_lsn) if x is not None]
            consistency = ReadYourWrites(max(known, default=None))
        started = self._clock()
        waited = False
        pause = REFRESH_PAUSE_MIN_S
        while True:
            decision = self._routing.read(
                self._states(), consistency, now=self._clock(), started_at=started, exclude=exclude
            )
            if isinstance(decision, UseNode):
                self._fallbacks += decision.fallback
                return decision.node
            if not waited:
                self._waits += 1
                waited = True
            # Ask the replicas where they are now rather than wait for the next poll:
            # right after a write they are usually a millisecond behind, not a poll.
            remaining = decision.deadline - self._clock()
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(max(0.0, remaining)):
                    await self._refresh_replay_positions(exclude)
                    await asyncio.sleep(min(pause, max(0.0, decision.deadline - self._clock())))
            pause = min(pause * 2, REFRESH_PAUSE_MAX_S)

    async def _refresh_replay_positions(self, exclude: set[str]) -> None:
        """Read every healthy replica's replay position now, on a pooled connection.

        Only moves a known position forward; health is still the poller's call.
        """

        async def one(name: str) -> None:
            try:
                async with self._pools[name].connection(timeout=self._check_timeout_s) as conn:
                    row = await (await conn.execute(_REPLAY_LSN)).fetchone()
            except (psycopg.Error, OSError, TimeoutError):
                return
            health = self._health[name]
            if row is None or row[0] is None or not health.healthy:
                return
            lsn = parse_lsn(row[0])
            if health.lsn is None or lsn > health.lsn:
                self._health[name] = _Health(True, lsn, health.reason)

        replicas = [
            name
            for name, health in self._health.items()
            if name != self._primary and name not in exclude and health.healthy
        ]
        await asyncio.gather(*(one(name) for name in replicas))

    @contextlib.asynccontextmanager
    async def _use(self, node: str) -> AsyncIterator[Connection]:
        self._outstanding[node] += 1
        try:
            async with self._pools[node].connection(timeout=self._acquire_timeout_s) as conn:
                self._reads[node] += 1
                yield conn
        except psycopg.OperationalError as error:
            if _is_connection_error(error):
                self._mark(node, _Health(False, self._health[node].lsn, _first_line(error)))
            raise
        finally:
            self._outstanding[node] -= 1

    def _mark(self, name: str, health: _Health) -> None:
        before = self._health[name]
        self._health[name] = health
        if before.healthy != health.healthy:
            state = "in rotation" if health.healthy else "out of rotation"
            log.info(f"db node {name} {state}: {health.reason}", node=name)

    def _node_error(self, name: str, error: BaseException) -> DatabaseError:
        reason = _first_line(error)
        where = f"database node {name!r} at {self._addresses[name]}"
        if "password" in reason or "authentication" in reason:
            hint = "check the user name and password in its connection string"
        else:
            hint = "check that a PostgreSQL server listens at that address and port"
        return DatabaseError(f"{where} cannot be used: {reason}", hint=hint)

    async def _connect(self, name: str, dsn: str) -> Connection:
        try:
            async with asyncio.timeout(CONNECT_TIMEOUT_S + 1):
                return await psycopg.AsyncConnection.connect(
                    dsn, autocommit=True, connect_timeout=CONNECT_TIMEOUT_S
                )
        except (psycopg.Error, OSError, TimeoutError) as error:
            raise self._node_error(name, error) from None

    async def _poll_forever(self) -> None:
        while True:
            await asyncio.sleep(self._poll_interval_s)
            await self._poll_once()

    async def _poll_once(self) -> None:
        """One round: the primary first (its position dates the samples), then replicas."""
        started = self._clock()
        primary = await self._check(self._primary, want_recovery=False)
        if primary.healthy and primary.lsn is not None:
            self._history = keep_recent(
                self._history, LsnSample(started, primary.lsn), self._history_s
            )
        replicas = [name for name in self._dsns if name != self._primary]
        await asyncio.gather(*(self._check(name, want_recovery=True) for name in replicas))
        polled, self._polled = self._polled, asyncio.Event()
        polled.set()

    async def _check(self, name: str, *, want_recovery: bool) -> _Health:
        try:
            async with asyncio.timeout(self._check_timeout_s):
                conn = self._checkers[name]
                if conn is None or conn.closed:
                    conn = self._checkers[name] = await psycopg.AsyncConnection.connect(
                        self._dsns[name], autocommit=True, connect_timeout=CONNECT_TIMEOUT_S
                    )
                row = await (await conn.execute(_CHECK)).fetchone()
        except (psycopg.Error, OSError, TimeoutError) as error:
            self._failed_checks += 1
            await self._drop_checker(name)
            health = _Health(
                False, self._health[name].lsn, f"health check failed: {_first_line(error)}"
            )
        else:
            assert row is not None
            in_recovery, lsn = bool(row[0]), None if row[1] is None else parse_lsn(row[1])
            if in_recovery == want_recovery:
                health = _Health(True, lsn, "health check passed")
            else:
                self._failed_checks += 1
                role = "in recovery" if in_recovery else "not in recovery (promoted?)"
                health = _Health(False, lsn, f"health check failed: {role}")
        self._mark(name, health)
        return health

    async def _drop_checker(self, name: str) -> None:
        conn, self._checkers[name] = self._checkers[name], None
        if conn is not None:
            with contextlib.suppress(Exception):
                await conn.close()
