"""Real sockets for the balancer's tests: echo backends and a balancer, on loopback."""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

from millionscale.lb.http import HttpLimits, Reply, Request, serve_connection
from millionscale.lb.proxy import Balancer


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
                "headers": {k.decode(): v.decode() for k, v in request.headers},
                "body": len(request.body),
            }
        ).encode()
        return Reply(200, [(b"content-type", b"application/json")], body)

    async def start(self) -> None:
        self.server = await asyncio.start_server(
            lambda r, w: serve_connection(r, w, self.handle), "127.0.0.1", 0
        )

    def served(self) -> int:
        return sum(1 for r in self.seen if not r.target.startswith(b"/readyz"))


@contextlib.asynccontextmanager
async def balancing(
    backends: list[Echo], *, policy: str = "p2c-ewma", limits: HttpLimits | None = None
) -> AsyncIterator[tuple[Balancer, int]]:
    """A balancer over ``backends`` (started here) on a free port; yields it and the port."""
    for backend in backends:
        await backend.start()
    balancer = Balancer(policy=policy)
    for backend in backends:
        balancer.add(backend.name, "127.0.0.1", backend.port, initial=True)
    balancer.start()
    server = await asyncio.start_server(
        lambda r, w: serve_connection(r, w, balancer.handle, limits or HttpLimits()),
        "127.0.0.1",
        0,
    )
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
