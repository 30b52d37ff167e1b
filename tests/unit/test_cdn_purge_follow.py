"""Following an upstream's purge feed: in order, once, across failures and gaps."""

import asyncio

from millionscale.cdn.feed import Entry, PurgeFeed, PurgeLog, follow
from millionscale.cdn.purge import Purge
from millionscale.testing import FakeClock


def _purge(value: str) -> Entry:
    return Entry(Purge.tag(value), issued_at=0.0)


async def _no_sleep(_: float) -> None:
    await asyncio.sleep(0)


class _Follower:
    """One follower of ``feed``, through a fetch that fails while ``down`` is set."""

    def __init__(self, feed: PurgeFeed) -> None:
        self.feed = feed
        self.applied: list[str] = []
        self.gaps = 0
        self.down = False
        self.stop = asyncio.Event()

    async def fetch(self, after: int, epoch: str | None) -> object:
        if self.down:
            raise ConnectionError("upstream down")
        return (await self.feed.poll("edge-1", after, epoch, wait_s=0.05)).to_json()

    async def apply(self, purge: Entry) -> None:
        self.applied.append(purge.purge.value)

    async def on_gap(self) -> None:
        self.gaps += 1

    def start(self) -> asyncio.Task[None]:
        return asyncio.create_task(
            follow(self.fetch, self.apply, on_gap=self.on_gap, stop=self.stop, sleep=_no_sleep)
        )


async def _until(condition, steps: int = 2000) -> None:
    for _ in range(steps):
        if condition():
            return
        await asyncio.sleep(0.001)
    raise AssertionError("condition not reached")


async def _a_follower_applies_each_purge_once_in_order():
    feed = PurgeFeed(PurgeLog(FakeClock(), epoch="e1"))
    follower = _Follower(feed)
    task = follower.start()
    await _until(lambda: "edge-1" in feed.log.followers())

    for value in ("a", "b", "c"):
        await feed.publish(_purge(value))
    await _until(lambda: len(follower.applied) == 3)
    follower.stop.set()
    await feed.publish(_purge("d"))  # wakes the poll so the loop sees stop
    await asyncio.wait_for(task, 5)

    assert follower.applied[:3] == ["a", "b", "c"]


async def _purges_made_while_the_upstream_was_unreachable_arrive_after_it():
    feed = PurgeFeed(PurgeLog(FakeClock(), epoch="e1"))
    follower = _Follower(feed)
    task = follower.start()
    await _until(lambda: "edge-1" in feed.log.followers())

    follower.down = True
    await feed.publish(_purge("while-down"))
    await asyncio.sleep(0.01)
    follower.down = False
    await _until(lambda: follower.applied == ["while-down"])
    follower.stop.set()
    await feed.publish(_purge("last"))
    await asyncio.wait_for(task, 5)

    assert follower.gaps == 0


async def _a_restarted_upstream_makes_the_follower_invalidate_everything():
    follower = _Follower(PurgeFeed(PurgeLog(FakeClock(), epoch="e1")))
    task = follower.start()
    await _until(lambda: "edge-1" in follower.feed.log.followers())

    follower.feed = PurgeFeed(PurgeLog(FakeClock(), epoch="e2"))  # the shield restarted
    await _until(lambda: follower.gaps == 1)
    follower.stop.set()
    await follower.feed.publish(_purge("x"))
    await asyncio.wait_for(task, 5)

    assert follower.applied in ([], ["x"])


async def _the_asker_waits_until_every_follower_applied_its_purge():
    clock = FakeClock()
    feed = PurgeFeed(PurgeLog(clock, epoch="e1"))
    follower = _Follower(feed)
    task = follower.start()
    await _until(lambda: "edge-1" in feed.log.followers())

    seq = await feed.publish(_purge("a"))
    done, pending = await feed.wait_applied(seq, timeout_s=5, active_since=None)
    follower.stop.set()
    await feed.publish(_purge("b"))
    await asyncio.wait_for(task, 5)

    assert (done, pending) == (["edge-1"], [])


def test_a_follower_applies_each_purge_once_in_order():
    asyncio.run(_a_follower_applies_each_purge_once_in_order())


def test_purges_made_while_the_upstream_was_unreachable_arrive_after_it():
    asyncio.run(_purges_made_while_the_upstream_was_unreachable_arrive_after_it())


def test_a_restarted_upstream_makes_the_follower_invalidate_everything():
    asyncio.run(_a_restarted_upstream_makes_the_follower_invalidate_everything())


def test_the_asker_waits_until_every_follower_applied_its_purge():
    asyncio.run(_the_asker_waits_until_every_follower_applied_its_purge())
