"""An edge behind a shield (another edge): the shield's Age counts at the edge
(RFC 9111 §4.2.3), and a shield started with keep_surrogate_keys passes the surrogate
keys down so the edges can purge by tag, while the edge facing users strips them."""

from __future__ import annotations

import asyncio

import pytest
from cdn_support import Clock, Origin, answer, get, running_edge

pytestmark = pytest.mark.integration

TAGGED = answer(b"photo", (b"cache-control", b"max-age=100"), (b"surrogate-key", b"photos photo-1"))


def test_the_shields_age_counts_and_its_surrogate_keys_reach_the_edge_only() -> None:
    async def scenario() -> None:
        # Arrange
        origin = await Origin(lambda _h: TAGGED).start()
        clock = Clock()
        async with (
            running_edge(origin.url, clock, name="shield", keep_surrogate_keys=True) as (
                _shield,
                shield_port,
            ),
            running_edge(f"http://127.0.0.1:{shield_port}", clock) as (edge, port),
        ):
            from_shield = await get(shield_port, b"/p/1")
            clock.jump(30)
            # Act
            first = await get(port, b"/p/1")
            clock.jump(60)
            second = await get(port, b"/p/1")
            clock.jump(20)  # 110 s since the origin answered: stale at both tiers
            third = await get(port, b"/p/1")
            purged = edge.purge(tag="photo-1")
            # Assert
            assert from_shield.headers[b"surrogate-key"] == b"photos photo-1"
            assert b"surrogate-key" not in first.headers
            assert (first.headers[b"x-cache"], first.headers[b"age"]) == (b"MISS", b"30")
            assert (second.headers[b"x-cache"], second.headers[b"age"]) == (b"HIT", b"90")
            assert third.headers[b"age"] == b"0"  # both refetched: the origin's answer is new
            assert origin.fetches() == 2
            assert purged == 1
        await origin.stop()

    asyncio.run(scenario())
