"""Real sockets for the edge's tests: a scripted origin, edges on loopback, a raw client.

The origin is a small asyncio server on port 0 whose answers each test writes
as bytes (:func:`answer` builds a well-formed one) and which counts what it
is asked. Edges run in the test's event loop with an injected clock
(:class:`Clock`): freshness moves when the test says so, never by sleeping.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field

from lb_support import Head, read_body, read_head

from millionscale.cdn.edge import Edge
from millionscale.cdn.settings import EdgeSettings

T0 = 1_800_000_000.0  # the clock's start (2027): a wall-clock time, as HTTP dates are


@dataclass
class Clock:
    now: float = T0

    def __call__(self) -> float:
        return self.now

    def jump(self, seconds: float) -> None:
        self.now += seconds


def answer(
    body: bytes = b"hello", *fields: tuple[bytes, bytes], status: bytes = b"200 OK"
) -> bytes:
    """A whole HTTP/1.1 response with ``Content-Length``."""
    lines = b"".join(name + b": " + value + b"\r\n" for name, value in fields)
    return b"HTTP/1.1 %b\r\ncontent-length: %d\r\n%b\r\n%b" % (status, len(body), lines, body)


Script = Callable[[Head], Awaitable[bytes] | bytes]


@dataclass
class Origin:
    """An origin whose every answer is ``script(head)`` (bytes written as they are); an
    answer of ``b""`` closes the connection without a word (``close``: after every
    answer). ``gate``, when set, holds
    every answer until the test sets it."""

    script: Script = lambda _head: answer()
    heads: list[Head] = field(default_factory=list)
    bodies: list[bytes] = field(default_factory=list)
    gate: asyncio.Event | None = None
    close: bool = False  # close the connection after every answer
    server: asyncio.Server | None = None
    writers: set[asyncio.StreamWriter] = field(default_factory=set)

    @property
    def port(self) -> int:
        assert self.server is not None
        return int(self.server.sockets[0].getsockname()[1])

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def fetches(self, target: bytes | None = None) -> int:
        return sum(1 for head in self.heads if target is None or head.target == target)

    async def _connection(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.writers.add(writer)
        try:
            while not writer.is_closing():
                head = await read_head(reader)
                self.bodies.append(await read_body(reader, head))
                self.heads.append(head)
                if self.gate is not None:
                    await self.gate.wait()
                out = self.script(head)
                data = out if isinstance(out, bytes) else await out
                if not data:
                    break
                writer.write(data)
                await writer.drain()
                if self.close:
                    break
        except (asyncio.IncompleteReadError, ConnectionError, asyncio.LimitOverrunError):
            pass
        except asyncio.CancelledError:
            return
        finally:
            self.writers.discard(writer)
            writer.close()

    async def start(self) -> Origin:
        self.server = await asyncio.start_server(self._connection, "127.0.0.1", 0)
        return self

    async def stop(self) -> None:
        """Stop listening and cut every connection (kept-alive ones too): the origin is gone."""
        if self.server is not None:
            self.server.close()
        for writer in list(self.writers):
            writer.transport.abort()


@contextlib.asynccontextmanager
async def running_edge(
    origin_url: str, clock: Clock | None = None, **settings: object
) -> AsyncIterator[tuple[Edge, int]]:
    """An edge in front of ``origin_url`` on a free port; yields it and the port."""
    base = EdgeSettings(origin=origin_url, memory_bytes=8 << 20, max_object_bytes=1 << 20)
    edge = Edge(dataclasses.replace(base, **settings), clock=clock or Clock())  # type: ignore[arg-type]
    edge.start()
    server = await edge.serve("127.0.0.1", 0)
    try:
        yield edge, int(server.sockets[0].getsockname()[1])
    finally:
        await edge.stop(grace_s=1.0)


@dataclass
class Answer:
    status: int
    headers: dict[bytes, bytes]  # lower-case names; the last value of a repeated one
    body: bytes
    raw: bytes


def parse(raw: bytes, *, head_request: bool = False) -> Answer:
    """One answer (head and body by Content-Length) from ``raw``."""
    head, _, rest = raw.partition(b"\r\n\r\n")
    line, *lines = head.split(b"\r\n")
    headers = {}
    for text in lines:
        name, _, value = text.partition(b":")
        headers[name.strip().lower()] = value.strip()
    length = int(headers.get(b"content-length", b"0"))
    body = b"" if head_request else rest[:length]
    return Answer(int(line.split(b" ")[1]), headers, body, raw)


async def get(
    port: int,
    target: bytes = b"/a",
    *fields: tuple[bytes, bytes],
    method: bytes = b"GET",
    host: bytes = b"example.com",
    body: bytes = b"",
    timeout_s: float = 10.0,
) -> Answer:
    """One request on a new connection (``Connection: close``); its answer."""
    lines = b"".join(name + b": " + value + b"\r\n" for name, value in fields)
    length = b"content-length: %d\r\n" % len(body) if body else b""
    data = b"%b %b HTTP/1.1\r\nhost: %b\r\n%b%bconnection: close\r\n\r\n%b" % (
        method,
        target,
        host,
        lines,
        length,
        body,
    )
    return parse(await send(port, data, timeout_s=timeout_s), head_request=method == b"HEAD")


async def send(port: int, data: bytes, *, timeout_s: float = 10.0) -> bytes:
    """``data`` as it is; everything the edge answers until it closes."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        writer.write(data)
        await writer.drain()
        async with asyncio.timeout(timeout_s):
            return await reader.read()
    finally:
        writer.close()


async def until(condition: Callable[[], bool], *, timeout_s: float = 10.0) -> None:
    """Wait, yielding to the loop, until ``condition()`` holds (a state other tasks reach)."""
    async with asyncio.timeout(timeout_s):
        while not condition():  # noqa: ASYNC110 - the state is the edge's counters
            await asyncio.sleep(0.005)
