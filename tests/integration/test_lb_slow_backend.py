"""Issue 6: a server slowed by the fault proxy (added latency) receives a measurably smaller
share of requests under the EWMA policy than under round-robin.

Three real web processes; the third sits behind a :class:`FaultProxy` that delays each of
its responses by 50 ms. The balancer is a real process (``python -m millionscale.lb``),
driven only through its command line, its public port and its admin API, and each web
process counts what it served in its own ``/metrics``.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Iterator

import httpx
import pytest
from chaos_support import HttpProcess, http_servers, served

from millionscale.chaos import FaultProxy, Faults, Link
from millionscale.servers.server import free_port
from millionscale.testing import spawn_module, wait_ready

pytestmark = pytest.mark.integration

TOKEN = "slow-backend-test-token"
ADDED_LATENCY_S = 0.05
REQUESTS = 300
CONCURRENCY = 6


@pytest.fixture(scope="module")
def web() -> Iterator[list[HttpProcess]]:
    with http_servers(3) as servers:
        yield servers


def start_balancer(port: int, admin_port: int, backends: dict[str, str], policy: str):
    args = ["--port", str(port), "--admin-port", str(admin_port), "--policy", policy]
    for name, address in backends.items():
        args += ["--backend", f"{name}={address}"]
    return spawn_module("millionscale.lb", *args, env={**os.environ, "LB_ADMIN_TOKEN": TOKEN})


def every_backend_serving(status: object) -> bool:
    """From the admin API's backend list, if it has the shape we know; else assume so."""
    backends = status.get("backends") if isinstance(status, dict) else None
    if not isinstance(backends, list):
        return True
    return all(b.get("serving", True) for b in backends if isinstance(b, dict))


def ready(port: int, admin_port: int) -> bool:
    """The balancer answers ``GET /`` and its admin API says every backend serves
    (or cannot say)."""
    if httpx.get(f"http://127.0.0.1:{port}/", timeout=5).status_code != 200:
        return False
    try:
        status = httpx.get(
            f"http://127.0.0.1:{admin_port}/backends",
            headers={"Authorization": f"Bearer {TOKEN}"},
            timeout=5,
        )
        return every_backend_serving(status.json())
    except (httpx.HTTPError, ValueError):
        return True


@pytest.mark.parametrize(
    ("policy", "least", "most"), [("round-robin", 0.30, 0.40), ("p2c-ewma", 0.0, 0.20)]
)
def test_a_server_slowed_by_the_fault_proxy_gets_a_smaller_share_under_ewma(
    web, policy, least, most
):
    fast_1, fast_2, slowed = web
    port, admin_port = free_port(), free_port()

    async def scenario() -> list[int]:
        faults = Faults(downstream=Link(latency_s=ADDED_LATENCY_S))
        async with (
            FaultProxy(("127.0.0.1", slowed.port), faults=faults) as proxy,
            httpx.AsyncClient(timeout=10) as client,
        ):
            backends = {
                "fast-1": f"127.0.0.1:{fast_1.port}",
                "fast-2": f"127.0.0.1:{fast_2.port}",
                "slowed": proxy.address,
            }
            with start_balancer(port, admin_port, backends, policy) as balancer:
                await asyncio.to_thread(
                    wait_ready, lambda: ready(port, admin_port), 20, process=balancer.process
                )
                before = [await served(client, w.port) for w in web]
                remaining = iter(range(REQUESTS))

                async def worker() -> None:
                    for _ in remaining:
                        reply = await client.get(f"http://127.0.0.1:{port}/")
                        assert reply.status_code == 200

                async with asyncio.timeout(60):  # bounded in time as in count
                    await asyncio.gather(*(worker() for _ in range(CONCURRENCY)))
                after = [await served(client, w.port) for w in web]
        return [a - b for a, b in zip(after, before, strict=True)]

    counts = asyncio.run(scenario())

    assert sum(counts) == REQUESTS
    share = counts[2] / REQUESTS
    assert least <= share <= most, f"{policy}: the slowed server got {counts[2]} of {REQUESTS}"
