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
- No request enters the pool of a node the router knows is out of rotation
  (it failed its last check, or answers in the wrong role): such a pool can
  only reconnect in the background, and a request in it would wait out the
  acquire timeout. Work that needs the primary while it is out waits for the
  next poll that finds one (at most ``failover_wait_s``).
- :meth:`Router.run_read` survives a replica dying under it: a connection
  error retries the work once on another node (the primary at worst) and
  takes the replica out of rotation until a health check passes again.
  :meth:`Router.read` hands out a connection and cannot re-run its block, so
  an error inside the block propagates (the node is still taken out).

The poller runs every ``poll_interval_s`` (200 ms by default; pg_auto_failover's
monitor checks health every 5 s and Patroni's loop runs every 10 s, but those
decide failovers, while this one only steers reads with one tiny query per node),
and every 20 ms while the primary is out of rotation, so that work waiting for
the next primary finds it within 20 ms of its promotion.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from dataclasses import dataclass, replace
from typing import Any, TypeVar

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
    WaitForPrimary,
)
from millionscale.db.session import Session
from millionscale.db.staleness import LsnSample, keep_recent, staleness_bound
from millionscale.errors import DatabaseError, first_line

__all__ = ["POLL_INTERVAL_S", "READ_YOUR_WRITES", "Router", "RouterStatistics"]

log = structlog.get_logger()
T = TypeVar("T")
Connection = psycopg.AsyncConnection[TupleRow]

POLL_INTERVAL_S = 0.2  # see the module docstring for the peers' intervals
# While the primary is out of rotation, writes and primary reads wait for the poll
# that finds the next one: poll this often then (a refused connection costs a
# millisecond; a node that does not answer still costs a check timeout).
OUTAGE_POLL_INTERVAL_S = 0.02
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
# A primary's timeline is the first 8 hex digits of its current WAL file's name: it
# grows by one with every promotion, so after a failover the new primary has the
# highest, and an old primary that answers again (it should have been fenced) loses.
_CHECK = (
    "SELECT pg_is_in_recovery(), CASE WHEN pg_is_in_recovery()"
    " THEN pg_last_wal_replay_lsn() ELSE pg_current_wal_flush_lsn() END::text,"
    " CASE WHEN pg_is_in_recovery() THEN NULL"
    " ELSE ('x' || substr(pg_walfile_name(pg_current_wal_flush_lsn()), 1, 8))::bit(32)::int END"
)
# Errors on the primary that prove the transaction did not commit and that the
# primary has moved (or is moving): the write may be run again on the next one.
_PRIMARY_MOVED = {"25006"}  # read_only_sql_transaction: drained for a switchover, or demoted
FAILOVER_WAIT_S = 15.0  # writes wait this long for a primary; the monitor's failover takes ~4 s


@dataclass(frozen=True, slots=True)
class RouterStatistics:
    """Counters since :meth:`Router.open`, and the nodes as the router sees them now."""

    reads: Mapping[str, int]  # reads handed a connection, per node name
    writes: int  # committed write transactions
    fallbacks_to_primary: int  # reads that wanted a replica and ran on the primary
    waits: int  # read-your-writes reads that waited for a replica to catch up
    retries: int  # reads re-run on another node after a connection error
    write_retries: int  # run_write transactions run again after the primary was lost
    primary_changes: int  # times the router found a new primary (failovers seen)
    failed_checks: int  # health checks that failed
    nodes: tuple[NodeState, ...]


@dataclass(frozen=True, slots=True)
class _Health:
    healthy: bool  # answered the last check
    lsn: int | None
    reason: str
    in_recovery: bool | None = None
    timeline: int = 0  # a primary's timeline; 0 for a standby or unknown


class NodeOutOfRotation(psycopg.OperationalError):
    """The router refused to hand out a connection to a node it knows is out of
    rotation; nothing was sent. A connection error for the retry logic."""


