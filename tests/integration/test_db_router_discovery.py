"""The router on PostgreSQL nodes started by hand, its nodes given by a discovery file.

No supervisor: the nodes are started with :mod:`millionscale.servers` (a
primary ``main`` and streaming replicas), listed in a snapshot file that an
operator edits while the router runs (:class:`~millionscale.discovery.StaticDiscovery`),
and the router is built with :meth:`~millionscale.db.Router.from_discovery`
from a connection string that names no host: each node's host and port come
from its member. Requests run all along, in a bounded loop, and none may fail.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field
from pathlib import Path

import psycopg
import pytest
from psycopg.conninfo import conninfo_to_dict, make_conninfo

from millionscale.db import Eventual, Router
from millionscale.db.testing import SERVED_BY, Cluster, replicated_cluster
from millionscale.discovery import Member, Snapshot, StaticDiscovery

pytestmark = pytest.mark.integration

JOIN_S = 10.0  # bound for a listed replica to take reads: file poll 0.5 s + a check + a pool
LOOP_S = 60.0  # bound for the whole request loop
POLL_S = 0.05


def node(cluster: Cluster, name: str, role: str = "replica") -> Member:
    server = cluster.primary if name == "main" else cluster.replicas[name]
    return Member(name, "db", server.host, {"main": server.port}, role=role)


def write_nodes(path: Path, *members: Member) -> None:
    """What an operator does: rewrite the file in one move (the router never sees half)."""
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(Snapshot(1, members).dumps())
    tmp.replace(path)


def shared_conninfo(cluster: Cluster) -> str:
    """The user, password and database every node shares, and no host or port."""
    params = conninfo_to_dict(cluster.primary.url)
    return make_conninfo("", **{k: v for k, v in params.items() if k not in ("host", "port")})


def client_connections(cluster: Cluster, name: str) -> int:
    """Client backends on node ``name`` other than this query's own."""
    with psycopg.connect(cluster.replicas[name].url, autocommit=True) as conn:
        row = conn.execute(
            "SELECT count(*) FROM pg_stat_activity"
            " WHERE backend_type = 'client backend' AND pid <> pg_backend_pid()"
        ).fetchone()
    assert row is not None
    return int(row[0])


@dataclass
class Traffic:
    """What the request loop saw: who served each read, where each write ran, failures."""

    reads: list[tuple[float, str]] = field(default_factory=list)  # when, served by
    writes: list[tuple[str, bool]] = field(default_factory=list)  # served by, in recovery
    failures: list[str] = field(default_factory=list)

    def readers_since(self, moment: float) -> set[str]:
        return {who for when, who in self.reads if when >= moment}


async def served_by(conn: psycopg.AsyncConnection) -> str:
    row = await (await conn.execute(SERVED_BY)).fetchone()
    assert row is not None
    return str(row[0])


async def insert(conn: psycopg.AsyncConnection) -> tuple[str, bool]:
    await conn.execute("INSERT INTO t VALUES (1)")
    row = await (await conn.execute(f"SELECT ({SERVED_BY}), pg_is_in_recovery()")).fetchone()
    assert row is not None
    return str(row[0]), bool(row[1])


async def requests(router: Router, traffic: Traffic, stop: asyncio.Event) -> None:
    """Three readers and a writer until ``stop`` (and at most LOOP_S, 20,000 requests)."""
    deadline = time.monotonic() + LOOP_S
    budget = iter(range(20_000))

    async def reader() -> None:
        while not stop.is_set() and time.monotonic() < deadline and next(budget, None) is not None:
            try:
                who = await router.run_read(served_by, consistency=Eventual())
            except Exception as error:  # every failure is recorded, none hidden
                traffic.failures.append(f"read: {type(error).__name__}: {error}")
            else:
                traffic.reads.append((time.monotonic(), who))
            await asyncio.sleep(0.002)

    async def writer() -> None:
        while not stop.is_set() and time.monotonic() < deadline and next(budget, None) is not None:
            try:
                traffic.writes.append(await router.run_write(insert))
            except Exception as error:
                traffic.failures.append(f"write: {type(error).__name__}: {error}")
            await asyncio.sleep(0.01)

    await asyncio.gather(reader(), reader(), reader(), writer())


async def until(check, timeout_s: float, router: Router) -> float:
    """Seconds until ``check()`` holds, re-checked after each of the router's polls."""
    began = time.monotonic()
    async with asyncio.timeout(timeout_s):
        while not check():
            await router.next_poll()
    return time.monotonic() - began


