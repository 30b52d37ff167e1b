"""The failover monitor: keeps one PostgreSQL primary alive, on any set of nodes.

    python -m millionscale.db.monitor --discovery file:nodes.json \
        --record db-cluster.json --fence MODULE:FACTORY=ARG --token-file TOKEN --port PORT

It takes its nodes from a :class:`~millionscale.discovery.Discovery` (the
members of tier ``db`` with role ``primary`` or ``replica``; the ``db/primary``
claim, if one is in force, names the primary), asks every node what it is
twice a second, hands the answers to
:class:`~millionscale.db.failover.FailoverCore` and carries out its actions:

- **Fence** (a failover): the :class:`~millionscale.db.fencing.Fencer` makes
  sure the node accepts no write (under ``millionscale up``: SIGKILL to the
  node's postmaster and every process below it). Whoever supervises the node
  restarts it as a standby of the primary the ``db/primary`` claim names
  (rewound with ``pg_rewind``). A fence that fails is tried again each round,
  and no standby is promoted meanwhile.
- **ShutDown** (a planned switchover): the fencer's fast shutdown (SIGINT to
  the postmaster: clients disconnected, a shutdown checkpoint, every WAL byte
  sent to and flushed by the standbys before it exits); if the node is not
  gone within ``SHUTDOWN_WAIT_S``, it is fenced instead.
- **Promote**: ``pg_promote(wait => false)`` on the elected standby, then
  ``pg_is_in_recovery()`` every 10 ms until it answers as a primary
  (``pg_promote``'s own wait checks every 100 ms).
- **Follow**: ``ALTER SYSTEM SET primary_conninfo`` and a reload on a
  standby (PostgreSQL 13+ re-points its WAL receiver without a restart).
- **EnsureSlots**: a physical replication slot per member on the primary.
- **Publish**: the cluster record, atomically, in the ``--record`` file, and
  the claim ``db/primary`` at the record's epoch in the
  :class:`~millionscale.discovery.RoleRegistry` when there is one.

An admin API on ``--port`` (``Authorization: Bearer`` the token in
``--token-file``, the scheme in any case: RFC 9110 §11.1): ``GET /cluster``, ``POST /switchover`` (``{"to": "db-r1"}`` or
``{}``), ``POST /failover``; plus ``/healthz``, ``/readyz`` and ``/metrics``
(the shared admin plumbing, :mod:`millionscale.obs.admin`).
A planned switchover is Patroni's: drain the primary
(``default_transaction_read_only``, so new write transactions fail fast and
the router retries them on the new primary), wait out the transactions that
began before the drain (they may still write and commit: a clean shutdown
would cut one waiting in COMMIT for its synchronous standby, an ambiguous
error for its client), wait until the target has
replayed everything the primary flushed, shut the old primary down cleanly,
promote, then re-point the other standbys. Killing is for failovers.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import sys
import time
from collections.abc import AsyncIterator, Mapping
from pathlib import Path
from typing import Any, get_args

import psycopg
import structlog
from prometheus_client import Counter, Gauge
from psycopg import sql
from psycopg.conninfo import conninfo_to_dict, make_conninfo
from psycopg.rows import TupleRow
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from millionscale.aio import run_main
from millionscale.db.cluster import PRIMARY_ROLE, Cluster, cluster_from, read_record, write_record
from millionscale.db.failover import (
    FAILOVER_TIMEOUT_S,
    Action,
    ClusterRecord,
    EnsureSlots,
    FailoverCore,
    Fence,
    Follow,
    NodeReport,
    PromoteNode,
    Publish,
    ShutDown,
    State,
    SwitchoverRefused,
)
from millionscale.db.fencing import Fencer, load_fencer
from millionscale.db.lsn import format_lsn, parse_lsn
from millionscale.db.pools import network_dsn
from millionscale.db.promotion import Durability
from millionscale.discovery import RoleRegistry, connect
from millionscale.errors import (
    ConfigError,
    Conflict,
    DiscoveryError,
    Invalid,
    MillionscaleError,
    StaleEpochError,
    first_line,
)
from millionscale.obs import configure_logging
from millionscale.obs.admin import admin_app, listen, read_secret, read_token, serve_app

__all__ = [
    "CHECK_INTERVAL_S",
    "Monitor",
    "build_monitor",
    "create_app",
    "main",
    "parser",
    "run_monitor",
]

log = structlog.get_logger()
Connection = psycopg.AsyncConnection[TupleRow]

CHECK_INTERVAL_S = 0.5  # pg_auto_failover checks every 5 s; Patroni's loop runs every 10 s
CHECK_TIMEOUT_S = 1.0  # one node's answer; a paused node costs the round no more than this
CATCH_UP_TIMEOUT_S = 10.0  # a switchover target must replay the drained primary's WAL in this
# A fast shutdown is a checkpoint and the last WAL sent: well under a second on a
# LAN. Patroni waits for it without a bound by default (master_stop_timeout 0);
# we fence a node that has not stopped by then, as a failover would.
SHUTDOWN_WAIT_S = 10.0
# A drain waits this long for the transactions that began before it (which stay
# read-write) to end, then terminates those left (rolled back, never committed).
DRAIN_WAIT_S = 1.0
RELOAD_SETTLE_S = 0.05  # the postmaster signals the backends to reload within this
_OLDER_TRANSACTIONS = """
SELECT pid FROM pg_stat_activity
WHERE backend_type = 'client backend' AND pid <> pg_backend_pid()
  AND xact_start IS NOT NULL AND xact_start < %s
