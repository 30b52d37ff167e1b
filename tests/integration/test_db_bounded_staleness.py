"""A bounded-staleness read never runs on a replica further behind than its bound."""

import asyncio

import pytest

from millionscale.db import BoundedStaleness, Router, Session
from millionscale.db.testing import SERVED_BY, caught_up, eventually, replicated_cluster

pytestmark = pytest.mark.integration

BOUND_S = 0.3


def lag_of(router, name):
    return next(n.lag_s for n in router.statistics().nodes if n.name == name)


def test_a_paused_replica_serves_no_read_with_a_tighter_bound_than_its_lag():
    async def scenario(cluster):
        async with Router(
            cluster.primary.url, cluster.replica_urls, primary_name="main", poll_interval_s=0.05
        ) as router:
            session = Session()
            async with router.write(session) as conn:
                await conn.execute("CREATE TABLE t (id int)")
            await eventually(router, caught_up(router, session))
            cluster.sql("r1", "SELECT pg_wal_replay_pause()")
            async with router.write() as conn:
                await conn.execute("INSERT INTO t VALUES (1)")
            await eventually(router, lambda: lag_of(router, "r1") > BOUND_S)

            served = set()
            for _ in range(20):
                async with router.read(consistency=BoundedStaleness(BOUND_S)) as conn:
                    served.add((await (await conn.execute(SERVED_BY)).fetchone())[0])  # type: ignore[index]
            return served, {n.name: n for n in router.statistics().nodes}

    with replicated_cluster("r1", "r2") as cluster:
        try:
            served, nodes = asyncio.run(scenario(cluster))
        finally:
            cluster.sql("r1", "SELECT pg_wal_replay_resume()")

    assert served == {"r2"}
    assert nodes["r2"].lag_s <= BOUND_S < nodes["r1"].lag_s
    # Within the default 10 s rotation bound: r1 still serves reads that allow it.
    assert nodes["r1"].healthy
    assert nodes["r1"].lag_s < 10
