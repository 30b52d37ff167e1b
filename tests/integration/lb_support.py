"""Real sockets for the balancer's tests: echo and scripted backends and a balancer, on loopback."""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine
from dataclasses import dataclass, field
from typing import Any, Protocol, TypeVar

import uvloop

from millionscale.lb import Balancer
from millionscale.lb.http import HttpLimits, Reply, Request, serve

T = TypeVar("T")
# The balancer process runs on uvloop; tests run their scenarios on both loops.
LOOPS = ("asyncio", "uvloop")


def run_on(loop: str, scenario: Coroutine[Any, Any, T]) -> T:
    return uvloop.run(scenario) if loop == "uvloop" else asyncio.run(scenario)


@dataclass
class Echo:
    """A backend that answers every request with what it received, after ``delay_s``."""

    name: str
    delay_s: float = 0.0
    seen: list[Request] = field(default_factory=list)
    server: asyncio.Server | None = None

    @property
    def port(self) -> int:
        assert self.server is not None
        return int(self.server.sockets[0].getsockname()[1])

    async def handle(self, request: Request) -> Reply:
        self.seen.append(request)
        if request.target.startswith(b"/readyz"):
            return Reply(200, [], b"ok")
        await asyncio.sleep(self.delay_s)
        body = json.dumps(
            {
                "backend": self.name,
                "target": request.target.decode("latin-1"),
                "headers": {k.decode(): v.decode() for k, v in request.headers},
                "body": len(request.body),
            }
        ).encode()
        return Reply(200, [(b"content-type", b"application/json")], body)

    async def start(self) -> None:
        self.server = await serve(self.handle, "127.0.0.1", 0)

    def served(self) -> int:
        return sum(1 for r in self.seen if not r.target.startswith(b"/readyz"))


@dataclass
class Head:
    """A request head as a scripted backend read it."""

    line: bytes
    headers: dict[bytes, bytes]  # lower-cased names; the last value of a repeated one
    raw: bytes

    @property
    def target(self) -> bytes:
        return self.line.split(b" ")[1]


Script = Callable[[Head, asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]


async def read_head(reader: asyncio.StreamReader) -> Head:
    raw = await reader.readuntil(b"\r\n\r\n")
    line, *fields = raw[:-4].split(b"\r\n")
    headers = {}
    for text in fields:
        name, _, value = text.partition(b":")
        headers[name.strip().lower()] = value.strip()
    return Head(line, headers, raw)


async def read_body(reader: asyncio.StreamReader, head: Head) -> bytes:
    """The request body as framed by Content-Length or chunked coding."""
    if head.headers.get(b"transfer-encoding", b"").lower().endswith(b"chunked"):
        body = bytearray()
        while True:
            size = int((await reader.readuntil(b"\r\n"))[:-2].split(b";")[0], 16)
            if size == 0:
                await reader.readuntil(b"\r\n")  # no trailers from the balancer
                return bytes(body)
            body += await reader.readexactly(size)
            await reader.readexactly(2)
    return await reader.readexactly(int(head.headers.get(b"content-length", b"0")))


@dataclass
class Scripted:
    """A backend whose answers a test writes byte by byte: ``script(head, reader, writer)``
    runs for every request but health checks (answered 200), on kept-alive connections
    until the script closes the writer."""

    name: str
    script: Script
    heads: list[Head] = field(default_factory=list)
    server: asyncio.Server | None = None

    @property
    def port(self) -> int:
        assert self.server is not None
        return int(self.server.sockets[0].getsockname()[1])

    async def _connection(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while not writer.is_closing():
                head = await read_head(reader)
                if head.target.startswith(b"/readyz"):
                    writer.write(b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok")
                    writer.close()
                    return
                self.heads.append(head)
                await self.script(head, reader, writer)
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()

    async def start(self) -> None:
        self.server = await asyncio.start_server(self._connection, "127.0.0.1", 0)

    def served(self) -> int:
        return len(self.heads)


class Backend(Protocol):
    name: str

    @property
    def port(self) -> int: ...

    @property
    def server(self) -> asyncio.Server | None: ...

    async def start(self) -> None: ...


@contextlib.asynccontextmanager
async def balancing(
    backends: list[Echo] | list[Scripted] | list[Backend],
    *,
    policy: str = "p2c-ewma",
    limits: HttpLimits | None = None,
) -> AsyncIterator[tuple[Balancer, int]]:
    """A balancer over ``backends`` (started here) on a free port; yields it and the port."""
    for backend in backends:
        await backend.start()
    balancer = Balancer(policy=policy)
    for backend in backends:
        balancer.add(backend.name, "127.0.0.1", backend.port, initial=True)
    balancer.start()
    server = await balancer.serve("127.0.0.1", 0, limits=limits or HttpLimits())
    try:
        yield balancer, int(server.sockets[0].getsockname()[1])
    finally:
        server.close()
        await balancer.stop()
        for backend in backends:
            if backend.server is not None:
                backend.server.close()


async def raw(port: int, data: bytes, *, pause_s: float = 0.0, timeout_s: float = 5.0) -> bytes:
    """Send ``data`` (then wait ``pause_s``) and return everything the server answers."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        writer.write(data)
        await writer.drain()
        if pause_s:
            await asyncio.sleep(pause_s)
        async with asyncio.timeout(timeout_s):
            return await reader.read()
    finally:
        writer.close()


def status_of(answer: bytes) -> int | None:
    parts = answer.split(b" ", 2)
    return int(parts[1]) if answer.startswith(b"HTTP/1.1 ") and parts[1].isdigit() else None
