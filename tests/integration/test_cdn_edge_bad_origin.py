"""Malformed origin responses: a 502 (or the answer passed on) but never stored, and the
edge keeps serving (RFC 9112 §6.3: a bad framing is an unrecoverable error)."""

from __future__ import annotations

import asyncio

import pytest
from cdn_support import Origin, answer, get, running_edge

pytestmark = pytest.mark.integration

GOOD = answer(b"fine", (b"cache-control", b"max-age=60"))

FRAMING = [
    (
        "a non-numeric Content-Length",
        b"HTTP/1.1 200 OK\r\ncontent-length: abc\r\ncache-control: max-age=60\r\n\r\nhello",
    ),
    (
        "two different Content-Lengths",
        b"HTTP/1.1 200 OK\r\ncontent-length: 5\r\ncontent-length: 7\r\n"
        b"cache-control: max-age=60\r\n\r\nhello",
    ),
    (
        "a body cut short of its Content-Length",
        b"HTTP/1.1 200 OK\r\ncontent-length: 100\r\ncache-control: max-age=60\r\n\r\nhello",
    ),
    ("a garbage status line", b"HTP/1.1 two hundred\r\n\r\n"),
    ("not HTTP at all", b"\x00\x01\x02 hello\r\n\r\n"),
    ("no answer, the connection closed", b""),
    (
        "a bad chunked body",
        b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\ncache-control: max-age=60\r\n\r\nzz\r\n",
    ),
]


@pytest.mark.parametrize(("what", "raw"), FRAMING, ids=[w for w, _ in FRAMING])
def test_a_badly_framed_response_is_a_502_and_not_stored(what: str, raw: bytes) -> None:
    async def scenario() -> None:
        # Arrange
        def script(head: object) -> bytes:
            return raw if origin.fetches(b"/bad") and head.target == b"/bad" else GOOD  # type: ignore[attr-defined]

        origin = await Origin(script, close=True).start()
        async with running_edge(origin.url) as (edge, port):
            # Act
            first = await get(port, b"/bad")
            second = await get(port, b"/bad")
            good = await get(port, b"/good")
            # Assert
            assert (first.status, second.status) == (502, 502), what
            assert origin.fetches(b"/bad") == 2
            assert (good.status, good.body) == (200, b"fine")
            assert edge.statistics().store.objects == 1
        await origin.stop()

    asyncio.run(scenario())


SERVED = [
    (
        "a bad Cache-Control",
        answer(b"odd", (b"cache-control", b'max-age=abc, =,,, "unclosed')),
    ),
    ("a negative max-age", answer(b"odd", (b"cache-control", b"max-age=-5"))),
    ("a status out of range", b"HTTP/1.1 999 Odd\r\ncontent-length: 3\r\n\r\nodd"),
]


@pytest.mark.parametrize(("what", "raw"), SERVED, ids=[w for w, _ in SERVED])
def test_odd_fields_are_passed_on_but_never_stored_fresh(what: str, raw: bytes) -> None:
    async def scenario() -> None:
        # Arrange
        origin = await Origin(lambda _h: raw).start()
        async with running_edge(origin.url) as (_edge, port):
            # Act
            first = await get(port, b"/odd")
            second = await get(port, b"/odd")
            # Assert
            assert first.status in (999, 200, 502), what
            assert second.headers.get(b"x-cache") != b"HIT", what
            assert origin.fetches() == 2
        await origin.stop()

    asyncio.run(scenario())
