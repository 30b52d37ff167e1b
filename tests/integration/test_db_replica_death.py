"""A replica killed under read load fails no read and is taken out of rotation."""

import asyncio

import pytest

from millionscale.db import Eventual, Router, Session
from millionscale.db.testing import SERVED_BY, caught_up, eventually, replicated_cluster

pytestmark = pytest.mark.integration

READS = 200
WORKERS = 4


async def count_and_node(conn):
    count = (await (await conn.execute("SELECT count(*) FROM t")).fetchone())[0]
    node = (await (await conn.execute(SERVED_BY)).fetchone())[0]
    return count, node


def test_sigkill_of_a_replica_during_a_read_loop_fails_no_read():
    async def scenario(cluster):
        async with Router(
            cluster.primary.url, cluster.replica_urls, primary_name="main", poll_interval_s=0.05
        ) as router:
            session = Session()
            async with router.write(session) as conn:
                await conn.execute("CREATE TABLE t AS SELECT generate_series(1, 10) AS id")
            await eventually(router, caught_up(router, session))
            results, failures = [], []
            remaining = iter(range(READS))

            async def worker():
                for i in remaining:
                    if i == READS // 4:
                        cluster.replicas["r1"].kill()
                    try:
                        results.append(
                            await router.run_read(count_and_node, consistency=Eventual())
                        )
                    except Exception as error:  # the test counts every failure
                        failures.append(error)

            async with asyncio.timeout(30):
                await asyncio.gather(*(worker() for _ in range(WORKERS)))
            r1 = next(n for n in router.statistics().nodes if n.name == "r1")
            return results, failures, r1, router.statistics()

    with replicated_cluster("r1", "r2") as cluster:
        results, failures, r1, stats = asyncio.run(scenario(cluster))

    assert failures == []
    assert len(results) == READS
    assert {count for count, _ in results} == {10}
    assert stats.reads["r1"] > 0  # r1 served reads before it died
    assert r1.healthy is False
    assert results[-1][1] != "r1"
    assert stats.retries >= 1  # reads in flight on r1, or on its dead pooled connections
