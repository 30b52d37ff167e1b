"""The generator and the aiohttp transport against a real HTTP server on 127.0.0.1.

The server is aiohttp's own, bound to port 0 in the test's event loop. Only
loopback traffic; each run is a couple of seconds at a modest rate.
"""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager

import pytest
from aiohttp import web

from millionscale.bench.generator import run_open_loop
from millionscale.bench.http import HttpTransport, classify_exception
from millionscale.bench.outcome import Outcome
from millionscale.bench.recorder import Summary

pytestmark = pytest.mark.integration


@asynccontextmanager
async def local_server(peers: set[tuple[str, int]]) -> AsyncIterator[str]:
    """A tiny server on 127.0.0.1: /ok, /fail (500), /slow (1 s); ``peers`` collects client ports."""

    async def ok(request: web.Request) -> web.Response:
        if request.transport is not None:
            peers.add(request.transport.get_extra_info("peername")[:2])
        return web.Response(text="ok")

    async def fail(_request: web.Request) -> web.Response:
        return web.Response(status=500, text="broken")

    async def slow(_request: web.Request) -> web.Response:
        await asyncio.sleep(1.0)
        return web.Response(text="late")

    app = web.Application()
    app.add_routes([web.get("/ok", ok), web.get("/fail", fail), web.get("/slow", slow)])
    runner = web.AppRunner(app, shutdown_timeout=0.5)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        await runner.cleanup()


def getter(transport: HttpTransport, path: str) -> Callable[[], Awaitable[Outcome]]:
    async def send() -> Outcome:
        try:
            answer = await transport.request("GET", path)
        except Exception as error:
            return Outcome.failed(classify_exception(error))
        return Outcome(answer.error)

    return send


def run(
    path: str, rate: float, duration_s: float, *, timeout_s: float = 5.0, base: str | None = None
) -> tuple[Summary, set[tuple[str, int]]]:
    peers: set[tuple[str, int]] = set()

    async def main() -> Summary:
        async with (
            local_server(peers) as url,
            HttpTransport(base or url, timeout_s=timeout_s) as transport,
        ):
            recorder = await run_open_loop(
                rate, duration_s, getter(transport, path), drain_timeout_s=3.0
            )
        return recorder.summary()

    return asyncio.run(main()), peers


def test_throughput_matches_the_rate_with_no_errors():
    summary, _ = run("/ok", rate=100.0, duration_s=2.0)

    assert summary.requests == 200
    assert summary.error_count == 0
    assert summary.throughput == pytest.approx(100.0, rel=0.1)
    assert summary.latency_ms.p99 is not None
    assert summary.latency_ms.p99 < 500.0
    assert [w.t for w in summary.timeline] == [0, 1]


def test_connections_are_kept_alive_and_reused():
    summary, peers = run("/ok", rate=100.0, duration_s=0.5)

    assert summary.error_count == 0
    assert len(peers) <= 10  # 50 requests over a handful of pooled connections


def test_server_errors_count_as_status_5xx_and_are_timed():
    summary, _ = run("/fail", rate=20.0, duration_s=0.5)

    assert summary.errors_of("status_5xx") == 10
    assert summary.latency_ms.max is not None


def test_answers_slower_than_the_timeout_count_as_timeout():
    summary, _ = run("/slow", rate=10.0, duration_s=0.3, timeout_s=0.2)

    assert summary.errors_of("timeout") == 3
    assert summary.throughput == 0.0


def test_a_port_nobody_listens_on_counts_as_connect():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        closed = f"http://127.0.0.1:{probe.getsockname()[1]}"

    summary, _ = run("/ok", rate=20.0, duration_s=0.25, base=closed)

    assert summary.errors_of("connect") == 5
