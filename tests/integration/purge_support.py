"""A fake CDN edge's admin API for the purge tests: a real HTTP peer on loopback, port 0.

:class:`FakeEdge` serves ``POST /v1/purge`` behind the house's bearer guard
(:func:`millionscale.obs.admin.admin_app`) on its own thread and event loop, so
that sync tests (the photo app's TestClient, the CLI) and async ones use it
alike. It records every purge body it accepts in :attr:`FakeEdge.purges` (a
queue a test awaits with a timeout, never a sleep) and answers
``{"purged": count}``; :meth:`FakeEdge.fail` makes its next answers 503s,
:meth:`FakeEdge.hold` makes it never answer.
"""

from __future__ import annotations

import asyncio
import queue
import threading
from dataclasses import dataclass, field
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from millionscale.discovery import Member, StaticDiscovery
from millionscale.obs.admin import admin_app, listen, serve_app

TOKEN = "test-token-for-the-fake-edges"
WAIT_S = 10.0  # how long a test waits for a purge to arrive before it fails


@dataclass
class FakeEdge:
    name: str = "edge-1"
    count: int = 1  # what it answers as purged
    role: str = "edge"
    token: str = TOKEN
    purges: queue.Queue[dict[str, Any]] = field(default_factory=queue.Queue)
    order: list[str] | None = None  # shared between edges: who got a purge, in order
    bind: int = 0  # the port to listen on (0: any free one)
    _failures: int = 0
    _held: bool = False
    _port: int = 0
    _loop: asyncio.AbstractEventLoop | None = None
    _stop: asyncio.Event | None = None
    _thread: threading.Thread | None = None
    _release: asyncio.Event | None = None

    @property
    def port(self) -> int:
        return self._port

    def member(self, **changes: Any) -> Member:
        fields: dict[str, Any] = {
            "name": self.name,
            "tier": "cdn",
            "host": "127.0.0.1",
            "ports": {"main": 1, "admin": self.port},
            "role": self.role,
        }
        return Member(**(fields | changes))

    def fail(self, times: int) -> None:
        """Answer the next ``times`` purges with 503."""
        self._failures = times

    def hold(self) -> None:
        """Take purges and never answer them (until stopped)."""
        self._held = True

    def next_purge(self) -> dict[str, Any]:
        return self.purges.get(timeout=WAIT_S)

    async def _purge(self, request: Request) -> Response:
        body = await request.json()
        if self._failures:
            self._failures -= 1
            return JSONResponse({"detail": "busy"}, status_code=503)
        if self._held:
            assert self._release is not None
            await self._release.wait()
        if self.order is not None:
            self.order.append(self.name)
        self.purges.put(body)
        return JSONResponse({"purged": self.count})

    def start(self) -> FakeEdge:
        ready = threading.Event()
        sock = listen("127.0.0.1", self.bind, "fake edge")
        self._port = sock.getsockname()[1]

        async def run() -> None:
            self._loop = asyncio.get_running_loop()
            self._stop = asyncio.Event()
            self._release = asyncio.Event()
            app = admin_app([Route("/v1/purge", self._purge, methods=["POST"])], token=self.token)
            ready.set()
            await serve_app(app, sock, stop=self._stop, grace_s=0)

        self._thread = threading.Thread(target=asyncio.run, args=(run(),), daemon=True)
        self._thread.start()
        ready.wait(WAIT_S)
        return self

    def stop(self) -> None:
        if self._loop is not None and self._stop is not None and self._release is not None:
            self._loop.call_soon_threadsafe(self._release.set)
            self._loop.call_soon_threadsafe(self._stop.set)
        if self._thread is not None:
            self._thread.join(WAIT_S)

    def __enter__(self) -> FakeEdge:
        return self.start()

    def __exit__(self, *_: object) -> None:
        self.stop()


def discovery_of(*edges: FakeEdge, **extra: Member) -> StaticDiscovery:
    return StaticDiscovery.of([*(edge.member() for edge in edges), *extra.values()])


async def no_sleep(_seconds: float) -> None:
    """The pause between attempts, skipped (tests never wait on the wall clock)."""
