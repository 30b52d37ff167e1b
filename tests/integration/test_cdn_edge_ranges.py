"""Range requests (RFC 9110 §14) are answered from the stored whole body: 206 with
Content-Range, 416 when unsatisfiable; a miss fetches the whole object."""

from __future__ import annotations

import asyncio

import pytest
from cdn_support import Origin, answer, get, running_edge

pytestmark = pytest.mark.integration

BODY = bytes(range(256)) * 4  # 1024 bytes
STORED = answer(BODY, (b"cache-control", b"max-age=60"), (b"etag", b'"r1"'))


def test_a_miss_with_a_range_fetches_the_whole_object_and_answers_the_range() -> None:
    async def scenario() -> None:
        # Arrange
        origin = await Origin(lambda _h: STORED).start()
        async with running_edge(origin.url) as (_edge, port):
            # Act
            part = await get(port, b"/f", (b"range", b"bytes=10-19"))
            whole = await get(port, b"/f")
            # Assert
            assert part.status == 206
            assert part.headers[b"content-range"] == b"bytes 10-19/1024"
            assert part.body == BODY[10:20]
            assert b"range" not in origin.heads[0].headers
            assert (whole.status, whole.headers[b"x-cache"], whole.body) == (200, b"HIT", BODY)
            assert origin.fetches() == 1
        await origin.stop()

    asyncio.run(scenario())


@pytest.mark.parametrize(
    ("spec", "first", "last"),
    [(b"bytes=0-0", 0, 0), (b"bytes=1000-", 1000, 1023), (b"bytes=-24", 1000, 1023)],
)
def test_a_stored_object_answers_single_ranges(spec: bytes, first: int, last: int) -> None:
    async def scenario() -> None:
        # Arrange
        origin = await Origin(lambda _h: STORED).start()
        async with running_edge(origin.url) as (_edge, port):
            await get(port, b"/f")
            # Act
            part = await get(port, b"/f", (b"range", spec))
            # Assert
            assert (part.status, part.headers[b"x-cache"]) == (206, b"HIT")
            assert part.headers[b"content-range"] == b"bytes %d-%d/1024" % (first, last)
            assert part.body == BODY[first : last + 1]
        await origin.stop()

    asyncio.run(scenario())


def test_an_unsatisfiable_range_is_416_and_a_bad_one_is_ignored() -> None:
    async def scenario() -> None:
        # Arrange
        origin = await Origin(lambda _h: STORED).start()
        async with running_edge(origin.url) as (_edge, port):
            await get(port, b"/f")
            # Act
            beyond = await get(port, b"/f", (b"range", b"bytes=5000-"))
            bad = await get(port, b"/f", (b"range", b"bytes=oops"))
            stale_validator = await get(
                port, b"/f", (b"range", b"bytes=0-1"), (b"if-range", b'"other"')
            )
            # Assert
            assert beyond.status == 416
            assert beyond.headers[b"content-range"] == b"bytes */1024"
            assert (bad.status, bad.body) == (200, BODY)
            assert (stale_validator.status, stale_validator.body) == (200, BODY)
        await origin.stop()

    asyncio.run(scenario())
