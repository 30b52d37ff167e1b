"""An origin that is gone, silent or failing: what is stored is still served within
stale-if-error (RFC 5861 §4); what is not fails fast with 502 or 504, never a hang."""

from __future__ import annotations

import asyncio
import time

import pytest
from cdn_support import Clock, Origin, answer, get, running_edge

pytestmark = pytest.mark.integration

STORED = answer(b"kept", (b"cache-control", b"max-age=10, stale-if-error=600"))


def test_a_stopped_origin_leaves_stored_objects_served_and_others_fail_fast() -> None:
    async def scenario() -> None:
        # Arrange
        origin = await Origin(lambda _h: STORED).start()
        clock = Clock()
        async with running_edge(origin.url, clock) as (edge, port):
            await get(port, b"/kept")
            await origin.stop()
            clock.jump(60)  # stale now, within stale-if-error
            # Act
            started = time.monotonic()
            stale = await get(port, b"/kept")
            missing = await get(port, b"/never-fetched")
            elapsed = time.monotonic() - started
            # Assert
            assert (stale.status, stale.headers[b"x-cache"], stale.body) == (200, b"STALE", b"kept")
            assert missing.status == 502
            assert b"detail" in missing.body
            assert elapsed < 2.0
            assert edge.statistics().stale == 1
        await origin.stop()

    asyncio.run(scenario())


def test_a_silent_origin_is_a_504_after_the_read_timeout() -> None:
    async def scenario() -> None:
        # Arrange
        async def never(_head: object) -> bytes:
            await asyncio.Event().wait()
            return b""

        origin = await Origin(never).start()
        async with running_edge(origin.url, read_timeout_s=0.3) as (_edge, port):
            # Act
            started = time.monotonic()
            answer_ = await get(port, b"/slow")
            elapsed = time.monotonic() - started
            # Assert
            assert answer_.status == 504
            assert elapsed < 2.0
        await origin.stop()

    asyncio.run(scenario())


def test_a_5xx_is_stood_in_for_by_a_stale_response_and_passed_on_without_one() -> None:
    async def scenario() -> None:
        # Arrange
        answers = iter([STORED, answer(b"down", status=b"503 Service Unavailable")] * 2)
        origin = await Origin(lambda _h: next(answers)).start()
        clock = Clock()
        async with running_edge(origin.url, clock) as (_edge, port):
            await get(port, b"/a")
            clock.jump(60)
            # Act
            stood_in = await get(port, b"/a")
            clock.jump(1000)  # past stale-if-error
            await get(port, b"/a")  # refetched (STORED again)
            clock.jump(1000)
            passed = await get(port, b"/a")
            # Assert
            assert (stood_in.status, stood_in.headers[b"x-cache"]) == (200, b"STALE")
            assert passed.status == 503
        await origin.stop()

    asyncio.run(scenario())


def test_must_revalidate_is_never_served_stale() -> None:
    async def scenario() -> None:
        # Arrange
        answers = iter([answer(b"strict", (b"cache-control", b"max-age=10, must-revalidate")), b""])
        origin = await Origin(lambda _h: next(answers)).start()
        clock = Clock()
        async with running_edge(origin.url, clock, stale_if_error_s=600) as (_edge, port):
            await get(port, b"/a")
            clock.jump(60)
            # Act
            refused = await get(port, b"/a")
            # Assert
            assert refused.status == 502
        await origin.stop()

    asyncio.run(scenario())
