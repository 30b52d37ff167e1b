"""A partition hangs or refuses new connections, freezes or cuts open ones; heal undoes it."""

from __future__ import annotations

import asyncio

import pytest
from chaos_support import echo_server, echoes, round_trip

from millionscale.chaos import FaultProxy, NewConnections, OpenConnections, Partition

pytestmark = pytest.mark.integration

QUIET_S = 0.3  # how long "nothing arrives" is watched for


async def nothing_arrives(reader: asyncio.StreamReader) -> bool:
    try:
        async with asyncio.timeout(QUIET_S):
            await reader.read(1)
    except TimeoutError:
        return True
    return False


def test_a_new_connection_hangs_and_goes_on_after_heal():
    async def scenario() -> tuple[bool, int, int, bytes]:
        async with echo_server() as echo, FaultProxy(("127.0.0.1", echo.port)) as proxy:
            await proxy.partition(Partition(NewConnections.HANG))
            reader, writer = await asyncio.open_connection("127.0.0.1", proxy.port)
            writer.write(b"held")
            quiet = await nothing_arrives(reader)
            held = proxy.statistics().held
            reached = echo.connections
            await proxy.heal()
            async with asyncio.timeout(5):
                back = await reader.readexactly(4)
            writer.close()
        return quiet, held, reached, back

    quiet, held, reached, back = asyncio.run(scenario())

    assert quiet
    assert held == 1
    assert reached == 0  # held means no upstream connection either
    assert back == b"held"


def test_an_open_connection_freezes_and_loses_nothing_on_heal():
    async def scenario() -> tuple[bool, bytes]:
        async with echo_server() as echo, FaultProxy(("127.0.0.1", echo.port)) as proxy:
            reader, writer = await asyncio.open_connection("127.0.0.1", proxy.port)
            await round_trip(reader, writer, b"before")
            await proxy.partition(Partition(NewConnections.HANG, OpenConnections.FREEZE))
            for i in range(50):
                writer.write(b"%03d," % i)
            quiet = await nothing_arrives(reader)
            await proxy.heal()
            async with asyncio.timeout(5):
                back = await reader.readexactly(200)
            writer.close()
        return quiet, back

    quiet, back = asyncio.run(scenario())

    assert quiet
    assert back == b"".join(b"%03d," % i for i in range(50))


def test_a_refusing_partition_cuts_open_connections_and_refuses_new_ones():
    async def scenario() -> None:
        async with echo_server() as echo, FaultProxy(("127.0.0.1", echo.port)) as proxy:
            reader, writer = await asyncio.open_connection("127.0.0.1", proxy.port)
            await round_trip(reader, writer, b"x")

            said = await proxy.partition(Partition(NewConnections.REFUSE, OpenConnections.CUT))

            assert said == "partitioned: new connections are refused, open ones are cut (1 cut)"
            with pytest.raises(ConnectionResetError):
                async with asyncio.timeout(5):
                    await reader.read(1)
            with pytest.raises(ConnectionRefusedError):
                await asyncio.open_connection("127.0.0.1", proxy.port)
            await proxy.heal()
            assert await echoes(proxy.port)
            assert proxy.statistics().cut == 1

    asyncio.run(scenario())


def test_heal_without_a_partition_says_so():
    async def scenario() -> str:
        async with echo_server() as echo, FaultProxy(("127.0.0.1", echo.port)) as proxy:
            return await proxy.heal()

    assert asyncio.run(scenario()) == "not partitioned: nothing to heal"
