"""After a session writes, its reads never run where that write is not yet replayed."""

import asyncio
import time

import pytest

from millionscale.db import Router, RoutingPolicy, Session
from millionscale.db.testing import SERVED_BY, caught_up, eventually, replicated_cluster

pytestmark = pytest.mark.integration

CATCH_UP_WAIT_S = 0.5


async def served_by_and_rows(router, session):
    async with router.read(session) as conn:
        node = (await (await conn.execute(SERVED_BY)).fetchone())[0]
        rows = await (await conn.execute("SELECT id FROM t ORDER BY id")).fetchall()
    return node, [row[0] for row in rows]


def test_reads_skip_a_paused_replica_then_wait_and_fall_back_to_the_primary():
    async def scenario(cluster):
        policy = RoutingPolicy(catch_up_wait_s=CATCH_UP_WAIT_S)
        async with Router(
            cluster.primary.url,
            cluster.replica_urls,
            primary_name="main",
            policy=policy,
            poll_interval_s=0.05,
        ) as router:
            session = Session()
            async with router.write(session) as conn:
                await conn.execute("CREATE TABLE t (id int)")
            await eventually(router, caught_up(router, session))

            cluster.sql("r1", "SELECT pg_wal_replay_pause()")
            async with router.write(session) as conn:
                await conn.execute("INSERT INTO t VALUES (1)")
            one_paused = [await served_by_and_rows(router, session) for _ in range(20)]

            cluster.sql("r2", "SELECT pg_wal_replay_pause()")
            async with router.write(session) as conn:
                await conn.execute("INSERT INTO t VALUES (2)")
            started = time.monotonic()
            both_paused = await served_by_and_rows(router, session)
            waited_s = time.monotonic() - started
            return one_paused, both_paused, waited_s, router.statistics()

    with replicated_cluster("r1", "r2") as cluster:
        try:
            one_paused, both_paused, waited_s, stats = asyncio.run(scenario(cluster))
        finally:
            for name in ("r1", "r2"):
                cluster.sql(name, "SELECT pg_wal_replay_resume()")

    assert "r1" not in {node for node, _ in one_paused}
    assert {tuple(rows) for _, rows in one_paused} == {(1,)}
    assert both_paused == ("main", [1, 2])
    assert CATCH_UP_WAIT_S <= waited_s < CATCH_UP_WAIT_S + 0.5
    assert stats.waits >= 1
    assert stats.fallbacks_to_primary >= 1


def test_a_session_token_carries_read_your_writes_to_a_later_request():
    async def scenario(cluster):
        async with Router(
            cluster.primary.url,
            cluster.replica_urls,
            primary_name="main",
            poll_interval_s=0.05,
            policy=RoutingPolicy(catch_up_wait_s=0.1),
        ) as router:
            first_request = Session()
            async with router.write(first_request) as conn:
                await conn.execute("CREATE TABLE t (id int)")
            await eventually(router, caught_up(router, first_request))
            cluster.sql("r1", "SELECT pg_wal_replay_pause()")
            async with router.write(first_request) as conn:
                await conn.execute("INSERT INTO t VALUES (7)")
            cookie = first_request.token()

            next_request = Session.from_token(cookie)
            return [await served_by_and_rows(router, next_request) for _ in range(5)]

    with replicated_cluster("r1") as cluster:
        try:
            reads = asyncio.run(scenario(cluster))
        finally:
            cluster.sql("r1", "SELECT pg_wal_replay_resume()")

    assert reads == [("main", [7])] * 5
