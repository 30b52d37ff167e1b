"""The read/write router the web tier uses: psycopg 3 pools, one per PostgreSQL node.

This is the thin I/O shell around :mod:`millionscale.db.routing`. It holds one
:class:`~millionscale.db.pools.NodePool` per node (a psycopg pool and a check
connection, renewed and retired as the node comes and goes) and a background
poller that checks every node (:mod:`millionscale.db.health`) and elects the
primary; every decision (which node, whether to wait, when to fall back to the
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
- The nodes are fixed (``Router(primary_dsn, replicas)``) or follow a
  :class:`~millionscale.discovery.Discovery` source (:meth:`Router.from_discovery`,
  :mod:`millionscale.db.membership`'s rules). A node added serves no request
  before a health check passes and a fresh pool holds connections; a node
  removed takes no new request at once, and its pool and check connection are
  closed once the requests in flight on it have ended (they are never cut).
  Discovery is a hint: who the primary is stays the checks' call, and the node
  the router takes for the primary is not removed while it is one.

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
from dataclasses import dataclass
from typing import Any, TypeVar

import psycopg
import structlog
from psycopg.rows import TupleRow
from psycopg_pool import AsyncConnectionPool

from millionscale.db.health import NodeHealth
from millionscale.db.lsn import parse_lsn
from millionscale.db.membership import (
    RECONCILE_S,
    AddNode,
    Present,
    RemoveNode,
    first_primary,
    reconcile,
)
from millionscale.db.pools import NodePool, conninfo_of, misconfigured, node_dsn
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
from millionscale.discovery import Discovery, Snapshot, follow
from millionscale.errors import DatabaseError, MillionscaleError, first_line

__all__ = ["POLL_INTERVAL_S", "READ_YOUR_WRITES", "Router", "RouterStatistics"]

log = structlog.get_logger()
T = TypeVar("T")
Connection = psycopg.AsyncConnection[TupleRow]

POLL_INTERVAL_S = 0.2  # see the module docstring for the peers' intervals
# While the primary is out of rotation, writes and primary reads wait for the poll
# that finds the next one: poll this often then (a refused connection costs a
# millisecond; a node that does not answer still costs a check timeout).
OUTAGE_POLL_INTERVAL_S = 0.02
# (also while the primary refuses writes as read-only, drained for a switchover: the
# poll that finds the promoted standby comes 20 ms after the promotion, not 200)
CHECK_TIMEOUT_S = 1.0  # a node that cannot answer one tiny query in 1 s is out of rotation
ACQUIRE_TIMEOUT_S = 5.0  # waiting for a pooled connection; psycopg_pool's default is 30 s
READ_YOUR_WRITES = ReadYourWrites()
# While a read-your-writes read waits, replicas are asked again after 2, 4, 8... ms
# (at most 50 ms apart) instead of at the next poll, 200 ms away.
REFRESH_PAUSE_MIN_S = 0.002
REFRESH_PAUSE_MAX_S = 0.05

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
    nodes_added: int = 0  # nodes discovery added after open
    nodes_removed: int = 0  # nodes discovery removed (a moved node counts once each way)
    retiring: int = 0  # removed nodes whose pools wait for their requests in flight to end
    discovery_version: int | None = None  # the last snapshot followed (None: fixed nodes)


class NodeOutOfRotation(psycopg.OperationalError):
    """The router refused to hand out a connection to a node it knows is out of
    rotation; nothing was sent. A connection error for the retry logic."""


@dataclass(frozen=True, slots=True)
class _Source:
    """Where a router built by :meth:`Router.from_discovery` finds its nodes."""

    discovery: Discovery
    tier: str
    conninfo: str  # credentials, database and options; host and port come from each member


def _is_connection_error(error: psycopg.Error) -> bool:
    """Lost or refused connection (retry elsewhere), as opposed to an error in the SQL."""
    state = error.sqlstate
    return state is None or state.startswith("08") or state in {"57P01", "57P02", "57P03"}


class Router:
    """Writes and transactions to the primary, reads to replicas; see the module docstring.

    ``replicas`` maps node names (shown in statistics) to DSNs: a fixed set of
    nodes. :meth:`from_discovery` builds one whose nodes follow a discovery
    source instead. ``clock`` is monotonic seconds, used for lag and wait
    deadlines. Use it as ``async with Router(...) as router:`` or call
    :meth:`open` and :meth:`close`.
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
        # (A fixed set of nodes says no data center: every one is taken for local.)
        if primary_name in replicas:
            raise DatabaseError(
                f"node name {primary_name!r} is both the primary and a replica",
                hint="give every replica a name of its own",
            )
        self._configure(
            None,
            policy=policy,
            poll_interval_s=poll_interval_s,
            check_timeout_s=check_timeout_s,
            acquire_timeout_s=acquire_timeout_s,
            failover_wait_s=failover_wait_s,
            pool_sizes=(pool_min, pool_max),
            clock=clock,
            rng=rng,
        )
        self._primary = primary_name
        for name, dsn in {primary_name: primary, **replicas}.items():
            self._add(name, dsn, "not checked yet")

    @classmethod
    def from_discovery(
        cls,
        discovery: Discovery,
        conninfo: str,
        *,
        tier: str = "db",
        policy: RoutingPolicy | None = None,
        poll_interval_s: float = POLL_INTERVAL_S,
        check_timeout_s: float = CHECK_TIMEOUT_S,
        acquire_timeout_s: float = ACQUIRE_TIMEOUT_S,
        failover_wait_s: float = FAILOVER_WAIT_S,
        pool_min: int = 1,
        pool_max: int = 10,
        clock: Callable[[], float] = time.monotonic,
        rng: random.Random | None = None,
        datacenter: str | None = None,
    ) -> Router:
        """A router whose nodes are ``discovery``'s PostgreSQL nodes of ``tier``, followed.

        ``conninfo`` gives what every node shares (user, password, database,
        options: ``postgresql://app:secret@/photos``); each node's host and port
        come from its member (its ``main`` port). :meth:`open` reads the first
        snapshot (a :class:`~millionscale.errors.DiscoveryError` if the source
        does not answer; a :class:`~millionscale.errors.DatabaseError` if it
        lists no node) and then follows the source until :meth:`close`, by
        :mod:`~millionscale.db.membership`'s rules: a node added starts out of
        rotation and serves once a check passes; a node removed takes no new
        request and its pool is closed once its requests in flight end.
        Discovery is a hint: the ``db/primary`` claim (or the member whose role
        is ``primary``) is where the router starts looking, and its own checks
        decide who the primary is. ``datacenter`` is the router's own: reads
        go to the nodes whose members stand there first (routing rule 4). The
        other arguments are as for :class:`Router`. Raises DatabaseError at
        once if ``conninfo`` is no connection string.
        """
        conninfo_of(conninfo)
        router = cls.__new__(cls)
        router._configure(
            _Source(discovery, tier, conninfo),
            policy=policy,
            poll_interval_s=poll_interval_s,
            check_timeout_s=check_timeout_s,
            acquire_timeout_s=acquire_timeout_s,
            failover_wait_s=failover_wait_s,
            pool_sizes=(pool_min, pool_max),
            clock=clock,
            rng=rng,
        )
        router._datacenter = datacenter
        return router

    def _configure(
        self,
        source: _Source | None,
        *,
        policy: RoutingPolicy | None,
        poll_interval_s: float,
        check_timeout_s: float,
        acquire_timeout_s: float,
        failover_wait_s: float,
        pool_sizes: tuple[int, int],
        clock: Callable[[], float],
        rng: random.Random | None,
    ) -> None:
        """Everything but the nodes: each constructor adds its own."""
        self._source = source
        self._primary = ""  # a node's name once there are nodes
        self._routing = Routing(policy, rng)
        self._poll_interval_s = poll_interval_s
        self._check_timeout_s = check_timeout_s
        self._acquire_timeout_s = acquire_timeout_s
        self._failover_wait_s = failover_wait_s
        self._clock = clock
        self._pool_sizes = pool_sizes
        self._nodes: dict[str, NodePool] = {}
        self._datacenter: str | None = None  # the router's own; None: every node is local
        self._sites: dict[str, str] = {}  # node -> the data center its member stands in
        self._leaving: set[NodePool] = set()  # removed, their pools not closed yet
        self._retirements: set[asyncio.Task[None]] = set()
        self._held: Mapping[str, str] = {}  # nodes kept though discovery dropped them
        self._version: int | None = None  # of the last snapshot reconciled
        # Twice the rotation bound, so a replica behind every sample is beyond it.
        self._history_s = max(2 * self._routing.policy.max_lag_s, 4 * poll_interval_s)
        self._history: tuple[LsnSample, ...] = ()
        self._reads: dict[str, int] = {}
        self._writes = self._fallbacks = self._waits = self._retries = self._failed_checks = 0
        self._write_retries = self._primary_changes = self._added = self._removed = 0
        self._polled = asyncio.Event()
        self._refused_writes = False  # the primary refused the last write as read-only
        self._poller: asyncio.Task[None] | None = None
        self._follower: asyncio.Task[None] | None = None

    # -- membership ----------------------------------------------------------

    def _add(self, name: str, dsn: str, reason: str, datacenter: str | None = None) -> None:
        """A node out of rotation (``reason`` says why) until a check passes. Its pool
        is opened by :meth:`open` at the start, later by the check that passes."""
        if datacenter is not None:
            self._sites[name] = datacenter
        self._nodes[name] = NodePool(
            name, dsn, sizes=self._pool_sizes, health=NodeHealth.unknown(reason)
        )
        self._reads.setdefault(name, 0)

    def _remove(self, name: str) -> None:
        """No new request enters node ``name``; its pool closes once its requests end."""
        node = self._nodes.pop(name)
        node.removed = True
        self._leaving.add(node)
        if name == self._primary:  # replaced: its positions date nothing at the new address
            self._history = ()

        async def retire() -> None:
            try:
                await node.retire()
            except Exception as error:  # best effort: the node is out of the router either way
                log.warning(f"db node {name}: closing it failed: {first_line(error)}", node=name)
            else:
                log.info(f"db node {name} retired: its pool is closed", node=name)
            finally:
                self._leaving.discard(node)

        task = asyncio.create_task(retire(), name=f"db-router: retire node {name}")
        self._retirements.add(task)
        task.add_done_callback(self._retirements.discard)

    def _reconcile(self, source: _Source, snapshot: Snapshot) -> None:
        """Apply :func:`~millionscale.db.membership.reconcile`'s plan for ``snapshot``."""
        present = [Present(name, node.address) for name, node in self._nodes.items()]
        plan = reconcile(present, snapshot, source.tier, primary=self._primary or None)
        for decision in plan.decisions:
            log.info(decision.reason, node=decision.name, version=snapshot.version)
            match decision:
                case RemoveNode(name):
                    self._remove(name)
                    self._removed += 1
                case AddNode(name, host, port, reason, datacenter):
                    self._add(name, node_dsn(source.conninfo, host, port), reason, datacenter)
                    if self._poller is not None:  # not one of those found at open
                        self._added += 1
        for name, why in plan.held.items():
            if self._held.get(name) != why:
                log.warning(why, node=name, version=snapshot.version)
        self._held = plan.held
        self._version = snapshot.version

    async def _start_from(self, source: _Source) -> Snapshot:
        """The first snapshot's nodes, and the one to take for the primary first."""
        snapshot = await source.discovery.snapshot()
        self._reconcile(source, snapshot)
        primary = first_primary(snapshot, self._nodes)
        if primary is None:
            members = len(snapshot.tier(source.tier))
            raise DatabaseError(
                f"discovery lists no PostgreSQL node in tier {source.tier!r} "
                f"({members} member(s) there: none has role 'primary' or 'replica', "
                "a 'main' port and a health other than stopping, stopped or failed)",
                hint=f"list the PostgreSQL servers as members of tier {source.tier!r} with "
                "role 'primary' or 'replica' and their port named 'main', or name the tier "
                "they are in",
            )
        self._primary = primary
        return snapshot

    async def _follow(self, source: _Source, first: Snapshot) -> None:
        async for snapshot in follow(source.discovery, first, every_s=RECONCILE_S):
            try:
                self._reconcile(source, snapshot)
            except MillionscaleError as error:  # a member the router cannot use: next time
                log.warning(f"db membership: {error.one_line()}")

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
        replica that is merely down starts out of rotation. A router built by
        :meth:`from_discovery` first reads its nodes from the source
        (DiscoveryError if it does not answer, DatabaseError if it lists none),
        and follows it from then on.
        """
        try:
            first = None if self._source is None else await self._start_from(self._source)
            errors: dict[str, DatabaseError] = {}
            for node in self._nodes.values():
                try:
                    await node.connect()
                except DatabaseError as error:
                    if misconfigured(error):
                        raise
                    # A node that is down is not a reason to refuse service: it
                    # starts out of rotation and joins once a health check passes.
                    errors[node.name] = error
                    self._mark(node, NodeHealth.unknown(f"down at start: {error.message}"))
            if len(errors) == len(self._nodes):
                raise errors[self._primary]
            for node in self._nodes.values():
                await node.open(wait=node.connected, timeout_s=self._acquire_timeout_s)
            await self._poll_once()
            deadline = self._clock() + self._failover_wait_s
            while not self._primary_ready() and self._clock() < deadline:
                await asyncio.sleep(self._poll_interval_s)
                await self._poll_once()
            if not self._primary_ready():
                primary = self._nodes[self._primary]
                raise DatabaseError(
                    f"no database node answers as the primary (last seen: {self._primary} at "
                    f"{primary.address}: {primary.health.reason})",
                    hint="start the primary, or let the failover monitor promote a replica",
                )
        except BaseException:
            await self.close()
            raise
        self._poller = asyncio.create_task(self._poll_forever(), name="db-router-poller")
        if self._source is not None and first is not None:
            self._follower = asyncio.create_task(
                self._follow(self._source, first), name="db-router-membership"
            )

    async def close(self) -> None:
        """Stop following discovery and polling; close every pool and connection (those
        of removed nodes too, without waiting for their requests); safe to call twice."""
        for task in (self._follower, self._poller):
            if task is not None:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
        self._follower = self._poller = None
        for node in self._leaving:
            node.stop_waiting()
        await asyncio.gather(*self._retirements, return_exceptions=True)
        for node in self._nodes.values():
            await node.close()

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
        self._refused_writes = False
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
                    self._refused_writes = True
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
        return self._primary_node().pool

    @property
    def primary(self) -> str:
        """The name of the node the router takes for the primary now."""
        return self._primary

    @property
    def primary_dsn(self) -> str:
        """The current primary's connection string (migrations, tools)."""
        return self._primary_node().dsn

    def _primary_node(self) -> NodePool:
        node = self._nodes.get(self._primary)
        if node is None:
            raise DatabaseError(
                "the router has no primary yet", hint="open it first (async with, or open())"
            )
        return node

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
            nodes_added=self._added,
            nodes_removed=self._removed,
            retiring=len(self._leaving),
            discovery_version=self._version,
        )

    async def next_poll(self) -> None:
        """Return once the health poll running or due next has finished."""
        await self._polled.wait()

    # -- internals ---------------------------------------------------------

    def _states(self) -> tuple[NodeState, ...]:
        now = self._clock()
        states = []
        for name, node in self._nodes.items():
            primary = name == self._primary
            health = node.health
            states.append(
                NodeState(
                    name=name,
                    role=Role.PRIMARY if primary else Role.REPLICA,
                    healthy=health.serves(primary=primary),
                    replay_lsn=health.lsn,
                    lag_s=0.0 if primary else staleness_bound(self._history, health.lsn, now),
                    outstanding=node.outstanding,
                    local=self._datacenter in (None, self._sites.get(name, self._datacenter)),
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

        async def one(node: NodePool) -> None:
            lsn = await node.replay_lsn(self._check_timeout_s)
            if lsn is not None and node.health.healthy:
                node.health = node.health.replayed(lsn)

        replicas = [
            node
            for name, node in self._nodes.items()
            if name != self._primary
            and name not in exclude
            and node.health.healthy
            and node.health.in_recovery
        ]
        await asyncio.gather(*(one(node) for node in replicas))

    def _serves(self, name: str) -> bool:
        """In rotation, in the role the router gives it (a primary that answers as one,
        a replica in recovery)."""
        node = self._nodes.get(name)
        return node is not None and node.health.serves(primary=name == self._primary)

    @contextlib.asynccontextmanager
    async def _use(self, name: str, *, read: bool = True) -> AsyncIterator[Connection]:
        """A pooled connection to node ``name``; a lost connection takes the node out.

        A node out of rotation is refused at once (:class:`NodeOutOfRotation`),
        never waited for in its pool.
        """
        node = self._nodes.get(name)
        if node is None or not self._serves(name):
            reason = "not a node of the router" if node is None else node.health.reason
            raise NodeOutOfRotation(f"{name} is out of rotation: {reason}")
        try:
            async with node.connection(self._acquire_timeout_s, read=read) as conn:
                self._reads[name] += read
                yield conn
        except psycopg.OperationalError as error:
            if _is_connection_error(error):
                self._mark_down(node, first_line(error))
            raise

    def _mark_down(self, node: NodePool, reason: str) -> None:
        self._mark(node, node.health.failed(reason))

    def _mark(self, node: NodePool, health: NodeHealth) -> None:
        if node.removed:
            return  # out of the router: its health is no one's concern
        before = node.health
        node.health = health
        if before.healthy != health.healthy:
            state = "in rotation" if health.healthy else "out of rotation"
            log.info(f"db node {node.name} {state}: {health.reason}", node=node.name)
            if not health.healthy and self._poller is not None:
                node.retire_pool()

    async def _poll_forever(self) -> None:
        while True:
            interval = self._poll_interval_s
            if self._refused_writes or not self._primary_ready():
                interval = min(interval, OUTAGE_POLL_INTERVAL_S)
            await asyncio.sleep(interval)
            await self._poll_once()

    async def _poll_once(self) -> None:
        """One round: the primary first (its position dates the samples), then the
        others; then the primary is whichever node answers as one on the highest
        timeline (normally the same one)."""
        started = self._clock()
        node = self._nodes[self._primary]
        primary = await self._check(node)
        if not node.removed and primary.claims_primary and primary.lsn is not None:
            self._history = keep_recent(
                self._history, LsnSample(started, primary.lsn), self._history_s
            )
        others = [node for name, node in self._nodes.items() if name != self._primary]
        await asyncio.gather(*(self._check(node) for node in others))
        self._elect_primary()
        polled, self._polled = self._polled, asyncio.Event()
        polled.set()

    def _elect_primary(self) -> None:
        claims = {
            name: node.health.timeline
            for name, node in self._nodes.items()
            if node.health.claims_primary
        }
        if not claims:
            return
        best = max(claims.values())
        if claims.get(self._primary) == best:
            return
        new = min(name for name, timeline in claims.items() if timeline == best)
        old, self._primary = self._primary, new
        self._primary_changes += 1
        self._refused_writes = False
        self._history = ()  # samples of the old primary's positions date nothing now
        log.info(f"db primary is now {new} (was {old}), timeline {best}", node=new)

    def _primary_ready(self) -> bool:
        return self._serves(self._primary)

    async def _await_primary(self, deadline: float) -> str:
        """The primary's name once one answers; DatabaseError after ``deadline``."""
        while not self._primary_ready():
            await self._next_poll_before(deadline, self._nodes[self._primary].health.reason)
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

    async def _primary_lost(self, name: str, reason: str) -> None:
        """The primary failed a write: out until a check passes, and the pool's idle
        connections (probably as dead as the one that failed) are replaced."""
        node = self._nodes.get(name)
        if node is None:
            return
        if name == self._primary and node.health.healthy:
            self._mark_down(node, reason)
        with contextlib.suppress(Exception):
            await node.pool.check()

    async def _check(self, node: NodePool) -> NodeHealth:
        """Check ``node`` now and put it in or out of rotation; its health."""
        before = node.health
        health = await node.check(self._check_timeout_s)
        if node.removed:
            return health
        if not health.healthy:
            self._failed_checks += 1
        elif not before.healthy and self._poller is not None:
            health = await node.renew(health, self._check_timeout_s)
        self._mark(node, health)
        return health