"""
PROMOTE_WAIT_S = 30  # pg_promote's own default is 60 s
PROMOTE_POLL_S = 0.01  # pg_promote(wait => true) looks every 100 ms

_REPORT = """
SELECT pg_is_in_recovery(),
       (CASE WHEN pg_is_in_recovery()
             THEN GREATEST(pg_last_wal_receive_lsn(), pg_last_wal_replay_lsn())
             ELSE pg_current_wal_flush_lsn() END)::text,
       current_setting('primary_conninfo'),
       EXISTS (SELECT 1 FROM pg_stat_wal_receiver WHERE status = 'streaming'),
       ARRAY(SELECT slot_name::text FROM pg_replication_slots WHERE slot_type = 'physical')
"""

FAILOVERS = Counter(
    "millionscale_db_promotions", "Standbys promoted by the monitor", ["kind"]
)  # kind: failover, switchover
FENCES = Counter("millionscale_db_fences", "Nodes fenced by the monitor")
SHUTDOWNS = Counter(
    "millionscale_db_shutdowns", "Primaries shut down cleanly by the monitor for a switchover"
)
EPOCH = Gauge("millionscale_db_epoch", "The cluster record's epoch (one per promotion)")


def _upstream(conninfo: str | None) -> str | None:
    if not conninfo:
        return None
    try:
        params = conninfo_to_dict(conninfo)
    except psycopg.Error:
        return None
    return f"{params.get('host', 'localhost')}:{params.get('port', 5432)}"


class Monitor:
    """The shell around :class:`FailoverCore` for one cluster.

    ``record_path`` is where the cluster record lives (read at start: a monitor
    restarted carries on at the recorded epoch); ``fencer`` carries out fences
    and clean shutdowns; ``registry``, if given, receives the ``db/primary``
    claim with every record published.
    """

    def __init__(
        self,
        cluster: Cluster,
        record_path: Path,
        fencer: Fencer,
        *,
        registry: RoleRegistry | None = None,
        interval_s: float = CHECK_INTERVAL_S,
        failover_timeout_s: float = FAILOVER_TIMEOUT_S,
    ) -> None:
        self.cluster = cluster
        self.record_path = record_path
        self.fencer = fencer
        self.registry = registry
        self.interval_s = interval_s
        record = read_record(record_path) or ClusterRecord(1, cluster.primary, reason="initial")
        if record.primary not in cluster.nodes:
            record = ClusterRecord(
                record.epoch + 1, cluster.primary, reason=f"{record.primary} left the cluster"
            )
        self.resume_promotion = record.state is State.PROMOTING
        record = ClusterRecord(record.epoch, record.primary, State.HEALTHY, record.reason)
        self.core = FailoverCore(cluster.spec(failover_timeout_s=failover_timeout_s), record)
        self.urls = {name: cluster.url(name) for name in cluster.nodes}
        self.reports: dict[str, NodeReport] = {}
        self._conns: dict[str, Connection | None] = dict.fromkeys(cluster.nodes)
        self._lock = asyncio.Lock()
        self._unfenced: tuple[str, str] | None = None  # a fence that failed: node, reason
        self._unclaimed: ClusterRecord | None = None  # a record whose claim did not land
        self.ready = False

    # -- facts -------------------------------------------------------------

    async def _connection(self, name: str) -> Connection:
        conn = self._conns[name]
        if conn is None or conn.closed:
            conn = self._conns[name] = await psycopg.AsyncConnection.connect(
                network_dsn(self.urls[name]), autocommit=True
            )
        return conn

    async def _drop(self, name: str) -> None:
        conn, self._conns[name] = self._conns[name], None
        if conn is not None:
            with contextlib.suppress(Exception):
                await conn.close()

    async def _report(self, name: str) -> NodeReport:
        try:
            async with asyncio.timeout(CHECK_TIMEOUT_S):
                conn = await self._connection(name)
                row = await (await conn.execute(_REPORT)).fetchone()
        except (psycopg.Error, OSError, TimeoutError) as error:
            await self._drop(name)
            reason = "no answer in 1 s" if isinstance(error, TimeoutError) else first_line(error)
            return NodeReport(name, reachable=False, error=reason)
        assert row is not None
        in_recovery = bool(row[0])
        return NodeReport(
            name,
            reachable=True,
            in_recovery=in_recovery,
            flushed_lsn=parse_lsn(row[1]) if row[1] else None,
            upstream=_upstream(row[2]) if in_recovery else None,
            streaming=bool(row[3]),
            slots=frozenset(row[4] or ()),
        )

    async def gather(self) -> dict[str, NodeReport]:
        names = list(self.cluster.nodes)
        reports = await asyncio.gather(*(self._report(name) for name in names))
        self.reports = dict(zip(names, reports, strict=True))
        return self.reports

    # -- actions -----------------------------------------------------------

    async def _carry_out(self, actions: list[Action]) -> None:
        self._flush_journal()  # the decision's sentences before what carrying it out logs
        for action in actions:
            match action:
                case Publish(record):
                    await self._publish(record)
                case Fence(node, reason):
                    if not await self._fence(node, reason):
                        continue
                    self.core.fenced(node)
                    if self.core.state is State.ELECTING:
                        await self._carry_out(self.core.observe(await self.gather()))
                case ShutDown(node, reason):
                    failure = await self._shut_down(node, reason)
                    if failure is not None:
                        await self._carry_out(self.core.stop_failed(node, failure))
                        continue
                    self.core.stopped(node)
                    if self.core.state is State.ELECTING:
                        await self._carry_out(self.core.observe(await self.gather()))
                case PromoteNode(node):
                    await self._promote(node)
                case Follow(node, primary):
                    await self._follow(node, primary)
                case EnsureSlots(primary, slots):
                    await self._ensure_slots(primary, slots)
            self._flush_journal()

    async def _publish(self, record: ClusterRecord) -> None:
        """The record to its file, then the claim to the registry (if there is one).

        The file comes first: it is what a restarted monitor reads. The claim is
        what a supervisor reads to start a node in its role: one the registry
        did not take (it did not answer) is made again every round until it is
        taken or a newer record supersedes it; a stale epoch means another
        monitor won, and is logged as such.
        """
        write_record(self.record_path, record)
        EPOCH.set(record.epoch)
        await self._claim(record)

    async def _claim(self, record: ClusterRecord) -> None:
        self._unclaimed = None
        if self.registry is None:
            return
        try:
            await self.registry.claim(PRIMARY_ROLE, record.primary, record.epoch)
        except StaleEpochError as error:
            log.error(
                f"claiming {PRIMARY_ROLE} for {record.primary} at epoch {record.epoch} "
                f"was refused: {error}",
                holder=error.holder,
                epoch=error.epoch,
            )
        except DiscoveryError as error:
            self._unclaimed = record
            log.warning(f"claiming {PRIMARY_ROLE} failed, again next round: {error.one_line()}")

    async def _fence(self, node: str, reason: str) -> bool:
        """Fence ``node`` through the fencer; whether it is fenced (else tried next round)."""
        await self._drop(node)
        try:
            done = await self.fencer.fence(node)
        except MillionscaleError as error:
            self._unfenced = (node, reason)
            log.error(
                f"fencing {node} failed, no standby is promoted: {error.one_line()}",
                node=node,
                reason=reason,
            )
            return False
        self._unfenced = None
        FENCES.inc()
        log.info(f"fenced {node}: {done}", node=node, reason=reason)
        return True

    async def _shut_down(self, node: str, reason: str) -> str | None:
        """A fast shutdown of ``node``'s server; None once it is gone, else why not.

        The fencer's fast shutdown: the postmaster terminates its backends,
        writes the shutdown checkpoint, and its WAL senders exit only once every
        standby has flushed all of it, so no standby misses a byte.
        """
        await self._drop(node)
        started = time.monotonic()
        try:
            failure = await self.fencer.shut_down(node, SHUTDOWN_WAIT_S)
        except MillionscaleError as error:
            failure = error.one_line()
        if failure is not None:
            return failure
        SHUTDOWNS.inc()
        took = (time.monotonic() - started) * 1000
        log.info(f"shut down {node} cleanly in {took:.0f} ms", node=node, reason=reason)
        return None

    async def _promote(self, node: str) -> None:
        kind = "switchover" if self.core.planned else "failover"
        try:
            async with asyncio.timeout(PROMOTE_WAIT_S):
                conn = await self._connection(node)
                row = await (await conn.execute("SELECT pg_promote(false)")).fetchone()
                if not row or not row[0]:
                    raise RuntimeError("pg_promote refused (is the node a standby?)")
                while True:
                    row = await (await conn.execute("SELECT pg_is_in_recovery()")).fetchone()
                    if row is not None and row[0] is False:
                        break
                    await asyncio.sleep(PROMOTE_POLL_S)
        except TimeoutError:
            await self._drop(node)
            self.core.promotion_failed(node, f"not a primary {PROMOTE_WAIT_S} s after pg_promote")
            return
        except (psycopg.Error, OSError, RuntimeError) as error:
            await self._drop(node)
            self.core.promotion_failed(node, first_line(error))
            return
        FAILOVERS.labels(kind).inc()
        await self._carry_out(self.core.promoted(node))
        # Re-point the other standbys and make their slots now, not at the next round.
        await self._carry_out(self.core.observe(await self.gather()))

    async def _follow(self, node: str, primary: str) -> None:
        target = self.cluster.nodes[primary]
        conninfo = make_conninfo(
            host=target.host,
            port=target.port,
            user="postgres",
            password=self.cluster.password,
            application_name=node,
        )
        slot = node.replace("-", "_")
        try:
            conn = await self._connection(node)
            await conn.execute(
                sql.SQL("ALTER SYSTEM SET primary_conninfo = {}").format(sql.Literal(conninfo))
            )
            await conn.execute(
                sql.SQL("ALTER SYSTEM SET primary_slot_name = {}").format(sql.Literal(slot))
            )
            await conn.execute("SELECT pg_reload_conf()")
        except psycopg.Error as error:
            await self._drop(node)
            log.warning(f"re-pointing {node} at {primary} failed: {first_line(error)}")
            return
        log.info(f"{node} now follows {primary}", node=node, primary=primary)

    async def _ensure_slots(self, primary: str, slots: tuple[str, ...]) -> None:
        try:
            conn = await self._connection(primary)
            for slot in slots:
                await conn.execute(
                    "SELECT pg_create_physical_replication_slot(%s, true)"
                    " WHERE NOT EXISTS (SELECT 1 FROM pg_replication_slots WHERE slot_name = %s)",
                    (slot, slot),
                )
        except psycopg.Error as error:
            await self._drop(primary)
            log.warning(f"creating slots on {primary} failed: {first_line(error)}")

    def _flush_journal(self) -> None:
        for sentence in self.core.journal:
            log.info(sentence, state=str(self.core.state), epoch=self.core.record.epoch)
        self.core.journal.clear()

    # -- the loop and the operations ---------------------------------------------

    async def step(self) -> None:
        async with self._lock:
            if self._unclaimed is not None:
                await self._claim(self._unclaimed)
            if self._unfenced is not None:
                node, reason = self._unfenced
                if await self._fence(node, reason):
                    self.core.fenced(node)
            reports = await self.gather()
            if self.resume_promotion:
                self.resume_promotion = False
                if reports[self.core.record.primary].is_standby:
                    log.info(f"resuming the promotion of {self.core.record.primary}")
                    await self._promote(self.core.record.primary)
                    return
            await self._carry_out(self.core.observe(reports))
            if not self.ready:
                await self._publish(self.core.record)
                self.ready = True

    async def run(self, stop: asyncio.Event) -> None:
        log.info(
            "monitoring",
            primary=self.core.record.primary,
            epoch=self.core.record.epoch,
            members=sorted(self.cluster.nodes),
        )
        while not stop.is_set():
            started = time.monotonic()
            try:
                await self.step()
            except Exception:  # a bug must not end monitoring: log it, go on
                log.exception("monitor round failed")
            pause = max(0.0, self.interval_s - (time.monotonic() - started))
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), pause)
        for name in list(self._conns):
            await self._drop(name)

    async def switchover(self, to: str | None) -> ClusterRecord:
        """Planned: drain, let the target catch up, shut the primary down cleanly,
        promote, re-point the others. Raises SwitchoverRefused (nothing changed)."""
        async with self._lock:
            reports = await self.gather()
            target = self.core.check_switchover(to, reports)
            primary = self.core.record.primary
            await self._checkpoint(primary)
            started = time.monotonic()
            lsn = await self._drain(primary)
            try:
                await self._wait_for_replay(target, lsn)
            except SwitchoverRefused:
                await self._undrain(primary)
                raise
            waited = time.monotonic() - started
            await self._carry_out(
                self.core.begin_switchover(
                    target, f"{target} replayed {format_lsn(lsn)} in {waited * 1000:.0f} ms"
                )
            )
            return self.core.record

    async def failover(self, reason: str) -> ClusterRecord:
        """Forced: fence the primary now, whatever it answers, and elect a standby."""
        async with self._lock:
            self.core.force_failover(reason)
            await self._carry_out(self.core.observe(await self.gather()))
            return self.core.record

    async def _checkpoint(self, primary: str) -> None:
        """Write the primary's dirty buffers out while it still takes writes, so that the
        checkpoint of its clean shutdown, during which it takes none, is short (Patroni
        does the same before it demotes). A failure only costs that time."""
        started = time.monotonic()
        try:
            conn = await self._connection(primary)
            await conn.execute("CHECKPOINT")
        except psycopg.Error as error:
            await self._drop(primary)
            log.warning("checkpoint before the switchover failed", error=first_line(error))
            return
        log.info(
            "checkpoint before the switchover", took_ms=round((time.monotonic() - started) * 1000)
        )

    async def _drain(self, primary: str) -> int:
        """Make the primary refuse new write transactions, wait out (then end) those
        begun before, and answer the WAL position every write it took is at or below."""
        try:
            conn = await self._connection(primary)
            await conn.execute("ALTER SYSTEM SET default_transaction_read_only = on")
            await conn.execute("SELECT pg_reload_conf()")
            # A backend takes the reload after it reads its next command and before it
            # runs it, so a transaction begun from here on is read-only.
            await asyncio.sleep(RELOAD_SETTLE_S)
            await self._end_older_transactions(conn, primary)
            row = await (await conn.execute("SELECT pg_current_wal_flush_lsn()::text")).fetchone()
        except psycopg.Error as error:
            await self._drop(primary)
            raise SwitchoverRefused(f"draining {primary} failed: {first_line(error)}") from None
        assert row is not None
        return parse_lsn(row[0])

    async def _end_older_transactions(self, conn: Connection, primary: str) -> None:
        """Transactions begun before the drain are still read-write: one may commit,
        and its COMMIT waits for the synchronous standby. Wait for them to end, for
        ``DRAIN_WAIT_S``; terminate those left, which then roll back before any COMMIT
        they had not sent, so their clients retry them elsewhere."""
        row = await (await conn.execute("SELECT clock_timestamp()")).fetchone()
        assert row is not None
        drained_at = row[0]
        deadline = time.monotonic() + DRAIN_WAIT_S
        while True:
            older = [
                r[0]
                for r in await (await conn.execute(_OLDER_TRANSACTIONS, (drained_at,))).fetchall()
            ]
            if not older:
                return
            if time.monotonic() >= deadline:
                break
            await asyncio.sleep(0.01)
        for pid in older:
            await conn.execute("SELECT pg_terminate_backend(%s)", (pid,))
        log.warning(
            f"terminated {len(older)} transaction(s) still open {DRAIN_WAIT_S:.0f} s "
            "after the drain",
            node=primary,
        )

    async def _undrain(self, primary: str) -> None:
        with contextlib.suppress(psycopg.Error):
            conn = await self._connection(primary)
            await conn.execute("ALTER SYSTEM RESET default_transaction_read_only")
            await conn.execute("SELECT pg_reload_conf()")

    async def _wait_for_replay(self, target: str, lsn: int) -> None:
        deadline = time.monotonic() + CATCH_UP_TIMEOUT_S
        while time.monotonic() < deadline:
            try:
                conn = await self._connection(target)
                row = await (await conn.execute("SELECT pg_last_wal_replay_lsn()::text")).fetchone()
            except psycopg.Error:
                await self._drop(target)
                row = None
            if row and row[0] and parse_lsn(row[0]) >= lsn:
                return
            await asyncio.sleep(0.01)
        raise SwitchoverRefused(
            f"{target} did not replay {format_lsn(lsn)} within {CATCH_UP_TIMEOUT_S:.0f} s; "
            "the primary takes writes again"
        )

    def view(self) -> dict[str, Any]:
        """The monitor's view for ``GET /cluster`` and ``db status``."""
        return {
            "record": self.core.record.to_json(),
            "state": str(self.core.state),
            "nodes": {
                name: {
                    "reachable": r.reachable,
                    "role": (
                        "primary" if r.is_primary else "standby" if r.is_standby else "unreachable"
                    ),
                    "flushed_lsn": format_lsn(r.flushed_lsn) if r.flushed_lsn is not None else None,
                    "upstream": r.upstream,
                    "streaming": r.streaming,
                    "error": r.error or None,
                }
                for name, r in self.reports.items()
            },
        }


