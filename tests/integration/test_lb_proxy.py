"""The balancer forwards, survives a backend's death, and steers away from a slow one."""

from __future__ import annotations

import asyncio
import collections
import contextlib
import functools
import os
import signal

import httpx
import pytest
from lb_support import Echo, balancing

from millionscale.lb import Balancer
from millionscale.servers.server import free_port
from millionscale.testing import spawn_module, wait_ready

pytestmark = pytest.mark.integration


def test_a_request_reaches_a_backend_with_forwarding_headers():
    async def scenario() -> None:
        backends = [Echo("web-1"), Echo("web-2")]
        async with balancing(backends) as (_, port), httpx.AsyncClient() as client:
            reply = await client.post(
                f"http://127.0.0.1:{port}/photos?x=1",
                content=b"hello",
                headers={"x-forwarded-for": "203.0.113.7"},
            )
            echoed = reply.json()

        assert reply.status_code == 200
        assert echoed["headers"]["x-forwarded-for"] == "203.0.113.7, 127.0.0.1"
        assert echoed["headers"]["x-forwarded-proto"] == "http"
        assert echoed["headers"]["x-request-id"] == reply.headers["x-request-id"]
        assert echoed["body"] == 5
        assert sum(b.served() for b in backends) == 1

    asyncio.run(scenario())


def test_keep_alive_connections_are_reused_to_the_backends():
    async def scenario() -> None:
        backend = Echo("web-1")
        async with balancing([backend]) as (balancer, port), httpx.AsyncClient() as client:
            for _ in range(20):
                assert (await client.get(f"http://127.0.0.1:{port}/")).status_code == 200
            pooled = len(balancer.backends["web-1"].idle)

        assert pooled == 1  # one connection carried all twenty, one at a time

    asyncio.run(scenario())


def test_sigkill_of_one_of_three_web_servers_fails_no_idempotent_request():
    ports = [free_port("127.0.0.1") for _ in range(3)]
    placeholder = functools.partial(spawn_module, "millionscale.web.placeholder", "--port")

    async def scenario() -> tuple[collections.Counter[int], int]:
        statuses: collections.Counter[int] = collections.Counter()
        async with httpx.AsyncClient(timeout=10) as client:
            balancer = Balancer()
            for i, backend_port in enumerate(ports):
                balancer.add(f"web-{i + 1}", "127.0.0.1", backend_port, initial=True)
            balancer.start()
            server = await balancer.serve("127.0.0.1", 0)
            port = server.sockets[0].getsockname()[1]
            remaining = iter(range(600))

            async def worker() -> None:
                for i in remaining:
                    if i == 150:
                        os.killpg(servers[1].pid, signal.SIGKILL)
                    reply = await client.get(f"http://127.0.0.1:{port}/")
                    statuses[reply.status_code] += 1

            await asyncio.gather(*(worker() for _ in range(10)))
        server.close()
        await balancer.stop()
        return statuses, balancer.retries.statistics().retries

    with contextlib.ExitStack() as stack:
        servers = [stack.enter_context(placeholder(str(port))) for port in ports]
        for port, server in zip(ports, servers, strict=True):
            wait_ready(f"http://127.0.0.1:{port}/healthz", 10, process=server.process)
        statuses, retries = asyncio.run(scenario())

    assert statuses == {200: 600}
    assert retries >= 1  # the requests in flight on the dead server were retried
