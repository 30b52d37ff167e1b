"""Added latency and jitter delay an echo's round trips by what was asked, within bounds."""

from __future__ import annotations

import asyncio
import statistics
import time

import pytest
from chaos_support import echo_server, round_trip

from millionscale.chaos import FaultProxy, Faults, Jitter, Link

pytestmark = pytest.mark.integration

# What a loaded two-core CI machine may add to a loopback round trip through two
# asyncio hops (the proxy and the echo share the test's event loop). Upper bounds
# are checked on medians: one round trip can always be stalled by the machine.
# The bound of every delay the proxy computes is checked without a clock in
# tests/unit/test_chaos_delay_bounds.py.
SLACK_S = 0.03
PHASE_TRIPS = 5  # round trips per phase, for a median


async def round_trips(proxy: FaultProxy, count: int, size: int = 100) -> list[float]:
    reader, writer = await asyncio.open_connection("127.0.0.1", proxy.port)
    try:
        return [await round_trip(reader, writer, bytes([i % 256]) * size) for i in range(count)]
    finally:
        writer.close()


def test_latency_each_way_adds_to_every_round_trip():
    async def scenario() -> list[float]:
        async with echo_server() as echo:
            faults = Faults.both_ways(Link(latency_s=0.02))
            async with FaultProxy(("127.0.0.1", echo.port), faults=faults) as proxy:
                return await round_trips(proxy, 15)

    times = asyncio.run(scenario())

    assert min(times) >= 0.04 - 1e-3  # 20 ms up, 20 ms down: never less
    assert statistics.median(times) <= 0.04 + SLACK_S


@pytest.mark.parametrize("jitter", list(Jitter))
def test_jitter_spreads_round_trips_within_its_bound(jitter):
    async def scenario() -> list[float]:
        async with echo_server() as echo:
            link = Link(latency_s=0.04, jitter_s=0.03, jitter=jitter)
            async with FaultProxy(("127.0.0.1", echo.port), faults=Faults(downstream=link)) as p:
                return await round_trips(p, 25)

    times = asyncio.run(scenario())

    assert min(times) >= 0.01 - 1e-3
    assert statistics.median(times) <= 0.07 + SLACK_S
    assert max(times) - min(times) >= 0.01  # it does vary


def test_a_connect_delay_holds_a_new_connection_once():
    async def scenario() -> tuple[float, float]:
        async with echo_server() as echo:
            faults = Faults(connect_delay_s=0.15)
            async with FaultProxy(("127.0.0.1", echo.port), faults=faults) as proxy:
                started = time.monotonic()
                reader, writer = await asyncio.open_connection("127.0.0.1", proxy.port)
                await round_trip(reader, writer, b"first")
                first = time.monotonic() - started
                later = [await round_trip(reader, writer, b"later") for _ in range(PHASE_TRIPS)]
                writer.close()
        return first, statistics.median(later)

    first, later = asyncio.run(scenario())

    assert first >= 0.15 - 1e-3
    assert later <= SLACK_S


def test_latency_changed_at_run_time_applies_to_an_open_connection():
    async def scenario() -> tuple[list[float], list[float], list[float]]:
        async with echo_server() as echo, FaultProxy(("127.0.0.1", echo.port)) as proxy:
            reader, writer = await asyncio.open_connection("127.0.0.1", proxy.port)

            async def phase(data: bytes) -> list[float]:
                return [await round_trip(reader, writer, data) for _ in range(PHASE_TRIPS)]

            clean = await phase(b"a")
            proxy.set_faults(Faults(downstream=Link(latency_s=0.06)))
            slowed = await phase(b"b")
            proxy.clear_faults()
            healed = await phase(b"c")
            writer.close()
            return clean, slowed, healed

    clean, slowed, healed = asyncio.run(scenario())

    assert statistics.median(clean) <= SLACK_S
    assert min(slowed) >= 0.06 - 1e-3
    assert statistics.median(slowed) <= 0.06 + SLACK_S
    assert statistics.median(healed) <= SLACK_S
