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
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import psycopg

from millionscale.db.router import Router
from millionscale.db.session import Session
from millionscale.servers import PostgresEngine, RunningServer, start_replica, start_server

__all__ = ["SERVED_BY", "Cluster", "caught_up", "eventually", "replicated_cluster"]

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
