"""A stopping process closes its purge feed: every long poll and every wait for the
followers answers at once with what the log holds, so the admin server's graceful
shutdown does not wait out a follower's 25 s poll."""

import asyncio

from millionscale.cdn.feed import FOLLOW_WAIT_S, Entry, PurgeFeed, PurgeLog
from millionscale.cdn.purge import Purge
from millionscale.testing import FakeClock

PROMPT_S = 1.0  # far under FOLLOW_WAIT_S: "at once", with room for a loaded machine


def test_a_long_poll_in_flight_answers_when_the_feed_closes():
    async def scenario():
        feed = PurgeFeed(PurgeLog(FakeClock()))
        epoch = feed.log.epoch
        polling = asyncio.create_task(feed.poll("edge-1", 0, epoch, FOLLOW_WAIT_S))
        await asyncio.sleep(0.05)
        assert not polling.done()
        await feed.close()
        async with asyncio.timeout(PROMPT_S):
            return await polling

    batch = asyncio.run(scenario())

    assert batch.purges == ()
    assert not batch.gap


def test_after_closing_a_poll_answers_at_once_and_still_carries_the_purges():
    async def scenario():
        feed = PurgeFeed(PurgeLog(FakeClock()))
        await feed.publish(Entry(Purge.tag("photo-1"), issued_at=0.0))
        await feed.close()
        async with asyncio.timeout(PROMPT_S):
            empty = await feed.poll("edge-1", 1, feed.log.epoch, FOLLOW_WAIT_S)
            full = await feed.poll("edge-1", 0, feed.log.epoch, FOLLOW_WAIT_S)
        return empty, full

    empty, full = asyncio.run(scenario())

    assert empty.purges == ()
    assert [e.purge.value for e in full.purges] == ["photo-1"]


def test_a_wait_for_the_followers_answers_when_the_feed_closes_naming_those_pending():
    async def scenario():
        clock = FakeClock()
        feed = PurgeFeed(PurgeLog(clock))
        await feed.poll("edge-1", 0, feed.log.epoch, 0)  # heard from: it must apply
        seq = await feed.publish(Entry(Purge.tag("photo-1"), issued_at=0.0))
        waiting = asyncio.create_task(feed.wait_applied(seq, 30.0, active_since=None))
        await asyncio.sleep(0.05)
        await feed.close()
        async with asyncio.timeout(PROMPT_S):
            return await waiting

    assert asyncio.run(scenario()) == ([], ["edge-1"])
