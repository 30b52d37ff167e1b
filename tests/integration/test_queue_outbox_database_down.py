"""The outbox's database down: the relay says so once, waits, and resumes when it is back."""

import asyncio

import pytest
from queue_support import connect, eventually, listening, received, relaying, with_schemas
from structlog.testing import capture_logs

from millionscale.queue import Job, OutboxRelay, enqueue_in
from millionscale.queue.jetstream import JetStreamBroker
from millionscale.servers import RunningServer

pytestmark = pytest.mark.integration


def test_a_relay_outlives_its_database_and_sends_what_committed_after(
    postgres: RunningServer, nats: RunningServer
):
    async def scenario():
        await with_schemas(postgres.url)
        broker = await JetStreamBroker.connect(nats.url)
        relay = OutboxRelay(
            postgres.url, broker, poll_interval_s=0.1, retry_s=0.05, max_retry_s=0.3
        )
        try:
            async with relaying(relay):
                await eventually(lambda: listening(postgres.url), "the relay listening")
                postgres.kill()

                async def down():
                    return not relay.statistics().database_up

                await eventually(down, "the relay seeing its database down")
                await asyncio.to_thread(postgres.restart)
                async with await connect(postgres.url) as conn, conn.transaction():
                    await enqueue_in(conn, Job("thumbnail", id="after"))
                jobs = await received(broker, 1)
            return jobs
        finally:
            await broker.close()

    with capture_logs() as logs:
        jobs = asyncio.run(scenario())
    lines = [line["event"] for line in logs if line.get("relay") == "outbox"]

    assert [job.id for job in jobs] == ["after"]
    assert len([line for line in lines if line.startswith("the outbox's database failed")]) == 1
    assert len([line for line in lines if line.startswith("the outbox's database is back")]) == 1
