"""Faults change when bytes arrive, never which bytes or in what order (while nothing is cut)."""

from __future__ import annotations

import asyncio
import random

import pytest
from chaos_support import echo_server

from millionscale.chaos import FaultProxy, Faults, Jitter, Link, Partition

pytestmark = pytest.mark.integration

CONNECTIONS = 6
BYTES_EACH = 300_000


def random_faults(rng: random.Random) -> Faults:
    def link() -> Link:
        return Link(
            latency_s=rng.uniform(0, 0.01),
            jitter_s=rng.uniform(0, 0.01),
            jitter=rng.choice(list(Jitter)),
            bytes_per_s=rng.choice([None, 2e6, 8e6]),
            stall_probability=rng.choice([0.0, 0.05]),
            stall_s=0.02,
        )

    return Faults(upstream=link(), downstream=link())


async def send_and_collect(port: int, payload: bytes, rng: random.Random) -> bytes:
    """Write ``payload`` in random-sized pieces, then EOF; read the echo to its end."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)

    async def send() -> None:
        at = 0
        while at < len(payload):
            size = rng.randint(1, 20_000)
            writer.write(payload[at : at + size])
            await writer.drain()
            at += size
            if rng.random() < 0.1:
                await asyncio.sleep(0.001)
        writer.write_eof()

    sending = asyncio.create_task(send())
    back = await reader.read(-1)
    await sending
    writer.close()
    return back


def test_every_byte_arrives_in_order_through_changing_faults_and_a_frozen_partition():
    rng = random.Random(20261128)
    payloads = [rng.randbytes(BYTES_EACH) for _ in range(CONNECTIONS)]

    async def scenario() -> tuple[list[bytes], int, int, int]:
        async with echo_server() as echo:
            # 1 MB/s each way at first, so every transfer is still running when it freezes
            start = Faults.both_ways(Link(latency_s=0.005, bytes_per_s=1e6))
            proxy = FaultProxy(("127.0.0.1", echo.port), faults=start, rng=rng)
            async with proxy:
                at_freeze = []

                async def meddle() -> None:
                    await asyncio.sleep(0.05)
                    await proxy.partition(Partition())  # new ones hang, open ones freeze
                    at_freeze.append(proxy.statistics().bytes_downstream)
                    await asyncio.sleep(0.1)
                    await proxy.heal()
                    for _ in range(10):  # bounded: half a second of changes
                        proxy.set_faults(random_faults(rng))
                        await asyncio.sleep(0.05)

                meddler = asyncio.create_task(meddle())
                async with asyncio.timeout(30):
                    results = await asyncio.gather(
                        *(
                            send_and_collect(proxy.port, p, random.Random(i))
                            for i, p in enumerate(payloads)
                        )
                    )
                await meddler
                stats = proxy.statistics()
        return results, stats.bytes_upstream, stats.bytes_downstream, at_freeze[0]

    results, up, down, frozen_at = asyncio.run(scenario())

    assert frozen_at < BYTES_EACH * CONNECTIONS  # the freeze came mid-transfer

    assert [len(r) for r in results] == [BYTES_EACH] * CONNECTIONS
    assert results == payloads
    assert up == down == BYTES_EACH * CONNECTIONS
