"""Every delivery a worker takes ends in an ack, a retry or a dead letter with a reason:
a job that always fails ends in dead letters after the maximum deliveries, with
its error; what is not a job, or has no handler, is dead-lettered at once; none
of it crashes the worker."""

import asyncio

import pytest
from queue_support import broker_at, eventually, running

from millionscale.queue import Job
from millionscale.queue.job import MAX_JOB_BYTES

pytestmark = pytest.mark.integration


def test_a_job_that_succeeds_runs_once_and_is_gone(nats):
    seen = []

    async def record(job):
        seen.append(job.args["n"])

    async def scenario():
        async with broker_at(nats.url) as broker:
            for n in range(20):
                await broker.publish(Job("record", {"n": n}))
            async with running(broker, {"record": record}) as worker:
                await eventually(lambda: _true(len(seen) == 20), "20 jobs done")
            return worker.statistics(), await broker.status()

    stats, status = asyncio.run(scenario())

    assert sorted(seen) == list(range(20))
    assert (stats.done, stats.retried, stats.dead_lettered) == (20, 0, 0)
    assert (status.ready, status.in_flight, status.dead_letters) == (0, 0, 0)


def test_a_job_that_always_fails_is_dead_lettered_after_the_maximum_with_its_error(nats):
    attempts = []

    async def fail(job):
        attempts.append(job.id)
        raise ValueError(f"cannot do {job.args['what']}")

    async def scenario():
        async with broker_at(nats.url) as broker:
            await broker.publish(Job("fail", {"what": "this"}, id="doomed"))
            async with running(broker, {"fail": fail}) as worker:
                await eventually(lambda: _dead(broker, 1), "one dead letter")
            entries = await broker.dead_letters()
            retried = await broker.retry(entries[0].id)
            return worker.statistics(), entries, retried, await broker.status()

    stats, entries, retried, status = asyncio.run(scenario())

    assert attempts == ["doomed"] * 3  # the policy's max_deliveries
    (entry,) = entries
    assert entry.error == "ValueError: cannot do this"
    assert entry.reason.startswith("failed 3 of 3 deliveries")
    assert entry.deliveries == 3
    assert (stats.retried, stats.dead_lettered) == (2, 1)
    assert retried.id == "doomed"
    assert (status.dead_letters, status.ready) == (0, 1)  # queue retry brought it back


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (b"\xff\xfe not utf-8", "not UTF-8"),
        (b"{not json", "not JSON"),
        (b"[1, 2]", "not an object"),
        (b'{"id": "x", "task": "Bad Name", "args": {}}', "is not 1-64 lowercase"),
        (b'{"id": "x", "task": "noop", "args": {}, "extra": 1}', "unknown field(s) extra"),
        (b"{" + b" " * MAX_JOB_BYTES + b"}", f"over the {MAX_JOB_BYTES} allowed"),
    ],
)
def test_a_message_that_is_not_a_job_is_dead_lettered_with_the_reason(nats, body, reason):
    ran = []

    async def noop(job):
        ran.append(job)

    async def scenario():
        async with broker_at(nats.url) as broker:
            await broker._js.publish("jobs.ready.noop", body)
            await broker.publish(Job("noop", id="good"))
            async with running(broker, {"noop": noop}) as worker:
                await eventually(lambda: _dead(broker, 1), "one dead letter")
                await eventually(lambda: _true(len(ran) == 1), "the good job done")
            return worker.statistics(), await broker.dead_letters()

    stats, (entry,) = asyncio.run(scenario())

    assert reason in entry.reason
    assert entry.reason.startswith("malformed: ")
    assert entry.job is None
    assert stats.done == 1  # the worker went on


def test_a_job_for_a_task_the_worker_does_not_have_is_dead_lettered(nats):
    async def scenario():
        async with broker_at(nats.url) as broker:
            await broker.publish(Job("resize", id="orphan"))
            async with running(broker, {"noop": _noop}):
                await eventually(lambda: _dead(broker, 1), "one dead letter")
            return await broker.dead_letters()

    (entry,) = asyncio.run(scenario())

    assert entry.reason == "no handler for task 'resize' in this worker"
    assert entry.job is not None
    assert entry.job.id == "orphan"


async def _noop(job):
    return None


async def _true(value):
    return value


async def _dead(broker, count):
    return (await broker.status()).dead_letters >= count