def _address(dsn: str) -> str:
    try:
        params = conninfo_to_dict(dsn)
    except psycopg.Error as error:
        raise DatabaseError(
            f"not a PostgreSQL connection string: {first_line(error)}",
            hint="write postgresql://user:password@host:port/dbname",
        ) from None
    return f"{params.get('host', 'localhost')}:{params.get('port', 5432)}"


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
        failover_wait_s: float = FAILOVER_WAIT_S,
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
        self._failover_wait_s = failover_wait_s
        self._clock = clock
        self._pool_sizes = (pool_min, pool_max)
        self._pools = {name: self._new_pool(name) for name in self._dsns}
        self._retiring: set[asyncio.Task[None]] = set()
        self._checkers: dict[str, Connection | None] = dict.fromkeys(self._dsns)
        self._health = {name: _Health(False, None, "not checked yet") for name in self._dsns}
        # Twice the rotation bound, so a replica behind every sample is beyond it.
        self._history_s = max(2 * self._routing.policy.max_lag_s, 4 * poll_interval_s)
        self._history: tuple[LsnSample, ...] = ()
        self._outstanding = dict.fromkeys(self._dsns, 0)
        self._reads = dict.fromkeys(self._dsns, 0)
        self._writes = self._fallbacks = self._waits = self._retries = self._failed_checks = 0
        self._write_retries = self._primary_changes = 0
        self._polled = asyncio.Event()
        self._poller: asyncio.Task[None] | None = None

    # -- life cycle --------------------------------------------------------

    async def open(self) -> None:
        """Connect to every node, fill the pools, check health once, start polling.

        The node that answers as the primary (the highest timeline among those
        not in recovery) is the primary, whichever name it was given: after a
        failover, a process started with the old primary's DSN first still finds
        the new one, waiting at most ``failover_wait_s`` while a failover is
        under way. Raises :class:`~millionscale.errors.DatabaseError` naming
        the node when any node is not PostgreSQL or refuses the password, or
        when no node answers at all or none becomes a primary in time. A
        replica that is merely down starts out of rotation.
        """
        try:
            errors: dict[str, DatabaseError] = {}
            for name, dsn in self._dsns.items():
                try:
                    self._checkers[name] = await self._connect(name, dsn)
                except DatabaseError as error:
                    if _misconfigured(error):
                        raise
                    # A node that is down is not a reason to refuse service: it
                    # starts out of rotation and joins once a health check passes.
                    errors[name] = error
                    self._mark(name, _Health(False, None, f"down at start: {error.message}"))
            if len(errors) == len(self._dsns):
                raise errors[self._primary]
            for name, pool in self._pools.items():
                if self._checkers[name] is None:
                    await pool.open(wait=False)  # keeps connecting in the background
                    continue
                try:
                    await pool.open(wait=True, timeout=self._acquire_timeout_s)
                except psycopg.Error as error:
                    raise self._node_error(name, error) from None
            await self._poll_once()
            deadline = self._clock() + self._failover_wait_s
            while not self._primary_ready() and self._clock() < deadline:
                await asyncio.sleep(self._poll_interval_s)
                await self._poll_once()
            if not self._primary_ready():
                reason = self._health[self._primary].reason
                raise DatabaseError(
                    f"no database node answers as the primary (last seen: {self._primary} at "
                    f"{self._addresses[self._primary]}: {reason})",
                    hint="start the primary, or let the failover monitor promote a replica",
                )
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
        await asyncio.gather(*self._retiring, return_exceptions=True)
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
        node = await self._await_primary(self._clock() + self._failover_wait_s)
        async with self._use(node, read=False) as conn:
            async with conn.transaction():
                yield conn
            row = await (await conn.execute(_COMMIT_LSN)).fetchone()
        self._committed(row, session)

    def _committed(self, row: tuple[Any, ...] | None, session: Session | None) -> None:
        """Count a committed write; the session learns its position (at or past it)."""
        self._writes += 1
        if session is not None and row is not None and row[0] is not None:
            session.record_write(parse_lsn(row[0]))

    async def run_write(
        self, work: Callable[[Connection], Awaitable[T]], session: Session | None = None
    ) -> T:
        """``await work(conn)`` in one transaction on the primary, across a failover.

        When the primary is lost or drained *before* COMMIT is sent (a lost
        connection, or ``read_only_sql_transaction`` from a drained primary),
        the transaction certainly did not commit: ``work`` runs again on the
        primary the router finds next, for at most ``failover_wait_s``. An
        error during COMMIT itself is ambiguous (the commit may have happened)
        and propagates; so does every error in your SQL.
        """
        deadline = self._clock() + self._failover_wait_s
        while True:
            node = await self._await_primary(deadline)
            committing = False
            try:
                async with self._use(node, read=False) as conn:
                    async with conn.transaction():
                        result = await work(conn)
                        committing = True
                    row = await (await conn.execute(_COMMIT_LSN)).fetchone()
            except psycopg.Error as error:
                retry = _is_connection_error(error) or error.sqlstate in _PRIMARY_MOVED
                if committing or not retry or self._clock() >= deadline:
                    raise
                self._write_retries += 1
                if error.sqlstate in _PRIMARY_MOVED:
                    # Alive but read-only (drained): it stays in rotation for reads
                    # until a poll finds the next primary.
                    await self._next_poll_before(deadline, first_line(error))
                else:
                    await self._primary_lost(node, first_line(error))
                continue
            self._committed(row, session)
            return result

    @contextlib.asynccontextmanager
    async def read(
        self, session: Session | None = None, *, consistency: Consistency = READ_YOUR_WRITES
    ) -> AsyncIterator[Connection]:
        """An autocommit connection on the node the routing core picks.

        Wrap several statements in ``conn.transaction()`` for one snapshot.
        Errors inside the block are not retried (see :meth:`run_read`).
        """
        deadline = self._clock() + self._failover_wait_s
        node = await self._route_read(session, consistency, exclude=set(), deadline=deadline)
        async with self._use(node) as conn:
            yield conn

    async def run_read(
        self,
        work: Callable[[Connection], Awaitable[T]],
        session: Session | None = None,
        *,
        consistency: Consistency = READ_YOUR_WRITES,
    ) -> T:
        """``await work(conn)`` on a routed connection; ``work`` must be safe to run
        again (a read). A replica lost under it: run once more elsewhere. The
        primary lost under it: run again once a primary answers (the same one
        back, or the next one), for at most ``failover_wait_s``."""
        failed: set[str] = set()
        deadline = self._clock() + self._failover_wait_s
        while True:
            node = await self._route_read(session, consistency, exclude=failed, deadline=deadline)
            try:
                async with self._use(node) as conn:
                    return await work(conn)
            except psycopg.OperationalError as error:
                if not _is_connection_error(error):
                    raise
                if node == self._primary:  # wait for it, or for the next one
                    if self._clock() >= deadline:
                        raise
                    self._retries += 1
                    await self._primary_lost(node, first_line(error))
                    await self._await_primary(deadline)
                    continue
                if failed:
                    raise
                failed.add(node)
                self._retries += 1

    @property
    def primary_pool(self) -> AsyncConnectionPool:
        """The current primary's pool (autocommit connections), for callers that must
        always use the primary and manage their own statements: session stores,
        readiness. Ask again for each use: it changes with a failover."""
        return self._pools[self._primary]

    @property
    def primary(self) -> str:
        """The name of the node the router takes for the primary now."""
        return self._primary

    @property
    def primary_dsn(self) -> str:
        """The current primary's connection string (migrations, tools)."""
        return self._dsns[self._primary]

    # -- introspection -----------------------------------------------------

    def statistics(self) -> RouterStatistics:
        return RouterStatistics(
            reads=dict(self._reads),
            writes=self._writes,
            fallbacks_to_primary=self._fallbacks,
            waits=self._waits,
            retries=self._retries,
            write_retries=self._write_retries,
            primary_changes=self._primary_changes,
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
            # A node serves in its role only: a "replica" that answers as a primary
            # is an old primary (fenced soon), a "primary" in recovery was demoted.
            in_role = health.in_recovery is (not primary)
            states.append(
                NodeState(
                    name=name,
                    role=Role.PRIMARY if primary else Role.REPLICA,
                    healthy=health.healthy and in_role,
                    replay_lsn=health.lsn,
                    lag_s=0.0 if primary else staleness_bound(self._history, health.lsn, now),
                    outstanding=self._outstanding[name],
                )
            )
        return tuple(states)

    async def _route_read(
        self,
        session: Session | None,
        consistency: Consistency,
        *,
        exclude: set[str],
        deadline: float,
    ) -> str:
        """The node the routing core picks; waits while it says wait (for replicas to
        catch up, at most its deadline; for a primary, at most ``deadline``)."""
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
            if isinstance(decision, WaitForPrimary):
                await self._next_poll_before(deadline, decision.reason)
                continue
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
                self._health[name] = replace(health, lsn=lsn)

        replicas = [
            name
            for name, health in self._health.items()
            if name != self._primary
            and name not in exclude
            and health.healthy
            and health.in_recovery
        ]
        await asyncio.gather(*(one(name) for name in replicas))

    def _serves(self, name: str) -> bool:
        """In rotation, in the role the router gives it (a primary that answers as one,
        a replica in recovery)."""
        health = self._health[name]
        return health.healthy and health.in_recovery is (name != self._primary)

    @contextlib.asynccontextmanager
    async def _use(self, node: str, *, read: bool = True) -> AsyncIterator[Connection]:
        """A pooled connection to ``node``; a lost connection takes the node out.

        A node out of rotation is refused at once (:class:`NodeOutOfRotation`),
        never waited for in its pool.
        """
        if not self._serves(node):
            raise NodeOutOfRotation(f"{node} is out of rotation: {self._health[node].reason}")
        self._outstanding[node] += read
        try:
            async with self._pools[node].connection(timeout=self._acquire_timeout_s) as conn:
                self._reads[node] += read
                yield conn
        except psycopg.OperationalError as error:
            if _is_connection_error(error):
                self._mark_down(node, first_line(error))
            raise
        finally:
            self._outstanding[node] -= read

    def _mark_down(self, node: str, reason: str) -> None:
        self._mark(node, replace(self._health[node], healthy=False, reason=reason))

    def _mark(self, name: str, health: _Health) -> None:
        before = self._health[name]
        self._health[name] = health
        if before.healthy != health.healthy:
            state = "in rotation" if health.healthy else "out of rotation"
            log.info(f"db node {name} {state}: {health.reason}", node=name)
            if not health.healthy and self._poller is not None:
                self._retire_pool(name)

    def _node_error(self, name: str, error: BaseException) -> DatabaseError:
        reason = first_line(error)
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
            interval = self._poll_interval_s
            if not self._primary_ready():
                interval = min(interval, OUTAGE_POLL_INTERVAL_S)
            await asyncio.sleep(interval)
            await self._poll_once()

    async def _poll_once(self) -> None:
        """One round: the primary first (its position dates the samples), then the
        others; then the primary is whichever node answers as one on the highest
        timeline (normally the same one)."""
        started = self._clock()
        primary = await self._check(self._primary)
        if primary.healthy and primary.in_recovery is False and primary.lsn is not None:
            self._history = keep_recent(
                self._history, LsnSample(started, primary.lsn), self._history_s
            )
        others = [name for name in self._dsns if name != self._primary]
        await asyncio.gather(*(self._check(name) for name in others))
        self._elect_primary()
        polled, self._polled = self._polled, asyncio.Event()
        polled.set()

    def _elect_primary(self) -> None:
        claims = {
            name: h.timeline
            for name, h in self._health.items()
            if h.healthy and h.in_recovery is False
        }
        if not claims:
            return
        best = max(claims.values())
        if claims.get(self._primary) == best:
            return
        new = min(name for name, timeline in claims.items() if timeline == best)
        old, self._primary = self._primary, new
        self._primary_changes += 1
        self._history = ()  # samples of the old primary's positions date nothing now
        log.info(f"db primary is now {new} (was {old}), timeline {best}", node=new)

    def _primary_ready(self) -> bool:
        return self._serves(self._primary)

    async def _await_primary(self, deadline: float) -> str:
        """The primary's name once one answers; DatabaseError after ``deadline``."""
        while not self._primary_ready():
            await self._next_poll_before(deadline, self._health[self._primary].reason)
        return self._primary

    async def _next_poll_before(self, deadline: float, reason: str) -> None:
        """Wait for the next health poll, or until ``deadline``; past it, DatabaseError."""
        remaining = deadline - self._clock()
        if remaining <= 0:
            raise DatabaseError(
                f"no primary within {self._failover_wait_s:.0f} s ({self._primary}: {reason})",
                hint="a failover may be under way or have been refused; see "
                "'millionscale db status'",
            )
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(remaining):
                await self.next_poll()

    async def _primary_lost(self, node: str, reason: str) -> None:
        """The primary failed a write: out until a check passes, and the pool's idle
        connections (probably as dead as the one that failed) are replaced."""
        if node == self._primary and self._health[node].healthy:
            self._mark_down(node, reason)
        with contextlib.suppress(Exception):
            await self._pools[node].check()

    async def _check(self, name: str) -> _Health:
        before = self._health[name]
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
            health = replace(
                before, healthy=False, reason=f"health check failed: {first_line(error)}"
            )
        else:
            assert row is not None
            in_recovery, lsn = bool(row[0]), None if row[1] is None else parse_lsn(row[1])
            role = "in recovery" if in_recovery else "primary"
            health = _Health(True, lsn, f"health check passed ({role})", in_recovery, row[2] or 0)
        if health.healthy and not before.healthy and self._poller is not None:
            health = await self._renew_pool(name, health)
        self._mark(name, health)
        return health

    def _new_pool(self, name: str) -> AsyncConnectionPool:
        low, high = self._pool_sizes
        return AsyncConnectionPool(
            self._dsns[name],
            min_size=low,
            max_size=high,
            open=False,
            name=f"db-{name}",
            kwargs={"autocommit": True, "connect_timeout": CONNECT_TIMEOUT_S},
        )

    async def _renew_pool(self, name: str, health: _Health) -> _Health:
        """A node back in rotation takes requests only once a fresh pool holds connections.

        The old pool may still sit in psycopg_pool's reconnect backoff, seconds
        after the server is back, and a request would wait that out.
        """
        fresh = self._new_pool(name)
        try:
            await fresh.open(wait=True, timeout=self._check_timeout_s)
        except psycopg.Error as error:
            await fresh.close()
            reason = f"answers checks but its pool cannot connect: {first_line(error)}"
            return replace(health, healthy=False, reason=reason)
        self._retire_pool(name, fresh)
        return health

    def _retire_pool(self, name: str, fresh: AsyncConnectionPool | None = None) -> None:
        """Put ``fresh`` (or a new pool, connecting in the background) in place of
        ``name``'s pool, and close the old one: requests waiting on it for a
        connection that cannot come are woken at once (``PoolClosed``) and go
        elsewhere or wait for the next primary, instead of waiting out the
        acquire timeout."""
        old, self._pools[name] = self._pools[name], fresh or self._new_pool(name)

        async def swap() -> None:
            if fresh is None:
                await self._pools[name].open(wait=False)
            await old.close()

        task = asyncio.create_task(swap(), name=f"db-router: retire pool {name}")
        self._retiring.add(task)
        task.add_done_callback(self._retiring.discard)

    async def _drop_checker(self, name: str) -> None:
        conn, self._checkers[name] = self._checkers[name], None
        if conn is not None:
            with contextlib.suppress(Exception):
                await conn.close()
