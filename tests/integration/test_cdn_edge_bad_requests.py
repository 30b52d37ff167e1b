"""Malformed client requests get a 4xx from the connection and never reach the origin."""

from __future__ import annotations

import asyncio

import pytest
from cdn_support import Origin, answer, get, parse, running_edge, send

from millionscale.lb.limits import HttpLimits

pytestmark = pytest.mark.integration

BAD = [
    ("a bad request line", b"GET\r\n\r\n", 400),
    ("an unknown HTTP version", b"GET / HTTP/9.9\r\nHost: a\r\n\r\n", 505),
    ("no Host in HTTP/1.1", b"GET / HTTP/1.1\r\n\r\n", 400),
    ("two Host fields", b"GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", 400),
    ("oversized headers", b"GET / HTTP/1.1\r\nHost: a\r\nX: " + b"a" * 5000 + b"\r\n\r\n", 431),
    ("a target over its limit", b"GET /" + b"a" * 2000 + b" HTTP/1.1\r\nHost: a\r\n\r\n", 414),
    (
        "Content-Length and Transfer-Encoding",
        b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 4\r\n"
        b"Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
        400,
    ),
    ("a body over the limit", b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5000\r\n\r\n", 413),
    ("CONNECT", b"CONNECT a:443 HTTP/1.1\r\nHost: a:443\r\n\r\n", 501),
]


@pytest.mark.parametrize(("what", "raw", "status"), BAD, ids=[w for w, _, _ in BAD])
def test_a_malformed_request_gets_a_4xx_and_the_edge_stays_up(
    what: str, raw: bytes, status: int
) -> None:
    async def scenario() -> None:
        # Arrange
        origin = await Origin(lambda _h: answer(b"ok")).start()
        limits = HttpLimits(max_header_bytes=4096, max_body_bytes=1024, max_target_bytes=1024)
        async with running_edge(origin.url, limits=limits) as (_edge, port):
            # Act
            refused = parse(await send(port, raw))
            after = await get(port, b"/")
            # Assert
            assert refused.status == status, what
            assert origin.fetches() == 1  # only the good request after it
            assert after.status == 200
        await origin.stop()

    asyncio.run(scenario())
