"""A stale response with a validator is revalidated (RFC 9111 §4.3): a 304 freshens it,
a 200 replaces it; within stale-while-revalidate it is served at once and refreshed in
the background (RFC 5861 §3); a client's own conditional gets a 304 from the edge."""

from __future__ import annotations

import asyncio

import pytest
from cdn_support import T0, Clock, Origin, answer, get, running_edge, until

from millionscale.cdn.httpdate import format_http_date

pytestmark = pytest.mark.integration

ETAGGED = answer(b"v1 body", (b"cache-control", b"max-age=10"), (b"etag", b'"v1"'))
# An origin with a clock sends Date (RFC 9110 §6.6.1), on a 304 too: 30 s after T0.
NOT_MODIFIED = (
    b'HTTP/1.1 304 Not Modified\r\netag: "v1"\r\ncache-control: max-age=10\r\n'
    b"date: " + format_http_date(T0 + 30) + b"\r\n\r\n"
)


def test_a_304_freshens_the_stored_response() -> None:
    async def scenario() -> None:
        # Arrange
        answers = iter([ETAGGED, NOT_MODIFIED])
        origin = await Origin(lambda _h: next(answers)).start()
        clock = Clock()
        async with running_edge(origin.url, clock) as (edge, port):
            await get(port, b"/r")
            clock.jump(30)
            # Act
            revalidated = await get(port, b"/r")
            hit = await get(port, b"/r")
            # Assert
            assert origin.heads[1].headers[b"if-none-match"] == b'"v1"'
            assert (revalidated.status, revalidated.headers[b"x-cache"]) == (200, b"REVALIDATED")
            assert revalidated.body == b"v1 body"
            assert (hit.headers[b"x-cache"], hit.headers[b"age"]) == (b"HIT", b"0")
            assert edge.statistics().revalidated == 1
        await origin.stop()

    asyncio.run(scenario())


def test_a_200_to_a_revalidation_replaces_the_stored_response() -> None:
    async def scenario() -> None:
        # Arrange
        changed = answer(b"v2 body", (b"cache-control", b"max-age=10"), (b"etag", b'"v2"'))
        answers = iter([ETAGGED, changed])
        origin = await Origin(lambda _h: next(answers)).start()
        clock = Clock()
        async with running_edge(origin.url, clock) as (_edge, port):
            await get(port, b"/r")
            clock.jump(30)
            # Act
            fetched = await get(port, b"/r")
            hit = await get(port, b"/r")
            # Assert
            assert (fetched.headers[b"x-cache"], fetched.body) == (b"MISS", b"v2 body")
            assert (hit.headers[b"x-cache"], hit.body) == (b"HIT", b"v2 body")
        await origin.stop()

    asyncio.run(scenario())


def test_within_stale_while_revalidate_it_is_served_stale_and_refreshed_once() -> None:
    async def scenario() -> None:
        # Arrange
        swr = answer(
            b"old",
            (b"cache-control", b"max-age=10, stale-while-revalidate=60"),
            (b"etag", b'"v1"'),
        )
        fresh = answer(b"new", (b"cache-control", b"max-age=10"), (b"etag", b'"v2"'))
        answers = iter([swr, fresh])
        origin = Origin(lambda _h: next(answers), gate=asyncio.Event())
        origin.gate.set()
        await origin.start()
        clock = Clock()
        async with running_edge(origin.url, clock) as (edge, port):
            await get(port, b"/s")
            clock.jump(20)
            origin.gate = asyncio.Event()  # hold the background revalidation
            # Act
            stale = [await get(port, b"/s") for _ in range(3)]
            await until(lambda: origin.fetches() == 2)
            origin.gate.set()
            await until(lambda: edge.store.variants(b"example.com/s")[0].body == b"new")
            after = await get(port, b"/s")
            # Assert
            assert {(a.headers[b"x-cache"], a.body) for a in stale} == {(b"STALE", b"old")}
            assert origin.fetches() == 2
            assert origin.heads[1].headers[b"if-none-match"] == b'"v1"'
            assert (after.headers[b"x-cache"], after.body) == (b"HIT", b"new")
        await origin.stop()

    asyncio.run(scenario())


def test_a_client_conditional_that_matches_gets_a_304() -> None:
    async def scenario() -> None:
        # Arrange
        origin = await Origin(lambda _h: ETAGGED).start()
        async with running_edge(origin.url) as (_edge, port):
            await get(port, b"/r")
            # Act
            matching = await get(port, b"/r", (b"if-none-match", b'"v1"'))
            other = await get(port, b"/r", (b"if-none-match", b'"v0"'))
            # Assert
            assert (matching.status, matching.body) == (304, b"")
            assert matching.headers[b"etag"] == b'"v1"'
            assert (other.status, other.body) == (200, b"v1 body")
            assert origin.fetches() == 1
        await origin.stop()

    asyncio.run(scenario())