def create_app(monitor: Monitor, token: str) -> Starlette:
    """The admin API (:mod:`millionscale.obs.admin`): every route but health and
    metrics wants the bearer token; a refused switchover or failover is 409."""

    async def cluster(_request: Request) -> Response:
        return JSONResponse(monitor.view())

    async def switchover(request: Request) -> Response:
        data = await _body(request)
        to = data.get("to") if data is not None else None
        if data is None or (to is not None and not isinstance(to, str)) or set(data) - {"to"}:
            raise Invalid('the body must be {} or {"to": "NODE"}')
        try:
            record = await monitor.switchover(to)
        except SwitchoverRefused as error:
            raise Conflict(str(error)) from None
        return JSONResponse({"record": record.to_json(), "state": str(monitor.core.state)})

    async def failover(_request: Request) -> Response:
        try:
            record = await monitor.failover("asked by an operator")
        except SwitchoverRefused as error:
            raise Conflict(str(error)) from None
        return JSONResponse({"record": record.to_json(), "state": str(monitor.core.state)})

    async def ready() -> str | None:
        return None if monitor.ready else "no round of checks finished yet"

    @contextlib.asynccontextmanager
    async def lifespan(_app: Starlette) -> AsyncIterator[None]:
        stop = asyncio.Event()
        loop = asyncio.create_task(monitor.run(stop), name="db-monitor")
        yield
        stop.set()
        await loop

    return admin_app(
        [
            Route("/cluster", cluster, methods=["GET"]),
            Route("/switchover", switchover, methods=["POST"]),
            Route("/failover", failover, methods=["POST"]),
        ],
        token=token,
        ready=ready,
        lifespan=lifespan,
    )


