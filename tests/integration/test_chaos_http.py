"""The fault proxy in front of a real HTTP server (a placeholder web process)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator

import httpx
import pytest
from chaos_support import HttpProcess, http_servers

from millionscale.chaos import FaultProxy, Faults, Link, NewConnections, Partition

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def web() -> Iterator[HttpProcess]:
    with http_servers(1) as (server,):
        yield server


def test_requests_through_the_proxy_are_answered_alike_but_later(web):
    async def scenario() -> tuple[httpx.Response, list[httpx.Response], list[float]]:
        direct = httpx.AsyncClient(base_url=f"http://127.0.0.1:{web.port}")
        faults = Faults(downstream=Link(latency_s=0.03))
        async with FaultProxy(("127.0.0.1", web.port), faults=faults) as proxy, direct:
            expected = await direct.get("/healthz")
            async with httpx.AsyncClient(base_url=f"http://{proxy.address}") as client:
                replies, times = [], []
                for _ in range(10):
                    started = time.monotonic()
                    replies.append(await client.get("/healthz"))
                    times.append(time.monotonic() - started)
        return expected, replies, times

    expected, replies, times = asyncio.run(scenario())

    assert [(r.status_code, r.content) for r in replies] == [
        (expected.status_code, expected.content)
    ] * 10
    assert min(times) >= 0.03 - 1e-3


def test_a_hanging_partition_times_requests_out_and_heal_restores_them(web):
    async def scenario() -> tuple[type[Exception] | None, int]:
        async with (
            FaultProxy(("127.0.0.1", web.port)) as proxy,
            httpx.AsyncClient(base_url=f"http://{proxy.address}", timeout=0.3) as client,
        ):
            await proxy.partition(Partition(NewConnections.HANG))
            failed: type[Exception] | None = None
            try:
                await client.get("/healthz")
            except httpx.TimeoutException as error:
                failed = type(error)
            await proxy.heal()
            reply = await client.get("/healthz", timeout=5)
        return failed, reply.status_code

    failed, status = asyncio.run(scenario())

    assert failed is not None
    assert issubclass(failed, httpx.TimeoutException)
    assert status == 200
