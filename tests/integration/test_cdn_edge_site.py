"""With ``site`` set, every request is keyed and forwarded under that one Host, whatever
Host the client sent: on a miss, a pass, a background revalidation, and for Vary."""

from __future__ import annotations

import asyncio

import pytest
from cdn_support import Clock, Origin, answer, get, running_edge, until

pytestmark = pytest.mark.integration

SITE = b"photos.example"


def test_requests_under_any_host_share_the_sites_copy_and_reach_the_origin_as_the_site():
    async def scenario() -> None:
        # Arrange
        origin = await Origin(lambda _h: answer(b"x", (b"cache-control", b"max-age=60"))).start()
        async with running_edge(origin.url, site=SITE.decode()) as (_edge, port):
            # Act
            first = await get(port, b"/a", host=b"edge-1.local")
            second = await get(port, b"/a", host=b"127.0.0.1:8080")
            passed = await get(port, b"/a", method=b"POST", host=b"other", body=b"b")
            # Assert
            assert [first.headers[b"x-cache"], second.headers[b"x-cache"]] == [b"MISS", b"HIT"]
            assert passed.headers[b"x-cache"] == b"PASS"
            assert [head.headers[b"host"] for head in origin.heads] == [SITE, SITE]
        await origin.stop()

    asyncio.run(scenario())


def test_a_response_that_varies_on_host_is_still_a_hit_under_another_client_host():
    async def scenario() -> None:
        # Arrange
        varied = answer(b"x", (b"cache-control", b"max-age=60"), (b"vary", b"Host"))
        origin = await Origin(lambda _h: varied).start()
        async with running_edge(origin.url, site=SITE.decode()) as (_edge, port):
            await get(port, b"/v", host=b"one")
            # Act
            again = await get(port, b"/v", host=b"two")
            # Assert
            assert again.headers[b"x-cache"] == b"HIT"
            assert origin.fetches() == 1
        await origin.stop()

    asyncio.run(scenario())


def test_a_background_revalidation_reaches_the_origin_as_the_site():
    async def scenario() -> None:
        # Arrange
        fields = (b"cache-control", b"max-age=1, stale-while-revalidate=60")
        origin = await Origin(lambda _h: answer(b"x", fields, (b"etag", b'"v1"'))).start()
        clock = Clock()
        async with running_edge(origin.url, clock, site=SITE.decode()) as (_edge, port):
            await get(port, b"/s", host=b"one")
            clock.jump(5)
            # Act
            stale = await get(port, b"/s", host=b"two")
            await until(lambda: origin.fetches() == 2)
            # Assert
            assert stale.headers[b"x-cache"] == b"STALE"
            assert origin.heads[1].headers[b"host"] == SITE
        await origin.stop()

    asyncio.run(scenario())
