"""The active health checker: one task that checks every backend when its health core says.

:class:`HealthChecker` runs as the balancer's ``lb-health`` task (from
``Balancer.start`` to ``stop``). Every 50 ms it looks at each backend:

- **A check is due** when :attr:`~.health.HealthCheck.next_check_at` comes
  and none is running for that backend: it GETs the balancer's check path
  (``/readyz``) on a connection of its own (``connection: close``, never a
  pooled one), within the health policy's ``check_timeout_s``. A 2xx status
  line passes; another status, a refused or reset connection, a close before
  the status line or the timeout fails. The result goes to
  :meth:`~.health.HealthCheck.on_check`; a change of state is logged with its
  sentence and sets the ``healthy`` gauge. A check that ends after its
  backend was removed (and maybe added again under the same name: a new
  record) is dropped.
- **A draining backend** is polled (:meth:`~.health.HealthCheck.poll_drain`
  with its outstanding requests) and removed once nothing is in flight or
  the drain timed out.
- **Every** ``SWEEP_S`` the pools are swept (:meth:`.backend.Backend.sweep`).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import cast

import structlog

from millionscale.lb.backend import SWEEP_S, Backend
from millionscale.lb.health import State
from millionscale.lb.metrics import HEALTHY

__all__ = ["HealthChecker"]

log = structlog.get_logger()


class HealthChecker:
    """The checks of the balancer's ``backends`` (its own dict, read live as it changes).

    ``remove`` takes a drained backend out of the balancer; ``tasks`` is the
    balancer's set of tasks, which holds each running check (``stop`` cancels
    them).
    """

    def __init__(
        self,
        backends: dict[str, Backend],
        *,
        check_path: str,
        clock: Callable[[], float],
        remove: Callable[[str], None],
        tasks: set[asyncio.Task[None]],
    ) -> None:
        self._backends = backends
        self._clock = clock
        self._remove = remove
        self._tasks = tasks
        self._check_head = f"GET {check_path} HTTP/1.1\r\nhost: "

    async def run(self) -> None:
        """Check, poll drains and sweep, until cancelled."""
        swept = self._clock()
        while True:
            now = self._clock()
            for backend in list(self._backends.values()):
                if backend.health.state is State.DRAINING:
                    transition = backend.health.poll_drain(backend.outstanding, now)
                    if transition.after is State.REMOVED:
                        log.info(transition.reason, backend=backend.name)
                        self._remove(backend.name)
                        continue
                if not backend.checking and now >= backend.health.next_check_at:
                    backend.checking = True
                    task = asyncio.create_task(self.check(backend))
                    self._tasks.add(task)
                    task.add_done_callback(self._tasks.discard)
            if now - swept >= SWEEP_S:
                swept = now
                for backend in self._backends.values():
                    backend.sweep()
            await asyncio.sleep(0.05)

    async def check(self, backend: Backend) -> None:
        """Check ``backend`` once and feed its health core the result (dropped if the
        backend was removed meanwhile)."""
        ok = False
        loop = asyncio.get_running_loop()
        try:
            async with asyncio.timeout(backend.health.policy.check_timeout_s):
                answered: asyncio.Future[bytes] = loop.create_future()
                request = (
                    f"{self._check_head}{backend.address}\r\nconnection: close\r\n\r\n".encode()
                )
                transport, _ = await loop.create_connection(
                    lambda: _Check(request, answered), backend.host, backend.port
                )
                try:
                    status = (await answered).split(b" ", 2)
                    ok = len(status) > 1 and status[1].startswith(b"2")
                finally:
                    transport.close()
        except (OSError, TimeoutError, ConnectionError):
            ok = False
        finally:
            backend.checking = False
        if self._backends.get(backend.name) is not backend:
            return  # removed while checked (and maybe added again: a new record)
        transition = backend.health.on_check(ok, self._clock())
        if transition.changed:
            log.info(transition.reason, backend=backend.name)
            HEALTHY.labels(backend.name).set(1 if backend.health.serving else 0)


class _Check(asyncio.Protocol):
    """A health check's connection: sends the request, resolves with the status line."""

    def __init__(self, request: bytes, answered: asyncio.Future[bytes]) -> None:
        self._request = request
        self._answered = answered
        self._received = b""

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        cast(asyncio.Transport, transport).write(self._request)

    def data_received(self, data: bytes) -> None:
        self._received += data
        line, found, _ = self._received.partition(b"\r\n")
        if (found or len(self._received) > 1024) and not self._answered.done():
            self._answered.set_result(line)

    def connection_lost(self, exc: Exception | None) -> None:
        if not self._answered.done():
            self._answered.set_exception(ConnectionError("closed before a status line"))
