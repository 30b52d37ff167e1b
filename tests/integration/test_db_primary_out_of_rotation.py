"""No request enters the pool of a node the router knows is out of rotation.

Once the primary has failed a check, its pool can only reconnect in the
background (connection refused, with growing pauses): a request that entered
it would wait out the acquire timeout (5 s) before trying the next primary.
Reads that must run on the primary (``Strong``, and every read that falls back
to the primary) wait for a primary to answer instead, and run on the next one
as soon as the router finds it.
"""

import asyncio
import time

import pytest

from millionscale.db import Router, Strong
from millionscale.db.testing import SERVED_BY, replicated_cluster

pytestmark = pytest.mark.integration

POLL_S = 0.05
SLOWEST_S = 1.0  # the promotion takes ~0.1 s, the router finds it within a poll


async def served_by(conn):
    return (await (await conn.execute(SERVED_BY)).fetchone())[0]


def test_a_strong_read_during_an_outage_runs_on_the_next_primary_without_the_pool_wait():
    async def scenario(cluster):
        async with Router(
            cluster.primary.url,
            cluster.replica_urls,
            primary_name="main",
            poll_interval_s=POLL_S,
            failover_wait_s=30,
        ) as router:

            def main_in_rotation() -> bool:
                return next(n for n in router.statistics().nodes if n.name == "main").healthy

            cluster.primary.kill()
            async with asyncio.timeout(10):
                while main_in_rotation():
                    await router.next_poll()
            began = time.monotonic()
            read = asyncio.create_task(router.run_read(served_by, consistency=Strong()))
            await asyncio.to_thread(cluster.sql, "r1", "SELECT pg_promote(true, 30)")
            promoted = time.monotonic()
            async with asyncio.timeout(30):
                node = await read
            return node, promoted - began, time.monotonic() - promoted, router.primary

    with replicated_cluster("r1") as cluster:
        node, promotion_s, after_promotion_s, primary = asyncio.run(scenario(cluster))

    assert (node, primary) == ("r1", "r1")
    assert promotion_s < SLOWEST_S, "the promotion itself was slow: nothing to measure"
    assert after_promotion_s < SLOWEST_S  # not the dead primary's acquire timeout (5 s)


def test_while_the_primary_is_out_the_router_polls_often_to_find_the_next_one():
    polls = 10  # 2 s at the default interval (200 ms), 0.2 s at the outage interval (20 ms)

    async def scenario(cluster):
        async with Router(cluster.primary.url, cluster.replica_urls, primary_name="main") as router:
            cluster.primary.kill()
            async with asyncio.timeout(10):
                while next(n for n in router.statistics().nodes if n.name == "main").healthy:
                    await router.next_poll()
            began = time.monotonic()
            async with asyncio.timeout(10):
                for _ in range(polls):
                    await router.next_poll()
            return time.monotonic() - began

    with replicated_cluster("r1") as cluster:
        elapsed = asyncio.run(scenario(cluster))

    assert elapsed < 1.5  # well under the 2 s the default interval would take
