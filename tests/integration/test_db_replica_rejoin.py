"""A replica that comes back serves reads at once: the router does not wait out its pool.

psycopg_pool retries a dead server with growing pauses; once the server is back
the pool may still sleep for seconds, and a read routed there would wait that
out (the acquire timeout, 5 s). The router gives a node a fresh pool when it
returns to rotation, and takes it back only once that pool holds connections.
"""

import asyncio
import time

import pytest

from millionscale.db import Eventual, Router
from millionscale.db.testing import SERVED_BY, replicated_cluster

pytestmark = pytest.mark.integration

DOWN_S = 6.0  # long enough for the pool's reconnect pauses to grow past a second
READS = 40


async def served_by(conn):
    return (await (await conn.execute(SERVED_BY)).fetchone())[0]


def test_a_replica_back_in_rotation_answers_reads_without_a_wait():
    async def scenario(cluster):
        async with Router(
            cluster.primary.url, cluster.replica_urls, primary_name="main", poll_interval_s=0.05
        ) as router:

            def healthy() -> bool:
                return next(n for n in router.statistics().nodes if n.name == "r1").healthy

            cluster.replicas["r1"].kill()
            async with asyncio.timeout(10):
                while healthy():
                    await router.next_poll()
                await asyncio.sleep(DOWN_S)
            await asyncio.to_thread(cluster.replicas["r1"].restart)
            async with asyncio.timeout(30):
                while not healthy():
                    await router.next_poll()
            timings, nodes = [], []
            for _ in range(READS):
                began = time.monotonic()
                nodes.append(await router.run_read(served_by, consistency=Eventual()))
                timings.append(time.monotonic() - began)
            return timings, nodes

    with replicated_cluster("r1") as cluster:
        timings, nodes = asyncio.run(scenario(cluster))

    assert "r1" in nodes  # back in rotation, and used
    assert max(timings) < 1.0  # none waited for the old pool's reconnect pause
