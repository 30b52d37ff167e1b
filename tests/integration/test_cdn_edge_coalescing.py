"""Concurrent misses for one key make one origin fetch, across tiers; an uncacheable
answer is never shared with the requests that joined it (hit-for-miss)."""

from __future__ import annotations

import asyncio

import pytest
from cdn_support import Origin, answer, get, running_edge, until

pytestmark = pytest.mark.integration

CACHEABLE = answer(b"photo" * 100, (b"cache-control", b"max-age=300"))


def test_200_concurrent_misses_through_two_edges_and_a_shield_make_one_origin_fetch() -> None:
    async def scenario() -> None:
        # Arrange
        origin = Origin(lambda _h: CACHEABLE, gate=asyncio.Event())
        await origin.start()
        async with (
            running_edge(origin.url, name="shield", keep_surrogate_keys=True) as (shield, sport),
            running_edge(f"http://127.0.0.1:{sport}", name="edge-1") as (one, port1),
            running_edge(f"http://127.0.0.1:{sport}", name="edge-2") as (two, port2),
        ):
            # Act
            requests = [
                asyncio.create_task(get(port1 if i % 2 else port2, b"/p/1")) for i in range(200)
            ]
            await until(
                lambda: (
                    one.statistics().coalesced == 99
                    and two.statistics().coalesced == 99
                    and shield.statistics().coalesced == 1
                )
            )
            assert origin.gate is not None
            origin.gate.set()
            answers = await asyncio.gather(*requests)
            # Assert
            assert origin.fetches() == 1
            assert {a.status for a in answers} == {200}
            assert {a.body for a in answers} == {b"photo" * 100}
            assert (one.statistics().origin_fetches, two.statistics().origin_fetches) == (1, 1)
            assert shield.statistics().origin_fetches == 1
        await origin.stop()

    asyncio.run(scenario())


def test_an_uncacheable_answer_is_fetched_again_for_each_joined_request() -> None:
    async def scenario() -> None:
        # Arrange
        served = iter(range(100))
        origin = Origin(
            lambda _h: answer(b"yours %d" % next(served), (b"cache-control", b"private")),
            gate=asyncio.Event(),
        )
        await origin.start()
        async with running_edge(origin.url) as (edge, port):
            # Act
            requests = [asyncio.create_task(get(port, b"/me")) for _ in range(5)]
            await until(lambda: edge.statistics().coalesced == 4)
            assert origin.gate is not None
            origin.gate.set()
            answers = await asyncio.gather(*requests)
            later = [await get(port, b"/me") for _ in range(3)]
            # Assert: nobody got another's private answer; later misses did not queue
            assert len({a.body for a in answers}) == 5
            assert origin.fetches() == 8
            assert edge.statistics().hit_for_miss == 1
            assert edge.statistics().coalesced == 4
            assert {a.headers[b"x-cache"] for a in later} == {b"MISS"}
        await origin.stop()

    asyncio.run(scenario())


def test_a_cacheable_answer_clears_the_hit_for_miss_mark() -> None:
    async def scenario() -> None:
        # Arrange
        answers = iter([answer(b"a", (b"set-cookie", b"s=1")), CACHEABLE])
        origin = await Origin(lambda _h: next(answers)).start()
        async with running_edge(origin.url) as (edge, port):
            await get(port, b"/x")
            # Act
            second = await get(port, b"/x")
            third = await get(port, b"/x")
            # Assert
            assert (second.headers[b"x-cache"], third.headers[b"x-cache"]) == (b"MISS", b"HIT")
            assert edge.statistics().hit_for_miss == 0
        await origin.stop()

    asyncio.run(scenario())
