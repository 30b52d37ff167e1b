"""The app's outbox relay follows the primary (the router's, in queued mode): when it
moves (a failover, a switchover), the relay stops on the old one and takes the jobs of
the posts committed on the new one. Before, it kept to the node the app started on, a
standby after stage 8's switchover, and no job left the outbox from then on."""

import asyncio
import secrets

import psycopg
import pytest
from queue_support import RELAY_WAIT_S, broker_at, eventually, listening, scalar

from millionscale.photos.queued import relay_outbox
from millionscale.queue import Job, create_outbox_schema, enqueue_in
from millionscale.servers import RunningServer

pytestmark = pytest.mark.integration


@pytest.fixture
def two_databases(postgres_session: RunningServer):
    """Two outboxes standing for the old primary's and the new one's."""
    names = [f"t_{secrets.token_hex(6)}" for _ in range(2)]
    with psycopg.connect(postgres_session.url, autocommit=True) as conn:
        for name in names:
            conn.execute(f"CREATE DATABASE {name}")
    urls = [postgres_session.url.rsplit("/", 1)[0] + f"/{name}" for name in names]
    yield urls
    with psycopg.connect(postgres_session.url, autocommit=True) as conn:
        for name in names:
            conn.execute(f"DROP DATABASE {name} WITH (FORCE)")


def test_the_outbox_relay_moves_to_the_new_primary_and_sends_what_was_committed_there(
    two_databases, nats: RunningServer
):
    old, new = two_databases
    primary = [old]

    async def scenario():
        for url in (old, new):
            async with await psycopg.AsyncConnection.connect(url, autocommit=True) as conn:
                await create_outbox_schema(conn)
        stop = asyncio.Event()
        relay = asyncio.create_task(relay_outbox(lambda: primary[0], nats.url, "jobs", stop))
        try:
            async with broker_at(nats.url) as broker:
                await eventually(lambda: listening(old), "the relay on the old primary")
                async with await psycopg.AsyncConnection.connect(new) as conn, conn.transaction():
                    await enqueue_in(conn, Job("thumbnail", {"photo": 1}, key="thumbnail:1"))
                await asyncio.sleep(0.3)
                before = await broker.status()
                primary[0] = new  # the router found the new primary
                await eventually(
                    lambda: _ready(broker, 1), "the job committed on the new primary sent"
                )
                left = await scalar(new, "SELECT count(*) FROM queue_outbox")
                return before, left
        finally:
            stop.set()
            await asyncio.wait_for(relay, RELAY_WAIT_S)

    before, left = asyncio.run(scenario())

    assert before.ready == 0  # the relay on the old primary never sees it
    assert left == 0


async def _ready(broker, count: int) -> bool:
    return (await broker.status()).ready >= count
