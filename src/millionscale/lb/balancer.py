"""The balancer: its backends, their pools and checks, and the request path through them.

:class:`Balancer` composes the asyncio shell; every decision is a core's
(:mod:`.policies`, :mod:`.health`, :mod:`.outlier`, :mod:`.retry`,
:mod:`.membership`), and the shell moves bytes and feeds the cores facts:

- **Forwarding.** :meth:`Balancer.serve` listens for clients; a
  :class:`~.connection.ServerConnection` parses each request and starts a
  :class:`~.forward.Forward`, which sends it to the backend
  :meth:`Balancer.pick` chooses over the backends that are serving (health),
  not ejected (outliers) and not already tried, with forwarding headers
  added, streams its body and relays the answer (:mod:`.forward`: streaming,
  retries, failures, private paths).
- **Backends and their pools.** Each backend is a :class:`~.backend.Backend`
  with a LIFO pool of kept-alive :class:`~.upstream.Upstream` connections
  (:mod:`.backend`: reuse, idle time, size; :mod:`.upstream`: one
  connection, its responses parsed and their heads rewritten).
- **Settings.** Every knob comes from one frozen
  :class:`~millionscale.lb.settings.BalancerSettings` (its defaults are the
  constants of :mod:`.settings`: ``CONNECT_TIMEOUT_S``,
  ``RESPONSE_TIMEOUT_S``, ``POOL_IDLE_S``, ``REPLAY_BYTES``...).
- **Timeouts.** Connect ``connect_timeout_s``; response
  ``response_timeout_s`` for the head and then between body bytes (while
  the client reads); a pooled connection idle for ``pool_idle_s`` is closed,
  kept below the backends' own keep-alive timeout.
- **Health checks** GET ``/readyz`` on every backend on the health core's
  schedule (:mod:`.checker`); **drain** stops new requests and removes the
  backend once its outstanding requests are done (or the drain times out).
- **Membership** comes from the admin API (:meth:`Balancer.add`, ``drain``,
  ``remove``) or from Discovery (:meth:`Balancer.follow`): a task applies
  :func:`~millionscale.lb.membership.reconcile`'s decisions on every change.
- **Stopping** (:meth:`Balancer.stop`) ends the checks and the membership
  task, lets client connections finish what they were answering for a grace
  period, then closes everything.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import functools
import itertools
import math
import random
import secrets
import time
from collections.abc import Callable, Mapping
from typing import Any

import structlog

from millionscale.discovery import Discovery, Snapshot, follow
from millionscale.errors import ConfigError, Conflict, MillionscaleError, NotFound
from millionscale.lb.backend import Backend
from millionscale.lb.checker import HealthChecker
from millionscale.lb.connection import Exchange, ServerConnection
from millionscale.lb.forward import Forward
from millionscale.lb.head import RequestHead
from millionscale.lb.health import HealthCheck, InitState, State
from millionscale.lb.limits import HttpLimits
from millionscale.lb.membership import RECONCILE_S, Add, Drain, Present, Remove, reconcile
from millionscale.lb.metrics import EJECTIONS, HEALTHY, REFUSED, backend_metrics
from millionscale.lb.outcome import Outcome
from millionscale.lb.outlier import OutlierDetector
from millionscale.lb.paths import PrivatePaths
from millionscale.lb.policies import BackendView, Ewma, NoBackend
from millionscale.lb.retry import Retries
from millionscale.lb.settings import BalancerSettings
from millionscale.lb.statistics import BackendStatistics, BalancerStatistics

__all__ = ["Balancer"]

log = structlog.get_logger()

_NO_ONE: frozenset[str] = frozenset()


class Balancer:
    """The backends of one balancer and the request path through them.

    ``settings`` are every knob (:class:`~millionscale.lb.settings.BalancerSettings`);
    ``changes`` replace some of its top-level fields, as a shorthand
    (``Balancer(policy="round-robin")``). ``clock`` and ``rng`` are for tests.
    Backends come from :meth:`add` (the admin API), or from discovery
    (:meth:`follow`).
    """

    def __init__(
        self,
        settings: BalancerSettings | None = None,
        *,
        clock: Callable[[], float] = time.monotonic,
        rng: random.Random | None = None,
        **changes: Any,
    ) -> None:
        settings = settings or BalancerSettings()
        if changes:
            try:
                settings = dataclasses.replace(settings, **changes)
            except TypeError:
                unknown = sorted(set(changes) - {f.name for f in dataclasses.fields(settings)})
                raise ConfigError(
                    f"no balancer setting {', '.join(unknown)}",
                    hint="see BalancerSettings' fields",
                ) from None
        self.settings = settings
        self.policy = settings.make_policy(rng)
        self.private_paths = PrivatePaths(settings.private_paths)  # answered 404, never forwarded
        self.clock = clock
        self.backends: dict[str, Backend] = {}
        self.outliers = OutlierDetector(policy=settings.outliers)
        self.retries = Retries(settings.retries, settings.budget.budget())
        self.replay_bytes = settings.replay_bytes
        hash_header = settings.hash_header
        self.hash_header = hash_header.lower().encode() if hash_header else None
        self._checker: asyncio.Task[None] | None = None
        self._follower: asyncio.Task[None] | None = None
        self._followed: Mapping[str, str] = {}  # the membership task's memory (.membership)
        self._leaving: frozenset[str] = frozenset()
        self._tasks: set[asyncio.Task[None]] = set()  # connects and checks, cancelled at stop
        self._health = HealthChecker(
            self.backends,
            check_path=settings.check_path,
            clock=clock,
            remove=self.remove,
            tasks=self._tasks,
        )
        self.clients: set[ServerConnection] = set()  # open client connections
        self._rid_prefix = secrets.token_hex(8).encode()
        self._rid_counter = itertools.count(1)

    # -- membership ----------------------------------------------------------------

    def add(
        self, name: str, host: str, port: int, *, weight: int = 1, initial: bool = False
    ) -> None:
        """Add a backend; ``initial`` ones serve at once, later ones after passing
        checks and then with slow start. :class:`Conflict` if ``name`` is a member."""
        if name in self.backends:
            raise Conflict(f"backend {name!r} already exists", hint="remove it first")
        now = self.clock()
        settings = self.settings
        init = settings.init_state if initial else InitState.FULLY_DOWN
        health = HealthCheck(name, now=now, policy=settings.health, init=init)
        ewma = Ewma(now=now, decay_s=settings.ewma_decay_s, initial_s=settings.ewma_default_rtt_s)
        backend = Backend(
            name,
            host,
            port,
            health,
            ewma,
            weight,
            clock=self.clock,
            idle_s=settings.pool_idle_s,
            max_idle=settings.pool_max_idle,
            connect_timeout_s=settings.connect_timeout_s,
            response_timeout_s=settings.response_timeout_s,
            tasks=self._tasks,
        )
        backend.metrics = backend_metrics(name)
        self.backends[name] = backend
        self.outliers.add(name)
        HEALTHY.labels(name).set(1 if health.serving else 0)
        log.info(f"backend {name} added at {host}:{port}", backend=name)

    def drain(self, name: str, timeout_s: float | None = None) -> str:
        backend = self._get(name)
        transition = backend.health.drain(self.clock(), timeout_s=timeout_s)
        log.info(transition.reason, backend=name)
        return transition.reason

    def remove(self, name: str) -> None:
        backend = self.backends.pop(self._get(name).name)
        backend.removed = True
        self.outliers.remove(name)
        backend.close_idle()
        HEALTHY.labels(name).set(0)
        log.info(f"backend {name} removed", backend=name)

    async def follow(self, discovery: Discovery, tier: str, datacenter: str | None = None) -> None:
        """Take ``tier``'s ready members from ``discovery`` as backends now (they serve at
        once, as backends there at the start do), then follow its changes in a task
        (:mod:`.membership`'s rules) until :meth:`stop`; with ``datacenter``, only the
        members standing there (a data center's balancer sends nothing across the
        wide-area link).

        Raises :class:`~millionscale.errors.DiscoveryError` if the first snapshot
        cannot be had; later, an unreachable source keeps the last view.
        """
        snapshot = await discovery.snapshot()
        self._reconcile(snapshot, tier, datacenter, initial=True)
        self._follower = asyncio.create_task(
            self._follow(discovery, tier, datacenter, snapshot), name="lb-membership"
        )

    async def _follow(
        self, discovery: Discovery, tier: str, datacenter: str | None, first: Snapshot
    ) -> None:
        async for snapshot in follow(discovery, first, every_s=RECONCILE_S):
            try:
                self._reconcile(snapshot, tier, datacenter, initial=False)
            except MillionscaleError as error:  # a decision the state refused: next time
                log.warning(f"membership: {error.one_line()}")

    def _reconcile(
        self, snapshot: Snapshot, tier: str, datacenter: str | None, *, initial: bool
    ) -> None:
        present = [
            Present(b.name, b.address, b.health.state is State.DRAINING, b.outstanding)
            for b in self.backends.values()
        ]
        plan = reconcile(
            present,
            snapshot,
            tier,
            followed=self._followed,
            leaving=self._leaving,
            initial=initial,
            datacenter=datacenter,
        )
        self._followed, self._leaving = plan.followed, plan.leaving
        for decision in plan.decisions:
            log.info(decision.reason, backend=decision.name, version=snapshot.version)
            match decision:
                case Add(name, host, port, initial=first):
                    self.add(name, host, port, initial=first)
                case Drain(name):
                    self.drain(name)
                case Remove(name):
                    self.remove(name)

    def _get(self, name: str) -> Backend:
        if name not in self.backends:
            known = ", ".join(sorted(self.backends)) or "none"
            raise NotFound(f"no backend {name!r} (backends: {known})", hint="see lb status")
        return self.backends[name]

    # -- the request path ------------------------------------------------------------

    async def serve(
        self, host: str, port: int, *, limits: HttpLimits | None = None, backlog: int = 1024
    ) -> asyncio.Server:
        """Listen for clients on ``host:port`` and balance their requests."""
        chosen = limits or self.settings.limits

        def refused(status: int, _reason: str) -> None:
            REFUSED.labels(str(status)).inc()

        start = functools.partial(Forward, self)  # what self.exchange does, a call less

        def connection() -> ServerConnection:
            return ServerConnection(
                start,
                chosen,
                buffer_bytes=self.replay_bytes,
                on_refused=refused,
                registry=self.clients,
            )

        loop = asyncio.get_running_loop()
        return await loop.create_server(connection, host, port, backlog=backlog)

    def exchange(
        self, conn: ServerConnection, head: RequestHead, chunks: list[bytes], complete: bool
    ) -> Exchange:
        """Forward one request read by ``conn`` (a :data:`~.http.StartExchange`)."""
        return Forward(self, conn, head, chunks, complete)

    def new_request_id(self) -> bytes:
        """Unique per balancer: a random 64-bit prefix per process and a counter."""
        return b"%b-%x" % (self._rid_prefix, next(self._rid_counter))

    def pick(self, tried: list[str], key: bytes | None) -> Backend | None:
        now = self.clock()
        ejected = self.outliers.ejected(now)
        views = [  # (name, weight, eligible, outstanding, latency_s, slow_start)
            BackendView(
                b.name,
                b.weight,
                b.health.serving and b.name not in ejected,
                b.outstanding,
                b.ewma.value(now),
                b.health.slow_start_factor(now),
            )
            for b in self.backends.values()
        ]
        decision = self.policy.pick(
            views,
            key=key.decode("latin-1") if key else None,
            exclude=frozenset(tried) if tried else _NO_ONE,
        )
        if isinstance(decision, NoBackend):
            return None
        return self.backends.get(decision.backend)

    def observe(self, backend: Backend, outcome: Outcome) -> None:
        """An attempt's outcome, to the metrics and to outlier detection."""
        backend.count(outcome)
        ejection = self.outliers.on_response(backend.name, outcome, self.clock())
        if ejection is not None:
            EJECTIONS.labels(backend.name).inc()
            log.warning(getattr(ejection, "reason", str(ejection)), backend=backend.name)

    # -- running -------------------------------------------------------------------------

    def start(self) -> None:
        """Start the health checks (:mod:`.checker`)."""
        self._checker = asyncio.create_task(self._health.run(), name="lb-health")

    async def stop(self, grace_s: float = 0.0) -> None:
        """Stop checking; close client connections once their requests are answered, for
        at most ``grace_s`` (then cut), and every backend connection."""
        for task in (self._follower, self._checker):
            if task is not None:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
        for conn in list(self.clients):
            conn.close()
        for _ in range(math.ceil(grace_s / 0.05)):
            if not self.clients:
                break
            await asyncio.sleep(0.05)
        for conn in list(self.clients):
            conn.abandon()
        for task in list(self._tasks):
            task.cancel()
        for backend in self.backends.values():
            backend.close_idle()
        for _ in range(3):  # let the transports report their closing
            await asyncio.sleep(0)

    # -- introspection --------------------------------------------------------------------

    def statistics(self) -> BalancerStatistics:
        """Every backend and core as of now (a frozen record; taking it changes nothing)."""
        now = self.clock()
        ejected = self.outliers.ejected(now)
        return BalancerStatistics(
            policy=self.policy.name,
            backends=tuple(
                BackendStatistics(
                    name=b.name,
                    address=b.address,
                    weight=b.weight,
                    state=b.health.state,
                    serving=b.health.serving,
                    ejected=b.name in ejected,
                    outstanding=b.outstanding,
                    idle_connections=len(b.idle),
                    latency_s=b.ewma.value(now),
                    slow_start=b.health.slow_start_factor(now),
                    health=b.health.statistics(),
                )
                for b in self.backends.values()
            ),
            picks=self.policy.statistics(),
            outliers=self.outliers.statistics(),
            retries=self.retries.statistics(),
            clients=len(self.clients),
        )