def test_replicas_added_and_removed_in_the_file_take_and_stop_taking_reads(tmp_path):
    path = tmp_path / "nodes.json"

    async def scenario(cluster: Cluster):
        write_nodes(path, node(cluster, "main", "primary"), node(cluster, "r1"))
        router = Router.from_discovery(
            StaticDiscovery.from_file(path), shared_conninfo(cluster), poll_interval_s=POLL_S
        )
        async with router:
            await router.run_write(lambda conn: conn.execute("CREATE TABLE t (id int)"))
            traffic, stop = Traffic(), asyncio.Event()
            loop = asyncio.create_task(requests(router, traffic, stop))
            await asyncio.sleep(1.0)  # phase 1: main and r1

            added_at = time.monotonic()
            write_nodes(
                path, node(cluster, "main", "primary"), node(cluster, "r1"), node(cluster, "r2")
            )
            joined_s = await until(lambda: "r2" in traffic.readers_since(added_at), JOIN_S, router)

            removed_at = time.monotonic()
            write_nodes(path, node(cluster, "main", "primary"), node(cluster, "r2"))

            def r1_retired() -> bool:
                stats = router.statistics()
                return "r1" not in {n.name for n in stats.nodes} and stats.retiring == 0

            await until(r1_retired, JOIN_S, router)
            left_s = time.monotonic() - removed_at
            reads_of_r1 = router.statistics().reads["r1"]
            settled_at = time.monotonic()
            await asyncio.sleep(1.0)  # phase 3: main and r2
            stop.set()
            await loop
            stats = router.statistics()
            connections_on_r1 = await asyncio.to_thread(client_connections, cluster, "r1")
            return traffic, joined_s, left_s, reads_of_r1, settled_at, stats, connections_on_r1

    with replicated_cluster("r1", "r2") as cluster:
        traffic, joined_s, left_s, reads_of_r1, settled_at, stats, on_r1 = asyncio.run(
            scenario(cluster)
        )

    assert traffic.failures == []  # no request failed while nodes came and went
    assert {who for _, who in traffic.reads} <= {"r1", "r2"}  # reads on replicas only
    assert {write for write in traffic.writes} == {("main", False)}  # writes on the primary
    assert joined_s < JOIN_S
    assert left_s < JOIN_S
    assert traffic.readers_since(settled_at) == {"r2"}  # r1 takes no new read
    assert stats.reads["r1"] == reads_of_r1
    assert on_r1 == 0  # its pool and check connection are closed
    assert (stats.nodes_added, stats.nodes_removed, stats.retiring) == (1, 1, 0)
    assert [n.name for n in stats.nodes] == ["main", "r2"]


def test_the_primary_dropped_from_the_file_keeps_taking_writes(tmp_path):
    path = tmp_path / "nodes.json"

    async def scenario(cluster: Cluster):
        write_nodes(path, node(cluster, "main", "primary"), node(cluster, "r1"))
        discovery = StaticDiscovery.from_file(path)
        router = Router.from_discovery(discovery, shared_conninfo(cluster), poll_interval_s=POLL_S)
        async with router:
            write_nodes(path, node(cluster, "r1"))
            version = (await discovery.snapshot()).version
            await until(lambda: router.statistics().discovery_version == version, JOIN_S, router)
            where = await router.run_write(insert)
            return where, router.primary, router.statistics()

    with replicated_cluster("r1") as cluster:
        with psycopg.connect(cluster.primary.url, autocommit=True) as conn:
            conn.execute("CREATE TABLE t (id int)")
        where, primary, stats = asyncio.run(scenario(cluster))

    assert where == ("main", False)  # discovery is a hint: the checks say who the primary is
    assert primary == "main"
    assert [n.name for n in stats.nodes] == ["main", "r1"]  # held, not removed
    assert stats.nodes_removed == 0


def test_the_roles_discovery_gives_are_hints_the_checks_correct(tmp_path):
    path = tmp_path / "nodes.json"

    async def scenario(cluster: Cluster):
        write_nodes(path, node(cluster, "main", "replica"), node(cluster, "r1", "primary"))
        router = Router.from_discovery(StaticDiscovery.from_file(path), shared_conninfo(cluster))
        async with router:
            return await router.run_write(insert), router.primary

    with replicated_cluster("r1") as cluster:
        with psycopg.connect(cluster.primary.url, autocommit=True) as conn:
            conn.execute("CREATE TABLE t (id int)")
        where, primary = asyncio.run(scenario(cluster))

    assert where == ("main", False)
    assert primary == "main"
