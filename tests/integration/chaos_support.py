"""Real servers on loopback for the fault proxy's tests: an echo server and HTTP processes.

Every wait here is bounded in count and time; every process started here is
stopped here (its own process group, which it leads).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import subprocess
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field

import httpx

from millionscale.servers.server import free_port
from millionscale.testing import Metrics, spawn_module, wait_ready

START_TIMEOUT_S = 20.0


@dataclass
class Echo:
    """A TCP echo server: writes back what it reads, passes EOF on, counts resets."""

    resets: int = 0
    connections: int = 0
    server: asyncio.Server | None = None
    tasks: set[asyncio.Task[None]] = field(default_factory=set)

    @property
    def port(self) -> int:
        assert self.server is not None
        return int(self.server.sockets[0].getsockname()[1])

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        try:
            while data := await reader.read(64 * 1024):
                writer.write(data)
                await writer.drain()
            writer.write_eof()
            await writer.drain()
        except ConnectionError:
            self.resets += 1
        finally:
            writer.close()

    def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.create_task(self._serve(reader, writer))
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)


@contextlib.asynccontextmanager
async def echo_server() -> AsyncIterator[Echo]:
    echo = Echo()
    echo.server = await asyncio.start_server(echo._accept, "127.0.0.1", 0)
    try:
        yield echo
    finally:
        echo.server.close()
        for task in list(echo.tasks):
            task.cancel()
        await asyncio.gather(*echo.tasks, return_exceptions=True)


async def round_trip(
    reader: asyncio.StreamReader, writer: asyncio.StreamWriter, data: bytes, timeout_s: float = 5
) -> float:
    """Send ``data`` through an echo and wait for it to come back; the seconds it took."""
    started = time.monotonic()
    writer.write(data)
    await writer.drain()
    async with asyncio.timeout(timeout_s):
        back = await reader.readexactly(len(data))
    assert back == data
    return time.monotonic() - started


async def echoes(port: int, timeout_s: float = 2.0) -> bool:
    """Whether a new connection to ``port`` echoes a byte within ``timeout_s``."""
    try:
        async with asyncio.timeout(timeout_s):
            reader, writer = await asyncio.open_connection("127.0.0.1", port)
            try:
                await round_trip(reader, writer, b"?")
            finally:
                writer.close()
    except (OSError, TimeoutError, asyncio.IncompleteReadError):
        return False
    return True


@dataclass
class HttpProcess:
    """A placeholder web process (``millionscale.web.placeholder``, no database)."""

    port: int
    process: subprocess.Popen[bytes]


@contextlib.contextmanager
def http_servers(count: int) -> Iterator[list[HttpProcess]]:
    """``count`` placeholder web processes on free loopback ports, answering when yielded."""
    env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
    with contextlib.ExitStack() as stack:
        servers: list[HttpProcess] = []
        for i in range(count):
            port = free_port()
            args = ("--port", str(port), "--name", f"web-{i + 1}")
            child = stack.enter_context(
                spawn_module("millionscale.web.placeholder", *args, env=env)
            )
            servers.append(HttpProcess(port, child.process))
        for server in servers:
            url = f"http://127.0.0.1:{server.port}/healthz"
            wait_ready(url, START_TIMEOUT_S, process=server.process)
        yield servers


async def served(client: httpx.AsyncClient, port: int) -> int:
    """How many ``GET /`` the placeholder on ``port`` has answered 2xx (from its metrics)."""
    text = (await client.get(f"http://127.0.0.1:{port}/metrics", timeout=5)).text
    labels = {"method": "GET", "route": "/", "status": "2xx"}
    return int(Metrics.parse(text).sample("http_requests_total", labels, default=0.0))
