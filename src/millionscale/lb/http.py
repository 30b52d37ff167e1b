"""A small HTTP server for whole requests: the balancer's admin API, and test backends.

:func:`serve` runs the balancer's own connection code
(:class:`.connection.ServerConnection`, with its limits and refusals) in a
simpler model: each request is read whole (up to the body limit) and an
``async`` :data:`Handler` returns a :class:`Reply`. A handler that raises
answers 500 ``{"detail": "internal error"}``; the connection keeps its order
and keep-alive rules.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

import structlog

from millionscale.lb.answers import status_line
from millionscale.lb.connection import Exchange, NullExchange, ServerConnection
from millionscale.lb.head import RequestHead
from millionscale.lb.headers import header_block
from millionscale.lb.limits import HttpLimits  # serve()'s, re-exported with it

__all__ = [
    "Handler",
    "HttpLimits",
    "Reply",
    "Request",
    "error_reply",
    "reply_bytes",
    "serve",
]

log = structlog.get_logger()
_LIMITS = HttpLimits()


@dataclass(frozen=True, slots=True)
class Request:
    method: str
    target: bytes
    headers: list[tuple[bytes, bytes]]  # names lower-cased
    body: bytes
    peer: str  # the client's address
    keep_alive: bool


@dataclass(slots=True)
class Reply:
    status: int
    headers: list[tuple[bytes, bytes]] = field(default_factory=list)
    body: bytes = b""


Handler = Callable[[Request], Awaitable[Reply]]


def error_reply(status: int, reason: str) -> Reply:
    """An admin API's JSON error: ``{"detail": reason}``, as every error of ours."""
    body = (json.dumps({"detail": reason}) + "\n").encode()
    return Reply(status, [(b"content-type", b"application/json")], body)


def reply_bytes(reply: Reply, *, keep_alive: bool, head_only: bool = False) -> bytes:
    """A whole answer: ``Content-Length`` computed, hop-by-hop fields left out."""
    drop = frozenset({b"content-length", b"transfer-encoding"})
    return b"".join(
        (
            status_line(reply.status),
            header_block(reply.headers, drop=drop),
            b"content-length: %d\r\n" % len(reply.body),
            b"" if keep_alive else b"connection: close\r\n",
            b"\r\n",
            b"" if head_only else reply.body,
        )
    )


class _Handled(NullExchange):
    """One whole request run through a :data:`Handler` (an :class:`Exchange`)."""

    __slots__ = ("_conn", "_task")

    def __init__(self, conn: ServerConnection, request: Request, handler: Handler) -> None:
        self._conn = conn
        self._task = asyncio.get_running_loop().create_task(self._run(request, handler))

    async def _run(self, request: Request, handler: Handler) -> None:
        try:
            reply = await handler(request)
        except Exception:
            log.exception("lb: handler failed", target=request.target.decode("latin-1"))
            reply = error_reply(500, "internal error")
        head_only = request.method == "HEAD"
        self._conn.write(reply_bytes(reply, keep_alive=request.keep_alive, head_only=head_only))
        self._conn.finish(request.keep_alive)

    def abort(self) -> None:
        self._task.cancel()


async def serve(
    handler: Handler,
    host: str,
    port: int,
    *,
    limits: HttpLimits = _LIMITS,
    backlog: int = 100,
) -> asyncio.Server:
    """A listening server whose requests, read whole, go to ``handler``."""

    def start(conn: ServerConnection, head: RequestHead, chunks: list[bytes], _: bool) -> Exchange:
        request = Request(
            head.method,
            head.target,
            [(name.lower(), value) for name, value in head.headers],
            b"".join(chunks),
            conn.peer.decode(),
            head.keep_alive,
        )
        return _Handled(conn, request, handler)

    loop = asyncio.get_running_loop()
    return await loop.create_server(
        lambda: ServerConnection(start, limits, buffer_bytes=limits.max_body_bytes),
        host,
        port,
        backlog=backlog,
    )
