"""A reader that loads an old value while a writer commits and invalidates never leaves it cached.

The reader's steps (miss and take the lease, read the truth, set under the
lease) and the writer's (commit, invalidate) are run in every order that
keeps each side's own order, one step at a time, through the cache's hooks;
then, once an invalidation has had the delivery time to arrive, neither
Redis nor any process's L1 may hold a value older than the truth. A third
test does the same with random delays between the steps and several readers.
"""

import asyncio
import itertools
import random

import pytest
from cache_support import DELIVERY_S, Truth, caches, eventually, l2_payload, unique_name

from millionscale.cache.absent import MISS
from millionscale.servers import RunningServer

pytestmark = pytest.mark.integration

KEY = "row:1"
STEP_TIMEOUT_S = 5.0


def interleavings(reader: tuple[str, ...], writer: tuple[str, ...]) -> list[tuple[str, ...]]:
    """Every merge of the two step sequences that keeps each one's order."""
    size = len(reader) + len(writer)
    orders = []
    for places in itertools.combinations(range(size), len(reader)):
        steps, r, w = [], iter(reader), iter(writer)
        for i in range(size):
            steps.append(next(r) if i in places else next(w))
        orders.append(tuple(steps))
    return orders


class Gates:
    """Holds the reader at each hook until the driver lets its next step go."""

    def __init__(self, hooks: dict[str, tuple[str, str]]) -> None:
        self.hooks = hooks  # hook name -> (the step it ends, the step it waits for)
        self.go: dict[str, asyncio.Event] = {}
        self.done: dict[str, asyncio.Event] = {}

    def event(self, table: dict[str, asyncio.Event], step: str) -> asyncio.Event:
        return table.setdefault(step, asyncio.Event())

    async def hook(self, name: str, key: str) -> None:
        if name in self.hooks:
            finished, following = self.hooks[name]
            self.event(self.done, finished).set()
            await self.event(self.go, following).wait()


async def drive(order, gates: Gates, reader_task, writer_steps) -> None:
    for step in order:
        if step in writer_steps:
            await writer_steps[step]()
        else:
            gates.event(gates.go, step).set()
            await asyncio.wait_for(gates.event(gates.done, step).wait(), STEP_TIMEOUT_S)
    await asyncio.wait_for(reader_task, STEP_TIMEOUT_S)


async def invalidate_and_deliver(writer, listeners) -> None:
    """The writer's invalidation, then wait until every listener has handled its message
    (within DELIVERY_S: the guarantee's bound in normal operation, with slack)."""
    before = [cache.statistics().invalidations_received for cache in listeners]
    assert await writer.invalidate(KEY) is True
    for cache, count in zip(listeners, before, strict=True):
        await eventually(
            lambda cache=cache, count=count: cache.statistics().invalidations_received > count,
            DELIVERY_S,
            "the invalidation reached a subscriber",
        )


async def assert_nothing_stale(url, truth: Truth, every_cache) -> None:
    """Once every invalidation was delivered: no old value in L2, nor in any cache's L1."""
    current = {"version": truth.version}
    stored = await l2_payload(url, every_cache[0], KEY)
    assert stored in ("missing", current), f"L2 holds {stored}, the truth is {current}"
    for cache in every_cache:
        seen = await cache.get(KEY)  # L1 first, then L2; never loads
        assert seen is MISS or seen == current, f"a cache returns {seen}, the truth is {current}"


READER = ("lease", "read", "set")
WRITER = ("commit", "invalidate")


