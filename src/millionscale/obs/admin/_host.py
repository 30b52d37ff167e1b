"""One way to host an admin API: a Starlette app with the house's routes, on uvicorn.

- :func:`admin_app` builds the app: the caller's routes behind the
  :class:`~._guard.BearerGuard`, plus open ``/healthz``, ``/readyz`` (the
  caller's readiness callback) and ``/metrics`` (the process's Prometheus
  registry), request metrics by route template, and every refusal as
  ``{"detail": reason}`` (:mod:`._errors`).
- :func:`listen` binds the socket up front, so a port that is taken is a
  :class:`~millionscale.errors.ConfigError` with a hint before anything starts
  (uvicorn would log it and exit the interpreter).
- :func:`serve_app` runs the app on that socket inside the caller's event loop
  until ``stop`` is set, or, with no ``stop``, until SIGTERM or SIGINT. Stopping
  is graceful: the socket stops accepting, requests in flight get
  :data:`SHUTDOWN_GRACE_S` to be answered, then the app's lifespan ends.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
import socket
from collections.abc import AsyncIterator, Callable, Iterator, Sequence

import uvicorn
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.routing import BaseRoute
from starlette.types import ASGIApp

from millionscale.errors import ConfigError
from millionscale.obs.admin._errors import exception_handlers
from millionscale.obs.admin._guard import OPEN_PATHS, BearerGuard
from millionscale.obs.health import ReadyCheck, health_routes
from millionscale.obs.metrics import MetricsMiddleware

__all__ = ["SHUTDOWN_GRACE_S", "admin_app", "listen", "serve_app"]

# Ours: on SIGTERM, admin requests in flight get this long (uvicorn's default has no
# limit; Kubernetes gives a whole pod 30 s). A switchover answers within 10 s + promotion.
SHUTDOWN_GRACE_S = 15.0
BACKLOG = 128  # an admin port sees a handful of operators, not traffic


def admin_app(
    routes: Sequence[BaseRoute],
    *,
    token: str,
    ready: ReadyCheck | None = None,
    lifespan: Callable[[Starlette], contextlib.AbstractAsyncContextManager[None]] | None = None,
) -> Starlette:
    """An admin API: ``routes`` want ``Bearer <token>``; health, readiness, metrics do not.

    ``ready`` decides ``/readyz`` (None: ready whenever it answers).
    """
    open_routes = health_routes() if ready is None else health_routes(ready)
    return Starlette(
        routes=[*routes, *open_routes],
        middleware=[
            Middleware(MetricsMiddleware),
            Middleware(BearerGuard, token=token, open_paths=OPEN_PATHS),
        ],
        exception_handlers=exception_handlers(),
        lifespan=lifespan,
    )


def listen(host: str, port: int, what: str) -> socket.socket:
    """A listening TCP socket on ``host:port`` (0: any free port) for ``what``."""
    try:
        family = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0][0]
        sock = socket.socket(family, socket.SOCK_STREAM)
    except OSError as error:
        raise ConfigError(f"cannot use {host}:{port} for the {what}: {error}") from None
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
        sock.listen(BACKLOG)
    except OSError as error:
        sock.close()
        raise ConfigError(
            f"cannot listen on {host}:{port} for the {what}: {error.strerror or error}",
            hint="choose another port",
        ) from None
    sock.setblocking(False)
    return sock


class _Server(uvicorn.Server):
    """uvicorn inside our event loop; our signal handling, not its, stops it."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


async def serve_app(
    app: ASGIApp,
    sock: socket.socket,
    *,
    stop: asyncio.Event | None = None,
    grace_s: int = int(SHUTDOWN_GRACE_S),
) -> None:
    """Serve ``app`` on ``sock`` (TCP or Unix) until ``stop`` is set (None: until SIGTERM
    or SIGINT); requests in flight then get ``grace_s`` seconds to be answered.

    Returns once the server has shut down gracefully (and closed ``sock``).
    """
    config = uvicorn.Config(
        app, log_config=None, access_log=False, lifespan="on", timeout_graceful_shutdown=grace_s
    )
    server = _Server(config)
    async with _stop_event(stop) as stopping:
        serving = asyncio.create_task(server.serve(sockets=[sock]))
        waiting = asyncio.create_task(stopping.wait())
        try:
            await asyncio.wait({serving, waiting}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            server.should_exit = True
            waiting.cancel()
            await serving
    sock.close()


@contextlib.asynccontextmanager
async def _stop_event(stop: asyncio.Event | None) -> AsyncIterator[asyncio.Event]:
    """``stop``, or an event SIGTERM and SIGINT set while the block runs."""
    if stop is not None:
        yield stop
        return
    event = asyncio.Event()
    loop = asyncio.get_running_loop()
    signals = (signal.SIGTERM, signal.SIGINT)
    for sig in signals:
        loop.add_signal_handler(sig, event.set)
    try:
        yield event
    finally:
        for sig in signals:
            loop.remove_signal_handler(sig)
