"""Vary (RFC 9111 §4.1): each variant is fetched and stored once, and a request that
joined another's fetch gets the variant its own fields select, never another's."""

from __future__ import annotations

import asyncio

import pytest
from cdn_support import Origin, answer, get, running_edge, until

pytestmark = pytest.mark.integration


def by_encoding(head: object) -> bytes:
    encoding = head.headers.get(b"accept-encoding", b"identity")  # type: ignore[attr-defined]
    return answer(
        b"body in " + encoding,
        (b"cache-control", b"max-age=60"),
        (b"vary", b"Accept-Encoding"),
    )


def test_joined_requests_get_the_variant_their_fields_select() -> None:
    async def scenario() -> None:
        # Arrange
        origin = Origin(by_encoding, gate=asyncio.Event())
        await origin.start()
        async with running_edge(origin.url) as (edge, port):
            # Act
            gzip = [
                asyncio.create_task(get(port, b"/v", (b"accept-encoding", b"gzip")))
                for _ in range(3)
            ]
            await until(lambda: edge.statistics().coalesced == 2)
            plain = asyncio.create_task(get(port, b"/v", (b"accept-encoding", b"br")))
            await until(lambda: edge.statistics().coalesced == 3)
            assert origin.gate is not None
            origin.gate.set()
            answers = await asyncio.gather(*gzip, plain)
            again = await get(port, b"/v", (b"accept-encoding", b"br"))
            # Assert
            assert [a.body for a in answers] == [b"body in gzip"] * 3 + [b"body in br"]
            assert (again.headers[b"x-cache"], again.body) == (b"HIT", b"body in br")
            assert origin.fetches() == 2
        await origin.stop()

    asyncio.run(scenario())


def test_pipelined_requests_on_one_connection_are_answered_in_order() -> None:
    async def scenario() -> None:
        # Arrange
        origin = await Origin(by_encoding).start()
        async with running_edge(origin.url) as (_edge, port):
            await get(port, b"/v")
            reader, writer = await asyncio.open_connection("127.0.0.1", port)
            # Act
            one = b"GET /v HTTP/1.1\r\nhost: example.com\r\n\r\n"
            writer.write(
                one * 3 + b"GET /v HTTP/1.1\r\nhost: example.com\r\nconnection: close\r\n\r\n"
            )
            async with asyncio.timeout(10):
                data = await reader.read()
            writer.close()
            # Assert
            assert data.count(b"HTTP/1.1 200 OK") == 4
            assert data.count(b"x-cache: HIT") == 4
        await origin.stop()

    asyncio.run(scenario())
