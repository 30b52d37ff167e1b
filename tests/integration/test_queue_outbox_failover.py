"""The outbox relay and the photo app's workers follow a failover of the database.

A primary ``main`` with ``r1`` as its synchronous standby (so that a write
acknowledged on ``main`` is on ``r1`` when ``main`` dies: what this test
checks is the queue, not asynchronous replication's loss window), listed in a
discovery file. Posts (a photo row and its ``fanout`` job, in one transaction,
as :class:`~millionscale.photos.queued.QueuedPhotoRepository` writes them) go
through a :class:`~millionscale.db.Router` on that file; the relay follows
``router.primary_dsn``; a worker runs the photo app's tasks with
``DATABASE_DISCOVERY`` (their own router). Mid-stream ``main`` goes, the
posts going on all along: SIGKILLed (a failover), or drained read-only and
shut down cleanly (a switchover: what ``millionscale db switchover`` does),
and ``r1`` is promoted. Then every committed post
is fanned out, the outbox is empty, and the broker stored each post's job
exactly once: its stream's last sequence is the number of posts.
"""

from __future__ import annotations

import asyncio
import signal
import time
from pathlib import Path

import nats as nats_client
import psycopg
import pytest
from psycopg.conninfo import conninfo_to_dict, make_conninfo
from queue_support import broker_at, eventually, relaying, running

from millionscale.db import Router
from millionscale.db.testing import Cluster, replicated_cluster
from millionscale.discovery import Member, Snapshot, StaticDiscovery
from millionscale.errors import DatabaseError
from millionscale.photos.jobs import JobSettings, tasks
from millionscale.photos.queued import fanout_job
from millionscale.photos.schema import migrate
from millionscale.queue import OutboxRelay, RetryPolicy, enqueue_in
from millionscale.servers import RunningServer

pytestmark = pytest.mark.integration

POLL_S = 0.05
BEFORE = 40  # posts committed before the kill
AFTER = 40  # and after the router found the new primary
MAX_POSTS = 2_000  # the producer's hard bounds, whatever happens
LOOP_S = 60.0
DONE_S = 30.0  # every committed post fanned out by then (a promotion takes ~0.1 s)
SYNC_S = 10.0  # for r1 to become the synchronous standby
STOP_S = 10.0  # a fast shutdown takes well under a second
# Generous: a job whose transaction the kill cut during COMMIT fails once, then runs.
POLICY = RetryPolicy(max_deliveries=20, base_s=0.05, max_backoff_s=0.5)


def write_nodes(path: Path, cluster: Cluster) -> None:
    main, r1 = cluster.primary, cluster.replicas["r1"]
    members = (
        Member("main", "db", main.host, {"main": main.port}, role="primary"),
        Member("r1", "db", r1.host, {"main": r1.port}, role="replica"),
    )
    path.write_text(Snapshot(1, members).dumps())


def shared_conninfo(cluster: Cluster) -> str:
    """The user, password and database every node shares, and no host or port."""
    params = conninfo_to_dict(cluster.primary.url)
    return make_conninfo("", **{k: v for k, v in params.items() if k not in ("host", "port")})


def make_r1_synchronous(cluster: Cluster) -> None:
    cluster.sql("main", "ALTER SYSTEM SET synchronous_standby_names = '*'")
    cluster.sql("main", "SELECT pg_reload_conf()")
    deadline = time.monotonic() + SYNC_S
    with psycopg.connect(cluster.primary.url, autocommit=True) as conn:
        while time.monotonic() < deadline:
            row = conn.execute(
                "SELECT count(*) FROM pg_stat_replication WHERE sync_state = 'sync'"
            ).fetchone()
            if row is not None and row[0] == 1:
                return
            time.sleep(0.05)
    raise AssertionError(f"r1 did not become a synchronous standby within {SYNC_S} s")


def seed_users(url: str) -> tuple[int, int]:
    """An author and one follower; their ids."""
    with psycopg.connect(url, autocommit=True) as conn:
        ids = [
            conn.execute(
                "INSERT INTO users (username, password_hash) VALUES (%s, 'x') RETURNING id",
                (name,),
            ).fetchone()[0]  # type: ignore[index]
            for name in ("author", "follower")
        ]
        conn.execute("INSERT INTO follows (follower_id, followee_id) VALUES (%s, %s)", ids[::-1])
    return ids[0], ids[1]


async def post(router: Router, author: int) -> int:
    """A photo and its fan-out job, in one transaction (as the queued repository)."""

    async def work(conn: psycopg.AsyncConnection) -> int:
        cur = await conn.execute(
            "INSERT INTO photos (owner_id, media_path, thumbnail_path, width, height)"
            " VALUES (%s, 'm.jpg', 't.jpg', 1, 1) RETURNING id",
            (author,),
        )
        row = await cur.fetchone()
        assert row is not None
        await enqueue_in(conn, fanout_job(row[0]))
        return int(row[0])

    return await router.run_write(work)