@pytest.mark.parametrize("order", interleavings(READER, WRITER), ids="-".join)
def test_a_loader_racing_a_write_never_leaves_the_old_value(redis_session: RunningServer, order):
    gates = Gates({"leased": ("lease", "read"), "loaded": ("read", "set")})
    truth = Truth()

    async def scenario():
        name = unique_name("race")
        async with (
            caches(redis_session.url, 1, name=name, l1_admission="all", hooks=gates.hook) as [
                reader
            ],
            caches(redis_session.url, 2, name=name, l1_admission="all") as [writer, bystander],
        ):

            async def read():
                await gates.event(gates.go, "lease").wait()
                value = await reader.get_or_load(KEY, truth.read)
                gates.event(gates.done, "set").set()
                return value

            async def invalidate():
                await invalidate_and_deliver(writer, [reader, bystander])

            async def commit():
                truth.commit()

            task = asyncio.create_task(read())
            await drive(order, gates, task, {"commit": commit, "invalidate": invalidate})
            await assert_nothing_stale(redis_session.url, truth, [reader, writer, bystander])
            return task.result(), reader.statistics()

    value, stats = asyncio.run(scenario())

    assert value == {"version": 0 if order.index("read") < order.index("commit") else 1}
    if order.index("lease") < order.index("invalidate") < order.index("set"):
        assert stats.sets_refused == 1  # the invalidation killed the lease: its set is refused
    else:
        assert stats.sets == 1


L1_READER = ("fetch", "admit")


@pytest.mark.parametrize("order", interleavings(L1_READER, WRITER), ids="-".join)
def test_a_value_read_from_l2_before_an_invalidation_never_enters_l1_after_it(
    redis_session: RunningServer, order
):
    # The value is in L2 already; the reader fetches it, then puts it in its L1.
    # If the invalidation came after the fetch, the read missed and took the lease.
    gates = Gates({"admit": ("fetch", "admit"), "leased": ("fetch", "admit"), "loaded": ("", "")})
    gates.event(gates.go, "").set()
    truth = Truth()

    async def scenario():
        name = unique_name("race-l1")
        async with (
            caches(redis_session.url, 1, name=name, l1_admission="all", hooks=gates.hook) as [
                reader
            ],
            caches(redis_session.url, 1, name=name, l1_admission="all") as [writer],
        ):
            await writer.get_or_load(KEY, truth.read)  # version 0 in L2

            async def read():
                await gates.event(gates.go, "fetch").wait()
                value = await reader.get_or_load(KEY, truth.read)
                gates.event(gates.done, "admit").set()
                return value

            async def invalidate():
                await invalidate_and_deliver(writer, [reader])

            async def commit():
                truth.commit()

            task = asyncio.create_task(read())
            await drive(order, gates, task, {"commit": commit, "invalidate": invalidate})
            await assert_nothing_stale(redis_session.url, truth, [reader, writer])
            return reader.statistics()

    stats = asyncio.run(scenario())

    if order.index("fetch") < order.index("invalidate") < order.index("admit"):
        assert stats.fenced == 1  # the message came between the fetch and the admission


def test_random_delays_between_every_step_leave_nothing_stale(redis_session: RunningServer):
    rng = random.Random(11)
    truth = Truth()

    async def jitter(name: str, key: str) -> None:
        await asyncio.sleep(rng.uniform(0, 0.004))

    async def slow_read():
        value = await truth.read()
        await asyncio.sleep(rng.uniform(0, 0.004))
        return value

    async def scenario():
        name = unique_name("race-random")
        async with (
            caches(redis_session.url, 3, name=name, l1_admission="all", hooks=jitter) as readers,
            caches(redis_session.url, 1, name=name, l1_admission="all") as [writer],
        ):
            for _ in range(40):

                async def reads(cache):
                    for _ in range(4):
                        await cache.get_or_load(KEY, slow_read)
                        await asyncio.sleep(rng.uniform(0, 0.003))

                async def write():
                    await asyncio.sleep(rng.uniform(0, 0.006))
                    truth.commit()
                    await asyncio.sleep(rng.uniform(0, 0.004))
                    await invalidate_and_deliver(writer, readers)

                await asyncio.gather(write(), *(reads(cache) for cache in readers))
                await assert_nothing_stale(redis_session.url, truth, [*readers, writer])
            return sum(cache.statistics().sets_refused for cache in readers)

    refused = asyncio.run(scenario())

    assert refused > 0  # the delays did make loaders race the writes
