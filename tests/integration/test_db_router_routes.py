"""Writes and explicit transactions run on the primary; reads run on replicas."""

import asyncio

import pytest

from millionscale.db import Eventual, Router, Session, Strong
from millionscale.db.testing import SERVED_BY, replicated_cluster

pytestmark = pytest.mark.integration


async def in_recovery(conn) -> bool:
    row = await (await conn.execute("SELECT pg_is_in_recovery()")).fetchone()
    return row[0]


def test_writes_go_to_the_primary_and_reads_to_the_replicas():
    async def scenario():
        with replicated_cluster("r1", "r2") as cluster:
            async with Router(
                cluster.primary.url, cluster.replica_urls, primary_name="main"
            ) as router:
                session = Session()
                async with router.write(session) as conn:
                    write_on_replica = await in_recovery(conn)
                    await conn.execute("CREATE TABLE t (id int)")
                served = []
                for _ in range(20):
                    async with router.read(consistency=Eventual()) as conn:
                        served.append(
                            (
                                await in_recovery(conn),
                                (await (await conn.execute(SERVED_BY)).fetchone())[0],  # type: ignore[index]
                            )
                        )
                async with router.read(session, consistency=Strong()) as conn:
                    strong_on_replica = await in_recovery(conn)
                return write_on_replica, served, strong_on_replica, session, router.statistics()

    write_on_replica, served, strong_on_replica, session, stats = asyncio.run(scenario())

    assert write_on_replica is False
    assert {on_replica for on_replica, _ in served} == {True}
    assert {node for _, node in served} == {"r1", "r2"}
    assert strong_on_replica is False
    assert session.token() != ""
    assert stats.writes == 1
    assert stats.reads["r1"] + stats.reads["r2"] == 20
    assert stats.reads["main"] == 1


def test_a_write_that_raises_rolls_back_and_leaves_the_session_unchanged():
    async def scenario():
        with replicated_cluster() as cluster:
            async with Router(cluster.primary.url, {}, primary_name="main") as router:
                async with router.write() as conn:
                    await conn.execute("CREATE TABLE t (id int)")
                session = Session()

                async def abandoned_write():
                    async with router.write(session) as conn:
                        await conn.execute("INSERT INTO t VALUES (1)")
                        raise RuntimeError("abandon")

                with pytest.raises(RuntimeError, match="abandon"):
                    await abandoned_write()
                async with router.read(consistency=Strong()) as conn:
                    rows = await (await conn.execute("SELECT count(*) FROM t")).fetchone()
                return session, rows, router.statistics()

    session, rows, stats = asyncio.run(scenario())

    assert rows == (0,)
    assert session.token() == ""
    assert stats.writes == 1