async def ids(url: str, sql: str) -> set[int]:
    async with await psycopg.AsyncConnection.connect(url, autocommit=True) as conn:
        return {row[0] for row in await (await conn.execute(sql)).fetchall()}


async def stored_jobs(url: str) -> int:
    """How many messages the queue's stream ever stored (acked ones are gone, their
    sequence numbers stay): a job stored twice would count twice."""
    client = await nats_client.connect(url)
    try:
        info = await client.jetstream().stream_info("JOBS")
    finally:
        await client.close()
    return int(info.state.last_seq)


async def drain_and_stop(cluster: Cluster) -> None:
    """A switchover's first half: new transactions on main are read-only (writes get
    read_only_sql_transaction), then a fast shutdown (clients cut, all WAL sent)."""
    await asyncio.to_thread(
        cluster.sql, "main", "ALTER SYSTEM SET default_transaction_read_only = on"
    )
    await asyncio.to_thread(cluster.sql, "main", "SELECT pg_reload_conf()")
    await asyncio.sleep(0.3)  # writes meet the drained primary meanwhile
    cluster.primary.kill(signal.SIGINT)
    await asyncio.to_thread(cluster.primary.process.wait, STOP_S)


@pytest.mark.parametrize("how", ["killed", "switched over"])
def test_the_relay_and_a_worker_follow_a_failover_and_send_each_committed_job_once(
    tmp_path: Path, nats: RunningServer, how: str
):
    path = tmp_path / "nodes.json"

    async def scenario(cluster: Cluster, author: int, follower: int):
        conninfo = shared_conninfo(cluster)
        settings = JobSettings(
            conninfo, tmp_path / "media", database_discovery=f"file:{path}", pool_max=2
        )
        router = Router.from_discovery(
            StaticDiscovery.from_file(path), conninfo, poll_interval_s=POLL_S, failover_wait_s=30
        )
        committed: list[int] = []
        unsure: list[str] = []  # a post whose COMMIT the kill cut: it may or may not be there
        enough = asyncio.Event()  # BEFORE posts committed: time to kill the primary
        promoted = asyncio.Event()

        async def produce() -> None:
            deadline = time.monotonic() + LOOP_S
            after = 0
            for _ in range(MAX_POSTS):
                if time.monotonic() > deadline or after >= AFTER:
                    break
                try:
                    committed.append(await post(router, author))
                    if len(committed) >= BEFORE:
                        enough.set()
                except (psycopg.Error, DatabaseError) as error:
                    unsure.append(f"{type(error).__name__}: {error}")
                after += promoted.is_set() and router.primary == "r1"
                await asyncio.sleep(0.01)
            enough.set()  # also when bounded out: the asserts then say so

        async with router, broker_at(nats.url) as broker, tasks(settings=settings) as handlers:
            relay = OutboxRelay(
                lambda: router.primary_dsn,
                broker,
                poll_interval_s=0.1,
                retry_s=0.05,
                max_retry_s=0.3,
            )
            async with relaying(relay), running(broker, handlers, policy=POLICY) as worker:
                producer = asyncio.create_task(produce())
                async with asyncio.timeout(LOOP_S):
                    await enough.wait()
                if how == "killed":
                    cluster.primary.kill()
                else:
                    await drain_and_stop(cluster)
                await asyncio.to_thread(cluster.sql, "r1", "SELECT pg_promote(true, 30)")
                promoted.set()
                await producer
                r1 = cluster.replicas["r1"].url

                async def all_fanned_out() -> bool:
                    entries = await ids(
                        r1, f"SELECT photo_id FROM timeline_entries WHERE user_id = {follower}"
                    )
                    outbox = await ids(r1, "SELECT id FROM queue_outbox")
                    return set(committed) <= entries and not outbox

                await eventually(all_fanned_out, "every committed post fanned out", DONE_S)
                stats = worker.statistics()
            photos = await ids(r1, "SELECT id FROM photos")
            entries = await ids(
                r1, f"SELECT photo_id FROM timeline_entries WHERE user_id = {follower}"
            )
            return committed, unsure, photos, entries, await stored_jobs(nats.url), stats, router

    with replicated_cluster("r1") as cluster:
        make_r1_synchronous(cluster)
        migrate(cluster.primary.url)
        author, follower = seed_users(cluster.primary.url)
        write_nodes(path, cluster)
        committed, unsure, photos, entries, stored, stats, router = asyncio.run(
            scenario(cluster, author, follower)
        )

    assert router.primary == "r1"
    assert len(committed) >= BEFORE + AFTER - len(unsure)
    assert len(unsure) <= 2, unsure  # at most the posts in flight when main died
    assert set(committed) <= photos  # synchronous: nothing acknowledged was lost
    assert len(photos) <= len(committed) + len(unsure)
    assert entries == photos  # every post there is fanned out, even one left unsure
    assert stored == len(photos)  # one stored job per post: none sent twice
    assert stats.dead_lettered == 0
