"""A replica that is down when the router starts: service starts anyway, and it joins later."""

import asyncio

import pytest

from millionscale.db import Router, Strong
from millionscale.db.testing import eventually, replicated_cluster
from millionscale.servers import free_port

pytestmark = pytest.mark.integration


def test_a_down_replica_starts_out_of_rotation_and_joins_when_it_is_back():
    with replicated_cluster("r1", "r2") as cluster:
        r2 = cluster.replicas["r2"]
        r2.kill()
        r2.process.wait(timeout=10)

        async def scenario():
            dsns = {name: server.url for name, server in cluster.replicas.items()}
            async with Router(cluster.primary.url, dsns, poll_interval_s=0.1) as router:
                start = {n.name: n.healthy for n in router.statistics().nodes}
                for _ in range(20):
                    async with router.read() as conn:
                        await conn.execute("SELECT 1")
                served_before = router.statistics().reads.get("r2", 0)
                await asyncio.to_thread(r2.restart)
                await eventually(
                    router,
                    lambda: {n.name: n.healthy for n in router.statistics().nodes}["r2"],
                    timeout_s=20,
                )
                async with router.read(consistency=Strong()) as conn:
                    await conn.execute("SELECT 1")
                return start, served_before

        start, served_before = asyncio.run(scenario())

    assert start == {"primary": True, "r1": True, "r2": False}
    assert served_before == 0


def test_a_replica_nobody_listens_on_does_not_stop_the_router():
    with replicated_cluster() as cluster:
        nowhere = f"postgresql://postgres:x@127.0.0.1:{free_port()}/postgres"

        async def scenario():
            async with Router(cluster.primary.url, {"gone": nowhere}) as router:
                async with router.read() as conn:
                    row = await (await conn.execute("SELECT pg_is_in_recovery()")).fetchone()
                return row, {n.name: n.healthy for n in router.statistics().nodes}

        row, health = asyncio.run(scenario())

    assert row == (False,)  # served by the primary
    assert health == {"primary": True, "gone": False}
