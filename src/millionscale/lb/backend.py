"""One backend as the balancer keeps it, and its pool of kept-alive connections.

A :class:`Backend` holds what the shell knows of one backend: its address
and weight, the cores' state for it (its :class:`~.health.HealthCheck`, its
latency :class:`~.policies.Ewma`), the requests outstanding on it, its
metrics (:class:`~.metrics.BackendMetrics`), and its pool of idle
:class:`~.upstream.Upstream` connections. The balancer makes one per member
(``Balancer.add``) with the pool's knobs from its
:class:`~.settings.BalancerSettings`.

The pool's rules:

- **LIFO.** :meth:`Backend.checkout` gives the most recently used idle
  connection that is still live; one the backend has closed is noticed at
  once (its ``connection_lost`` takes it out of the pool) and never reused.
- **Idle at most ``idle_s``** (``POOL_IDLE_S``), kept below the backends' own
  keep-alive timeout so that we never write into a connection the backend is
  closing: an older one is closed when met at checkout, and every ``SWEEP_S``
  by :meth:`Backend.sweep` (the health checker's loop, :mod:`.checker`).
- **At most ``max_idle`` idle** (``POOL_MAX_IDLE``). :meth:`Backend.release`
  keeps a connection only if its response left it reusable, it is not broken
  or closed, and the backend is still a member; else it is closed.
- **New connections** (:meth:`Backend.connect`) are opened in a task, within
  ``connect_timeout_s``, and the forward that asked hears ``connected`` or
  ``connect_failed``; the task is in the balancer's set, which ``stop``
  cancels.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import KW_ONLY, dataclass, field
from typing import TYPE_CHECKING

from millionscale.errors import ConfigError
from millionscale.lb.health import HealthCheck
from millionscale.lb.metrics import BackendMetrics
from millionscale.lb.outcome import ConnectionFailure, Outcome
from millionscale.lb.policies import Ewma
from millionscale.lb.settings import (
    CONNECT_TIMEOUT_S,
    POOL_IDLE_S,
    POOL_MAX_IDLE,
    RESPONSE_TIMEOUT_S,
)
from millionscale.lb.upstream import Upstream

if TYPE_CHECKING:
    from millionscale.lb.forward import Forward

__all__ = ["SWEEP_S", "Backend", "parse_backend"]

SWEEP_S = 1.0  # how often idle pooled connections past POOL_IDLE_S are closed


def parse_backend(text: str) -> tuple[str, str, int]:
    """``name=host:port`` (or ``host:port``, named after itself) -> (name, host, port)."""
    name, _, address = text.rpartition("=")
    host, _, port = address.rpartition(":")
    if not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise ConfigError(
            f"backend {text!r} is not name=host:port", hint="write e.g. web-1=10.0.0.2:8000"
        )
    return name or address, host.strip("[]"), int(port)


@dataclass
class Backend:
    """One backend and what the shell keeps for it; ``idle`` is its pool.

    The fields after ``metrics`` are the pool's knobs and what it runs on: the
    balancer's clock, and its set of tasks (``stop`` cancels them).
    """

    name: str
    host: str
    port: int
    health: HealthCheck
    ewma: Ewma
    weight: int = 1
    outstanding: int = 0
    idle: list[Upstream] = field(default_factory=list)
    checking: bool = False
    removed: bool = False
    metrics: BackendMetrics | None = None
    _: KW_ONLY
    clock: Callable[[], float] = time.monotonic
    idle_s: float = POOL_IDLE_S
    max_idle: int = POOL_MAX_IDLE
    connect_timeout_s: float = CONNECT_TIMEOUT_S
    response_timeout_s: float = RESPONSE_TIMEOUT_S
    tasks: set[asyncio.Task[None]] = field(default_factory=set)

    @property
    def address(self) -> str:
        return f"{self.host}:{self.port}"

    def count(self, outcome: Outcome) -> None:
        assert self.metrics is not None
        self.metrics.attempt(
            str(outcome) if isinstance(outcome, ConnectionFailure) else _CLASSES[outcome // 100]
        )

    # -- the pool ---------------------------------------------------------------------

    def checkout(self) -> Upstream | None:
        """The most recently used live idle connection, if any."""
        idle = self.idle
        if not idle:
            return None
        oldest = self.clock() - self.idle_s
        while idle:
            upstream = idle.pop()
            transport = upstream.transport
            if (
                upstream.idle_since > oldest
                and transport is not None
                and not transport.is_closing()  # the backend has not closed it
            ):
                return upstream
            upstream.close()
        return None

    def release(self, upstream: Upstream, *, reusable: bool) -> None:
        """``upstream``'s request is done: keep it idle in the pool, or close it."""
        if (
            reusable
            and not upstream.broken
            and not upstream.closed
            and not self.removed
            and len(self.idle) < self.max_idle
        ):
            upstream.forward = None
            upstream.resume()
            upstream.idle_since = self.clock()
            self.idle.append(upstream)
        else:
            upstream.close()

    def connect(self, forward: Forward) -> asyncio.Task[None]:
        """Open a new connection for ``forward``, in a task of the balancer's."""
        task = asyncio.get_running_loop().create_task(self._connect(forward))
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)
        return task

    def sweep(self) -> None:
        """Close pooled connections idle past ``idle_s``."""
        oldest = self.clock() - self.idle_s
        stale = [u for u in self.idle if u.closed or u.idle_since <= oldest]
        if stale:
            self.idle = [u for u in self.idle if u not in stale]
            for upstream in stale:
                upstream.close()

    def close_idle(self) -> None:
        """Close every pooled connection (the backend removed, or the balancer stopping)."""
        for upstream in self.idle:
            upstream.close()
        self.idle.clear()

    async def _connect(self, forward: Forward) -> None:
        loop = asyncio.get_running_loop()
        try:
            async with asyncio.timeout(self.connect_timeout_s):
                _, upstream = await loop.create_connection(
                    lambda: Upstream(self, self.response_timeout_s), self.host, self.port
                )
        except TimeoutError:
            forward.connect_failed("connect timed out")
        except OSError as error:
            forward.connect_failed(f"connect failed: {error}")
        else:
            forward.connected(upstream)


_CLASSES = [f"{n}xx" for n in range(10)]
