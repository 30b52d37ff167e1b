"""Other methods pass through to the origin (X-Cache: PASS) with their body, and a
non-error answer invalidates the target's stored responses (RFC 9111 §4.4)."""

from __future__ import annotations

import asyncio

import pytest
from cdn_support import Origin, answer, get, running_edge

pytestmark = pytest.mark.integration

CACHEABLE = answer(b"listing", (b"cache-control", b"max-age=60"))


def test_a_post_passes_with_its_body_and_invalidates_the_target() -> None:
    async def scenario() -> None:
        # Arrange
        def script(head: object) -> bytes:
            if head.line.startswith(b"POST"):  # type: ignore[attr-defined]
                return answer(b"created", status=b"201 Created")
            return CACHEABLE

        origin = await Origin(script).start()
        async with running_edge(origin.url) as (edge, port):
            await get(port, b"/list")
            # Act
            posted = await get(port, b"/list", method=b"POST", body=b'{"a": 1}')
            after = await get(port, b"/list")
            # Assert
            assert (posted.status, posted.headers[b"x-cache"], posted.body) == (
                201,
                b"PASS",
                b"created",
            )
            assert origin.bodies[1] == b'{"a": 1}'
            assert after.headers[b"x-cache"] == b"MISS"
            assert edge.statistics().passed == 1
        await origin.stop()

    asyncio.run(scenario())


def test_a_failed_unsafe_request_invalidates_nothing() -> None:
    async def scenario() -> None:
        # Arrange
        def script(head: object) -> bytes:
            if head.line.startswith(b"DELETE"):  # type: ignore[attr-defined]
                return answer(b"no", status=b"403 Forbidden")
            return CACHEABLE

        origin = await Origin(script).start()
        async with running_edge(origin.url) as (_edge, port):
            await get(port, b"/list")
            # Act
            refused = await get(port, b"/list", method=b"DELETE")
            after = await get(port, b"/list")
            # Assert
            assert refused.status == 403
            assert after.headers[b"x-cache"] == b"HIT"
        await origin.stop()

    asyncio.run(scenario())
