"""A bandwidth limit slows a transfer to its rate in the limited direction only."""

from __future__ import annotations

import asyncio
import os
import time

import pytest
from chaos_support import echo_server

from millionscale.chaos import Direction, FaultProxy, Faults, Link

pytestmark = pytest.mark.integration

RATE = 400_000  # bytes per second
SIZE = 200_000  # half a second's worth


async def timed_echo(proxy: FaultProxy, payload: bytes) -> tuple[float, bytes]:
    """Send ``payload``, close our side, and read the echo to its end."""
    reader, writer = await asyncio.open_connection("127.0.0.1", proxy.port)
    started = time.monotonic()
    writer.write(payload)
    writer.write_eof()
    async with asyncio.timeout(10):
        back = await reader.read(-1)
    writer.close()
    return time.monotonic() - started, back


@pytest.mark.parametrize("direction", list(Direction))
def test_a_transfer_takes_its_size_over_the_rate(direction):
    payload = os.urandom(SIZE)

    async def scenario() -> tuple[float, bytes, int, int]:
        async with echo_server() as echo:
            link = Link(bytes_per_s=RATE)
            faults = (
                Faults(upstream=link)
                if direction is Direction.UPSTREAM
                else Faults(downstream=link)
            )
            async with FaultProxy(("127.0.0.1", echo.port), faults=faults) as proxy:
                elapsed, back = await timed_echo(proxy, payload)
                stats = proxy.statistics()
        return elapsed, back, stats.bytes_upstream, stats.bytes_downstream

    elapsed, back, up, down = asyncio.run(scenario())

    burst = Link(bytes_per_s=RATE).burst
    assert back == payload
    assert (up, down) == (SIZE, SIZE)
    assert elapsed >= (SIZE - burst) / RATE - 1e-3
    assert elapsed <= SIZE / RATE * 1.3


def test_without_a_limit_the_same_transfer_is_much_faster():
    payload = os.urandom(SIZE)

    async def scenario() -> float:
        async with echo_server() as echo, FaultProxy(("127.0.0.1", echo.port)) as proxy:
            elapsed, back = await timed_echo(proxy, payload)
        assert back == payload
        return elapsed

    assert asyncio.run(scenario()) < SIZE / RATE / 5
