"""A row that is not a job is moved aside with its reason; the rows behind it still go."""

import asyncio

import pytest
from queue_support import connect, received, with_schemas
from structlog.testing import capture_logs

from millionscale.queue import Job, OutboxRelay, enqueue_in
from millionscale.queue.jetstream import JetStreamBroker
from millionscale.servers import RunningServer

pytestmark = pytest.mark.integration


def test_a_corrupted_row_is_moved_aside_and_the_others_are_published(
    database_url: str, nats: RunningServer
):
    async def scenario():
        await with_schemas(database_url)
        async with await connect(database_url) as conn:
            async with conn.transaction():
                await enqueue_in(conn, Job("thumbnail", id="before"))
            await conn.execute(
                "INSERT INTO queue_outbox (job_id, body) VALUES ('broken', %s)", (b"\xff{oops",)
            )
            async with conn.transaction():
                await enqueue_in(conn, Job("thumbnail", id="after"))
            broker = await JetStreamBroker.connect(nats.url)
            try:
                async with OutboxRelay(database_url, broker) as relay:
                    step = await relay.step()
                    again = await relay.step()
                    statistics = relay.statistics()
                jobs = await received(broker, 2)
            finally:
                await broker.close()
            cursor = await conn.execute(
                "SELECT job_id, body, reason FROM queue_outbox_rejected ORDER BY id"
            )
            rejected = await cursor.fetchall()
            left = await (await conn.execute("SELECT count(*) FROM queue_outbox")).fetchone()
        return step, again, statistics, jobs, rejected, left

    with capture_logs() as logs:
        step, again, statistics, jobs, rejected, left = asyncio.run(scenario())
    errors = [line["event"] for line in logs if line["log_level"] == "error"]

    assert step.sentence == "published 2 job(s), moved 1 row(s) aside as not jobs"
    assert again.sentence == "published 0 job(s)"
    assert sorted(job.id for job in jobs) == ["after", "before"]
    assert rejected == [("broken", b"\xff{oops", "the message is not UTF-8")]
    assert left == (0,)
    assert statistics.rejected == 1
    assert len(errors) == 1
    assert "aside to queue_outbox_rejected: the message is not UTF-8" in errors[0]