async def _body(request: Request) -> Mapping[str, Any] | None:
    """The JSON object in the body (``{}`` if empty), or None if it is not one."""
    raw = await request.body()
    if not raw.strip():
        return {}
    try:
        data = json.loads(raw)
    except (json.JSONDecodeError, UnicodeDecodeError):
        return None
    return data if isinstance(data, dict) else None


def run_monitor(monitor: Monitor, token: str, *, host: str, port: int) -> int:
    """Serve ``monitor``'s admin API on ``host:port`` and run its loop, until SIGTERM/SIGINT.

    A port that cannot be bound is a :class:`~millionscale.errors.ConfigError`."""
    sock = listen(host, port, "failover monitor's admin API")
    return run_main(serve_app(create_app(monitor, token), sock))


def build_monitor(args: argparse.Namespace) -> tuple[Monitor, str]:
    """The monitor and the admin token the arguments describe (ConfigError and
    DiscoveryError say what is wrong with them)."""
    token = read_token(args.token_file)
    if args.password_file is not None:
        password = read_secret(
            args.password_file, "password file", missing_hint="give the nodes' postgres password"
        )
    else:
        password = os.environ.get("PGPASSWORD", "")
    discovery = connect(args.discovery)
    snapshot = asyncio.run(discovery.snapshot())
    cluster = cluster_from(
        snapshot,
        tier=args.tier,
        synchronous=args.synchronous,
        durability=args.durability,
        password=password,
    )
    registry = discovery if isinstance(discovery, RoleRegistry) and args.claim else None
    monitor = Monitor(
        cluster,
        args.record,
        load_fencer(args.fence),
        registry=registry,
        interval_s=args.interval,
        failover_timeout_s=args.failover_timeout,
    )
    return monitor, token


def parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m millionscale.db.monitor",
        description="The failover monitor: one PostgreSQL primary, kept alive (docs/db.md).",
    )
    parser.add_argument(
        "--discovery",
        required=True,
        metavar="SOURCE",
        help="where the nodes are: file:PATH (a snapshot), as millionscale.discovery.connect",
    )
    parser.add_argument("--tier", default="db", help="the nodes' tier in discovery (default db)")
    parser.add_argument(
        "--record", type=Path, required=True, help="the cluster record's file (read, then kept)"
    )
    parser.add_argument(
        "--fence",
        required=True,
        metavar="MODULE:FACTORY[=ARG]",
        help="the Fencer: e.g. millionscale.db.fencing:command_fencer=/usr/local/bin/fence",
    )
    parser.add_argument("--token-file", type=Path, required=True, help="the admin API's token")
    parser.add_argument(
        "--password-file", type=Path, help="the nodes' postgres password (default: $PGPASSWORD)"
    )
    parser.add_argument(
        "--synchronous", type=int, default=0, help="commits wait for ANY k standbys (default 0)"
    )
    parser.add_argument("--durability", choices=get_args(Durability), default="strict")
    parser.add_argument(
        "--no-claim",
        dest="claim",
        action="store_false",
        help="do not claim db/primary in the discovery source",
    )
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--interval", type=float, default=CHECK_INTERVAL_S)
    parser.add_argument("--failover-timeout", type=float, default=FAILOVER_TIMEOUT_S)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    configure_logging("db-monitor")
    try:
        monitor, token = build_monitor(args)
    except MillionscaleError as error:
        print(f"error: {error.one_line()}", file=sys.stderr)
        return 2
    try:
        return run_monitor(monitor, token, host=args.host, port=args.port)
    except ConfigError as error:
        print(f"error: {error.one_line()}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    raise SystemExit(main())
