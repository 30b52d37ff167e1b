"""Graceful shutdown of a web process behind a load balancer: drain, finish, exit.

A balancer learns that a server is going away only from its health checks
(HAProxy's defaults mark a server down after ``fall`` 3 failed checks
``inter`` 2 s apart) or from a registry that takes time to propagate
(Kubernetes endpoints, an ALB target group). A server that closes its
listening socket on SIGTERM gets requests it can no longer accept in the
meantime. So on SIGTERM a web process of ours:

1. **drains** for ``drain_s``: ``/readyz`` answers 503 ``draining`` so that
   the balancer stops sending new requests, while every request that still
   arrives is served as usual; responses carry ``Connection: close``, so
   keep-alive clients (the balancer's pool) reconnect elsewhere;
2. **stops**: uvicorn closes the listening socket and the idle connections,
   and gives requests in flight ``grace_s`` to finish (then cancels them);
3. **exits** with status 0.

It is the in-process form of the usual practice: Kubernetes sends SIGTERM
and waits ``terminationGracePeriodSeconds`` (30 s) before SIGKILL, and the
EKS best-practices guide has pods keep serving for a few seconds after it
(a ``preStop`` sleep) because the load balancer keeps sending requests until
it has deregistered them; an ALB then lets in-flight requests finish for its
deregistration delay (300 s by default, ended early once none is in flight).

A second SIGTERM or a SIGINT while draining or stopping forces the exit at
once, without waiting for requests in flight (uvicorn's ``force_exit``). A
first SIGINT (Ctrl-C at a terminal) skips the drain: nobody balances to a
developer's process. ``drain_s = 0`` skips it for SIGTERM too.

The phases are a table (:data:`TRANSITIONS`, taken through a
:class:`~millionscale.statetable.StateTable`) over an injected clock, pure
and unit-tested; an event the table lacks raises
:class:`~millionscale.errors.IllegalTransition`, a bug in the caller.
:class:`GracefulServer` is the thin uvicorn shell that feeds it signals and
ticks.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
import socket
import time
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from types import FrameType
from typing import Any

import structlog
import uvicorn
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from millionscale.errors import IllegalTransition
from millionscale.obs.health import ReadyCheck
from millionscale.statetable import StateTable

__all__ = [
    "DRAIN_S",
    "GRACE_S",
    "TRANSITIONS",
    "CloseWhileDraining",
    "GracefulServer",
    "GracefulShutdown",
    "IllegalTransition",
    "Phase",
    "ShutdownState",
    "serve",
]

log = structlog.get_logger()

# A few seconds, like the preStop sleep the EKS best-practices guide recommends. A
# balancer with HAProxy's default checks (inter 2 s, fall 3) needs up to 6 s to see
# the 503s; a request it sends after the socket closed gets a refused connection,
# which a balancer may retry elsewhere (it never reached us). Raise it to cover
# your balancer's detection time, and its stop timeout with it.
DRAIN_S = 5.0
FORCED_CLOSE_S = 1.0  # a forced exit still closes pools (milliseconds), but waits no longer
GRACE_S = 3  # for requests in flight: drain + grace + closing pools fits a 10 s stop (docker stop)


class Phase(StrEnum):
    SERVING = "serving"
    DRAINING = "draining"  # readiness fails, requests are served
    STOPPING = "stopping"  # uvicorn stops listening, requests in flight finish
    FORCED = "forced"  # stop now, requests in flight or not


class Event(StrEnum):
    SIGTERM = "SIGTERM"
    SIGINT = "SIGINT"
    DRAINED = "drain period over"


TRANSITIONS: dict[tuple[Phase, Event], Phase] = {
    (Phase.SERVING, Event.SIGTERM): Phase.DRAINING,  # STOPPING when drain_s is 0
    (Phase.SERVING, Event.SIGINT): Phase.STOPPING,
    (Phase.DRAINING, Event.DRAINED): Phase.STOPPING,
    (Phase.DRAINING, Event.SIGTERM): Phase.FORCED,
    (Phase.DRAINING, Event.SIGINT): Phase.FORCED,
    (Phase.STOPPING, Event.SIGTERM): Phase.FORCED,
    (Phase.STOPPING, Event.SIGINT): Phase.FORCED,
    (Phase.FORCED, Event.SIGTERM): Phase.FORCED,
    (Phase.FORCED, Event.SIGINT): Phase.FORCED,
}
"""Every allowed (phase, event) -> phase; a tick that is not due changes nothing."""

_TABLE: StateTable[Phase, Event] = StateTable(TRANSITIONS, name="shutdown")

_SENTENCES = {
    Phase.DRAINING: "{event}: draining for {drain_s:g} s; /readyz answers 503, requests are served",
    Phase.STOPPING: "{event}: stopping; no new connections, requests in flight finish",
    Phase.FORCED: "{event}: forced exit; requests in flight are cut",
}


@dataclass(frozen=True, slots=True)
class ShutdownState:
    """Where the process is on its way out; ``drain_ends_at`` is set while draining."""

    phase: Phase = Phase.SERVING
    drain_ends_at: float | None = None

    def on(self, event: Event, now: float, drain_s: float) -> tuple[ShutdownState, str]:
        """The next state and one sentence saying what happened."""
        phase = _TABLE.fire(self.phase, event)
        if phase is Phase.DRAINING and drain_s <= 0:
            phase = Phase.STOPPING
        ends_at = now + drain_s if phase is Phase.DRAINING else None
        return ShutdownState(phase, ends_at), _SENTENCES[phase].format(
            event=event.value, drain_s=drain_s
        )

    def due(self, now: float) -> bool:
        """Whether the drain period is over."""
        return self.drain_ends_at is not None and now >= self.drain_ends_at


class GracefulShutdown:
    """The process's shutdown state: the server drives it, the app reads it.

    ``drain_s`` is how long to fail readiness before stopping; ``clock`` is
    monotonic seconds (injected for tests). Each change returns, and the
    server logs, one sentence.
    """

    def __init__(self, drain_s: float = DRAIN_S, *, clock: Callable[[], float] = time.monotonic):
        if not drain_s >= 0:
            raise ValueError(f"drain_s must be 0 or more seconds, not {drain_s!r}")
        self.drain_s = drain_s
        self.clock = clock
        self.state = ShutdownState()

    @property
    def phase(self) -> Phase:
        return self.state.phase

    @property
    def draining(self) -> bool:
        """True from the first SIGTERM on: readiness fails from then."""
        return self.state.phase is not Phase.SERVING

    def on_signal(self, sig: int) -> str:
        """Record SIGTERM or SIGINT; return what it did."""
        event = Event.SIGINT if sig == signal.SIGINT else Event.SIGTERM
        self.state, sentence = self.state.on(event, self.clock(), self.drain_s)
        return sentence

    def on_tick(self) -> str | None:
        """End the drain period when it is due; return what happened, if anything."""
        if not self.state.due(self.clock()):
            return None
        self.state, sentence = self.state.on(Event.DRAINED, self.clock(), self.drain_s)
        return sentence

    def ready(self, check: ReadyCheck) -> ReadyCheck:
        """``check`` behind the drain: "draining" once shutdown has begun."""

        async def ready() -> str | None:
            return "draining" if self.draining else await check()

        return ready


class CloseWhileDraining:
    """ASGI middleware: ``Connection: close`` on every response once draining.

    Clients on keep-alive connections (the balancer's pool) then open their
    next connection, which the balancer gives to a server that stays.
    """

    def __init__(self, app: ASGIApp, *, shutdown: GracefulShutdown) -> None:
        self.app = app
        self.shutdown = shutdown

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_closing(message: Message) -> None:
            if message["type"] == "http.response.start" and self.shutdown.draining:
                headers = [*message.get("headers", []), (b"connection", b"close")]
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, send_closing)


class GracefulServer(uvicorn.Server):
    """uvicorn, with SIGTERM and SIGINT handled by a :class:`GracefulShutdown`.

    uvicorn's own handler stops at once and re-raises the signal after
    shutdown (so the process dies by it); this one drains first and returns
    normally, so the process exits 0. The signal handler only records the
    event: logging and everything else happen on uvicorn's tick (every
    0.1 s), never inside the handler.
    """

    def __init__(self, config: uvicorn.Config, shutdown: GracefulShutdown) -> None:
        super().__init__(config)
        self.graceful = shutdown
        self._said: list[str] = []

    def handle_exit(self, sig: int, frame: FrameType | None) -> None:
        self._said.append(self.graceful.on_signal(sig))
        self._follow()

    async def on_tick(self, counter: int) -> bool:
        sentence = self.graceful.on_tick()
        if sentence is not None:
            self._said.append(sentence)
        self._follow()
        self.say()
        return await super().on_tick(counter)

    async def shutdown(self, sockets: list[socket.socket] | None = None) -> None:
        await super().shutdown(sockets)
        if self.force_exit:
            # uvicorn skips the app's shutdown when forced, and asyncio.run then
            # cancels the app's lifespan mid-way (a traceback for nothing):
            # give it a bounded moment to close its pools instead.
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.lifespan.shutdown(), FORCED_CLOSE_S)

    def _follow(self) -> None:
        if self.graceful.phase in (Phase.STOPPING, Phase.FORCED):
            self.should_exit = True
        if self.graceful.phase is Phase.FORCED:
            self.force_exit = True

    def say(self) -> None:
        """Log what happened since the last tick."""
        while self._said:
            log.info(self._said.pop(0))


def serve(
    app: ASGIApp, shutdown: GracefulShutdown, *, grace_s: int = GRACE_S, **config: Any
) -> None:
    """Run ``app`` on uvicorn until a signal stops it as described above.

    ``grace_s`` is whole seconds (uvicorn's ``timeout_graceful_shutdown``);
    ``config`` goes to ``uvicorn.Config`` (host, port, ...).
    """
    if grace_s < 0:
        raise ValueError(f"grace_s must be 0 or more seconds, not {grace_s}")
    server = GracefulServer(
        uvicorn.Config(app, timeout_graceful_shutdown=grace_s, **config), shutdown
    )
    server.run()
    server.say()
    log.info("stopped", phase=shutdown.phase.value)
