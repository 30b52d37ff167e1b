"""Test helpers that ship with the package (as trio's do): a real replicated cluster.

    with replicated_cluster("r1", "r2") as cluster:
        async with Router(cluster.primary.url, cluster.replica_urls, primary_name="main") as r:
            ...

Real PostgreSQL, never a fake: a durable primary named ``main`` (its
``cluster_name``) and asynchronous streaming replicas named as asked. The
node a connection reached is ``SELECT current_setting('cluster_name')``.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import itertools
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import LiteralString

import psycopg
from psycopg.rows import TupleRow

from millionscale.db.router import Router
from millionscale.db.session import Session
from millionscale.errors import DatabaseError
from millionscale.servers import PostgresEngine, RunningServer, start_replica, start_server

__all__ = [
    "SERVED_BY",
    "Cluster",
    "WriteLog",
    "caught_up",
    "eventually",
    "missing_writes",
    "replicated_cluster",
    "write_continuously",
]

SERVED_BY = "SELECT current_setting('cluster_name')"


@dataclass(frozen=True, slots=True)
class Cluster:
    primary: RunningServer
    replicas: dict[str, RunningServer]

    @property
    def replica_urls(self) -> dict[str, str]:
        return {name: server.url for name, server in self.replicas.items()}

    def sql(self, node: str, query: str) -> None:
        """Run ``query`` on ``node`` (``'main'`` or a replica name), autocommit."""
        server = self.primary if node == "main" else self.replicas[node]
        with psycopg.connect(server.url, autocommit=True) as conn:
            conn.execute(query)


@contextlib.contextmanager
def replicated_cluster(*names: str) -> Iterator[Cluster]:
    """A primary ``main`` and one streaming replica per name; all stopped on exit."""
    with contextlib.ExitStack() as stack:
        primary = stack.enter_context(start_server(PostgresEngine(durable=True, node_name="main")))
        replicas = {name: stack.enter_context(start_replica(primary, name)) for name in names}
        yield Cluster(primary, replicas)


async def eventually(router: Router, check: Callable[[], bool], timeout_s: float = 10.0) -> None:
    """Return once ``check()`` holds, checking after each of ``router``'s health polls;
    ``TimeoutError`` if it does not hold within ``timeout_s``."""
    async with asyncio.timeout(timeout_s):
        while not check():
            await router.next_poll()


def caught_up(router: Router, session: Session) -> Callable[[], bool]:
    """True once the router has seen every replica replay the session's last write."""

    def check() -> bool:
        lsn = session.last_write_lsn or 0
        return all(
            n.replay_lsn is not None and n.replay_lsn >= lsn for n in router.statistics().nodes
        )

    return check


ACKS_TABLE: LiteralString = (
    "CREATE TABLE IF NOT EXISTS acks (id bigint PRIMARY KEY, session int NOT NULL)"
)


@dataclass
class WriteLog:
    """What continuous writers saw: every acknowledged id, every failure, when."""

    acked: set[int] = field(default_factory=set)
    failed: int = 0
    errors: Counter[str] = field(default_factory=Counter)
    unread: list[int] = field(default_factory=list)  # acked, then not seen by its own session
    writes: list[tuple[float, float, bool]] = field(default_factory=list)  # start, end, ok

    def first_ok_after(self, moment: float) -> float | None:
        """When the first write that started after ``moment`` was acknowledged."""
        ends = [end for start, end, ok in self.writes if ok and start >= moment]
        return min(ends, default=None)

    def longest_write_s(self) -> float:
        return max((end - start for start, end, _ in self.writes), default=0.0)


async def write_continuously(
    router: Router,
    stop: asyncio.Event,
    *,
    sessions: int = 4,
    max_writes: int = 100_000,
    max_seconds: float = 120.0,
    pause_s: float = 0.002,
) -> WriteLog:
    """Insert rows into ``acks`` from ``sessions`` concurrent sessions until ``stop``
    (bounded in count and time), recording each acknowledged id; each session
    then reads its own write back (read-your-writes) and records it if unseen."""
    await router.run_write(functools.partial(_execute, ACKS_TABLE, ()))
    top = await router.run_write(functools.partial(_fetch_one, "SELECT max(id) FROM acks", ()))
    log = WriteLog()
    first = (top[0] or 0) + 1 if isinstance(top, tuple) else 1
    ids = itertools.count(first)
    deadline = time.monotonic() + max_seconds

    async def one(number: int) -> None:
        session = Session()
        while not stop.is_set() and time.monotonic() < deadline:
            row_id = next(ids)
            if row_id >= first + max_writes:
                return
            started = time.monotonic()
            insert = functools.partial(
                _execute, "INSERT INTO acks VALUES (%s, %s)", (row_id, number)
            )
            try:
                await router.run_write(insert, session)
            except (psycopg.Error, DatabaseError) as error:
                log.failed += 1
                log.errors[type(error).__name__] += 1
                log.writes.append((started, time.monotonic(), False))
                await asyncio.sleep(0.05)
                continue
            log.acked.add(row_id)
            log.writes.append((started, time.monotonic(), True))
            with contextlib.suppress(psycopg.Error, DatabaseError):
                check = functools.partial(_fetch_one, "SELECT 1 FROM acks WHERE id = %s", (row_id,))
                seen = await router.run_read(check, session)
                if seen is None:
                    log.unread.append(row_id)
            await asyncio.sleep(pause_s)

    await asyncio.gather(*(one(n) for n in range(sessions)))
    return log


async def _execute(
    query: LiteralString, args: tuple[int, ...], conn: psycopg.AsyncConnection[TupleRow]
) -> None:
    await conn.execute(query, args)


async def _fetch_one(
    query: LiteralString, args: tuple[int, ...], conn: psycopg.AsyncConnection[TupleRow]
) -> object:
    return await (await conn.execute(query, args)).fetchone()


def missing_writes(url: str, acked: set[int]) -> set[int]:
    """The acknowledged ids that the server at ``url`` does not have."""
    with psycopg.connect(url, autocommit=True) as conn:
        present = {row[0] for row in conn.execute("SELECT id FROM acks")}
    return acked - present
