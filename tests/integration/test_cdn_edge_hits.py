"""A cacheable response is fetched once, then answered from the edge (X-Cache, Age, Via)
until its freshness lifetime passes (RFC 9111 §4.2)."""

from __future__ import annotations

import asyncio

import pytest
from cdn_support import Clock, Origin, answer, get, running_edge

pytestmark = pytest.mark.integration

CACHEABLE = answer(b"hello", (b"cache-control", b"max-age=60"), (b"etag", b'"v1"'))


def test_a_second_request_is_a_hit_with_its_age() -> None:
    async def scenario() -> None:
        # Arrange
        origin = await Origin(lambda _h: CACHEABLE).start()
        clock = Clock()
        async with running_edge(origin.url, clock) as (edge, port):
            # Act
            first = await get(port, b"/a")
            clock.jump(5)
            second = await get(port, b"/a")
            head = await get(port, b"/a", method=b"HEAD")
            # Assert
            assert (first.status, first.headers[b"x-cache"], first.body) == (200, b"MISS", b"hello")
            assert (second.status, second.headers[b"x-cache"], second.body) == (
                200,
                b"HIT",
                b"hello",
            )
            assert second.headers[b"age"] == b"5"
            assert second.headers[b"via"] == b"1.1 edge"
            assert (head.headers[b"x-cache"], head.headers[b"content-length"]) == (b"HIT", b"5")
            assert origin.fetches() == 1
            stats = edge.statistics()
            assert (stats.hits, stats.misses, stats.origin_fetches) == (2, 1, 1)
        await origin.stop()

    asyncio.run(scenario())


def test_once_its_lifetime_is_over_it_is_fetched_again() -> None:
    async def scenario() -> None:
        # Arrange
        bodies = iter([b"one", b"two"])
        origin = await Origin(
            lambda _h: answer(next(bodies), (b"cache-control", b"max-age=60"))
        ).start()
        clock = Clock()
        async with running_edge(origin.url, clock) as (_edge, port):
            await get(port, b"/a")
            # Act
            clock.jump(61)
            later = await get(port, b"/a")
            # Assert
            assert (later.headers[b"x-cache"], later.body) == (b"MISS", b"two")
            assert origin.fetches() == 2
        await origin.stop()

    asyncio.run(scenario())


def test_hosts_and_targets_are_different_keys() -> None:
    async def scenario() -> None:
        # Arrange
        origin = await Origin(lambda h: answer(h.target, (b"cache-control", b"max-age=60"))).start()
        async with running_edge(origin.url) as (_edge, port):
            # Act
            answers = [
                await get(port, b"/a", host=b"one.example"),
                await get(port, b"/a", host=b"two.example"),
                await get(port, b"/a?x=1", host=b"one.example"),
                await get(port, b"/a", host=b"ONE.example"),
            ]
            # Assert
            assert [a.headers[b"x-cache"] for a in answers] == [b"MISS", b"MISS", b"MISS", b"HIT"]
            assert origin.fetches() == 3
        await origin.stop()

    asyncio.run(scenario())


def test_the_origin_sees_host_via_and_forwarded_for_and_no_hop_by_hop_fields() -> None:
    async def scenario() -> None:
        # Arrange
        origin = await Origin(lambda _h: answer(b"x")).start()
        async with running_edge(origin.url, name="edge-7") as (_edge, port):
            # Act
            await get(port, b"/a", (b"keep-alive", b"timeout=5"), (b"x-forwarded-for", b"10.0.0.1"))
            # Assert
            seen = origin.heads[0].headers
            assert seen[b"host"] == b"example.com"
            assert seen[b"via"] == b"1.1 edge-7"
            assert seen[b"x-forwarded-for"] == b"10.0.0.1, 127.0.0.1"
            assert b"keep-alive" not in seen
        await origin.stop()

    asyncio.run(scenario())
