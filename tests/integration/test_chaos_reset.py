"""Reset cuts every open connection with RST both ways; reset_new cuts a share of new ones."""

from __future__ import annotations

import asyncio
import random

import pytest
from chaos_support import echo_server, echoes, round_trip

from millionscale.chaos import FaultProxy, Faults

pytestmark = pytest.mark.integration


def test_reset_all_cuts_every_open_connection_both_ways():
    async def scenario() -> tuple[str, list[str], int, int]:
        async with echo_server() as echo, FaultProxy(("127.0.0.1", echo.port)) as proxy:
            streams = [await asyncio.open_connection("127.0.0.1", proxy.port) for _ in range(3)]
            for reader, writer in streams:
                await round_trip(reader, writer, b"ping")

            said = proxy.reset_all()

            outcomes = []
            for reader, writer in streams:
                try:
                    async with asyncio.timeout(5):
                        outcomes.append(repr(await reader.read(1)))
                except ConnectionResetError:
                    outcomes.append("reset")
                writer.close()
            for _ in range(50):  # the echo sees its side reset within a moment
                if echo.resets == 3:
                    break
                await asyncio.sleep(0.02)
            return said, outcomes, echo.resets, proxy.statistics().cut

    said, outcomes, upstream_resets, cut = asyncio.run(scenario())

    assert said == "reset 3 open connections"
    assert outcomes == ["reset"] * 3
    assert upstream_resets == 3
    assert cut == 3


def test_new_connections_work_after_a_reset():
    async def scenario() -> bool:
        async with echo_server() as echo, FaultProxy(("127.0.0.1", echo.port)) as proxy:
            _, writer = await asyncio.open_connection("127.0.0.1", proxy.port)
            proxy.reset_all()
            writer.close()
            return await echoes(proxy.port)

    assert asyncio.run(scenario())


def test_a_share_of_new_connections_is_reset_on_arrival():
    async def scenario() -> tuple[int, int]:
        async with echo_server() as echo:
            faults = Faults(reset_new=0.5)
            async with FaultProxy(
                ("127.0.0.1", echo.port), faults=faults, rng=random.Random(3)
            ) as proxy:
                worked = [await echoes(proxy.port) for _ in range(40)]
                return sum(worked), proxy.statistics().refused

    worked, refused = asyncio.run(scenario())

    assert worked + refused == 40
    assert 10 <= refused <= 30


def test_a_dead_upstream_resets_the_client():
    async def scenario() -> tuple[bool, int]:
        async with echo_server() as echo:
            port = echo.port
        async with FaultProxy(("127.0.0.1", port)) as proxy:  # nobody listens there now
            return await echoes(proxy.port), proxy.statistics().upstream_failures

    worked, failures = asyncio.run(scenario())

    assert not worked
    assert failures == 1
