"""The broker down when a write commits: the write commits anyway, its job waits in the
outbox (said once), and is sent once the broker is back, stored once."""

import asyncio

import pytest
from queue_support import connect, eventually, received, relaying, scalar, with_schemas
from structlog.testing import capture_logs

from millionscale.queue import Job, OutboxRelay, enqueue_in
from millionscale.queue.jetstream import JetStreamBroker
from millionscale.servers import RunningServer

pytestmark = pytest.mark.integration


def test_a_job_written_while_the_broker_is_down_is_held_then_sent_once(
    database_url: str, nats: RunningServer
):
    async def scenario():
        await with_schemas(database_url)
        broker = await JetStreamBroker.connect(nats.url)
        relay = OutboxRelay(
            database_url,
            broker,
            poll_interval_s=0.1,
            publish_timeout_s=0.3,
            retry_s=0.05,
            max_retry_s=0.3,
        )
        try:
            async with relaying(relay), await connect(database_url) as conn:
                nats.kill()
                async with conn.transaction():
                    await conn.execute("INSERT INTO photos (id) VALUES (1)")
                    await enqueue_in(conn, Job("thumbnail", {"photo": 1}, id="j-1"))
                photos = await scalar(database_url, "SELECT count(*) FROM photos")

                async def failing():
                    stats = relay.statistics()
                    return stats.publish_failures >= 3 and stats.pending == 1

                await eventually(failing, "three failed publishes of the held job")
                held = relay.statistics()
                await asyncio.to_thread(nats.restart)
                jobs = await received(broker, 1)
                await eventually(
                    lambda: scalar(database_url, "SELECT count(*) = 0 FROM queue_outbox"),
                    "the outbox emptied",
                )
            return photos, held, jobs
        finally:
            await broker.close()

    with capture_logs() as logs:
        photos, held, jobs = asyncio.run(scenario())
    relay_lines = [line["event"] for line in logs if line.get("relay") == "outbox"]

    assert photos == 1
    assert (held.broker_up, held.pending, held.published) == (False, 1, 0)
    assert [job.id for job in jobs] == ["j-1"]
    assert len([line for line in relay_lines if line.startswith("the broker failed")]) == 1
    assert len([line for line in relay_lines if line.startswith("the broker is back")]) == 1
