"""The balancer's asyncio shell: backends, their connection pools, checks, and forwarding.

Every decision is a core's (:mod:`.policies`, :mod:`.health`, :mod:`.outlier`,
:mod:`.retry`); this module moves bytes and feeds the cores facts:

- **Forwarding.** A request is read whole (:mod:`.http`), sent to the backend
  the policy picks over the backends that are serving (health), not ejected
  (outliers) and not already tried, on a kept-alive pooled connection, and
  its response read whole and returned. ``X-Forwarded-For``,
  ``X-Forwarded-Proto`` and ``X-Request-Id`` are set.
- **Timeouts.** Connect ``CONNECT_TIMEOUT_S``, response ``RESPONSE_TIMEOUT_S``;
  a pooled connection idle for ``POOL_IDLE_S`` is closed, kept below the
  backends' own keep-alive timeout so that we never write into a connection
  the backend is closing.
- **Failures.** A failed attempt (connect failure, reset, timeout, status) is
  fed to outlier detection and the retry core, which decides whether and
  where to try again (idempotent requests on resets, 502 and 503; any request
  whose connection failed before a byte was sent; within the retry budget).
  A request that cannot be served gets 502 (no backend answered), 503 (none
  serving) or 504 (timeout).
- **Health checks** GET ``/readyz`` on every backend on the health core's
  schedule; **drain** stops new requests and removes the backend once its
  outstanding requests are done (or the drain times out).
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import h11
import structlog
from prometheus_client import Counter, Gauge, Histogram

from millionscale.errors import ConfigError
from millionscale.lb.health import HealthCheck, InitState, State
from millionscale.lb.http import HOP_BY_HOP, Reply, Request, error_reply
from millionscale.lb.outcome import ConnectionFailure, Outcome
from millionscale.lb.outlier import OutlierDetector
from millionscale.lb.policies import BackendView, Ewma, NoBackend, make_policy
from millionscale.lb.retry import GiveUp, Retries

__all__ = [
    "CONNECT_TIMEOUT_S",
    "POOL_IDLE_S",
    "RESPONSE_TIMEOUT_S",
    "Backend",
    "Balancer",
    "parse_backend",
]

log = structlog.get_logger()

# HAProxy's `timeout connect` in its documentation's examples is 5 s; on a LAN a connect
# takes well under a millisecond, so 1 s already means the host is gone.
CONNECT_TIMEOUT_S = 1.0
# HAProxy's `timeout server` as commonly set (30 s); nginx's proxy_read_timeout is 60 s.
RESPONSE_TIMEOUT_S = 30.0
# Below uvicorn's default keep-alive (5 s), so a pooled connection is never one the
# backend is about to close (the idle timeout must stay below the backend's).
POOL_IDLE_S = 4.0
POOL_MAX_IDLE = 64  # idle connections kept per backend
CHECK_PATH = "/readyz"
CHECK_TIMEOUT_S = 2.0  # HAProxy: `timeout check` defaults to `inter` (2 s)

REQUESTS = Counter(
    "millionscale_lb_requests", "Attempts sent to a backend, by outcome", ["backend", "outcome"]
)
LATENCY = Histogram("millionscale_lb_backend_latency_seconds", "Backend response time", ["backend"])
HEALTHY = Gauge("millionscale_lb_backend_serving", "1 when the backend takes requests", ["backend"])
EJECTIONS = Counter("millionscale_lb_ejections", "Outlier ejections", ["backend"])
REFUSED = Counter("millionscale_lb_refused", "Requests refused before any backend", ["status"])


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
class _Pooled:
    reader: asyncio.StreamReader
    writer: asyncio.StreamWriter
    idle_since: float

    def close(self) -> None:
        self.writer.close()


@dataclass
class Backend:
    """One backend and what the shell keeps for it."""

    name: str
    host: str
    port: int
    health: HealthCheck
    ewma: Ewma
    weight: int = 1
    outstanding: int = 0
    idle: list[_Pooled] = field(default_factory=list)
    checking: bool = False

    @property
    def address(self) -> str:
        return f"{self.host}:{self.port}"


class _Attempt(Exception):
    def __init__(self, outcome: ConnectionFailure, reason: str) -> None:
        super().__init__(reason)
        self.outcome = outcome
        self.reason = reason


class Balancer:
    """The backends of one balancer and the request path through them."""

    def __init__(
        self,
        *,
        policy: str = "p2c-ewma",
        clock: Callable[[], float] = time.monotonic,
        rng: random.Random | None = None,
        connect_timeout_s: float = CONNECT_TIMEOUT_S,
        response_timeout_s: float = RESPONSE_TIMEOUT_S,
        pool_idle_s: float = POOL_IDLE_S,
        hash_header: str | None = None,
    ) -> None:
        self.policy = make_policy(policy, rng=rng)
        self.clock = clock
        self.backends: dict[str, Backend] = {}
        self.outliers = OutlierDetector()
        self.retries = Retries()
        self.connect_timeout_s = connect_timeout_s
        self.response_timeout_s = response_timeout_s
        self.pool_idle_s = pool_idle_s
        self.hash_header = hash_header.lower().encode() if hash_header else None
        self._checker: asyncio.Task[None] | None = None
        self._checks: set[asyncio.Task[None]] = set()

    # -- membership ----------------------------------------------------------------

    def add(
        self, name: str, host: str, port: int, *, weight: int = 1, initial: bool = False
    ) -> None:
        """Add a backend; ``initial`` ones serve at once, later ones after passing
        checks and then with slow start."""
        if name in self.backends:
            raise ConfigError(f"backend {name!r} already exists", hint="remove it first")
        now = self.clock()
        health = HealthCheck(name, now=now, init=InitState.UP if initial else InitState.FULLY_DOWN)
        self.backends[name] = Backend(name, host, port, health, Ewma(now=now), weight)
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
        self.outliers.remove(name)
        for pooled in backend.idle:
            pooled.close()
        HEALTHY.labels(name).set(0)
        log.info(f"backend {name} removed", backend=name)

    def _get(self, name: str) -> Backend:
        if name not in self.backends:
            known = ", ".join(sorted(self.backends)) or "none"
            raise ConfigError(f"no backend {name!r} (backends: {known})", hint="see lb status")
        return self.backends[name]

    # -- the request path ------------------------------------------------------------

    async def handle(self, request: Request) -> Reply:
        now = self.clock()
        self.retries.request(now)
        request_id = _header(request.headers, b"x-request-id") or uuid.uuid4().hex.encode()
        headers = _forward_headers(request, request_id)
        key = _header(request.headers, self.hash_header) if self.hash_header else None
        tried: list[str] = []
        last = "no backend tried"
        while True:
            backend = self._pick(tried, key)
            if backend is None:
                REFUSED.labels("503").inc()
                return _tagged(error_reply(503, f"no backend available ({last})"), request_id)
            tried.append(backend.name)
            outcome, reply, why = await self._attempt(backend, request, headers)
            if reply is not None and outcome not in (502, 503):
                reply.headers.append((b"x-request-id", request_id))
                return reply
            last = why
            decision = self.retries.decide(request.method, outcome, tried=tried, now=self.clock())
            if isinstance(decision, GiveUp):
                if reply is not None:
                    reply.headers.append((b"x-request-id", request_id))
                    return reply
                status = 504 if outcome is ConnectionFailure.TIMEOUT else 502
                REFUSED.labels(str(status)).inc()
                return _tagged(error_reply(status, f"{why}; {decision.reason}"), request_id)

    def _pick(self, tried: list[str], key: bytes | None) -> Backend | None:
        now = self.clock()
        ejected = self.outliers.ejected(now)
        views = [
            BackendView(
                b.name,
                weight=b.weight,
                eligible=b.health.serving and b.name not in ejected,
                outstanding=b.outstanding,
                latency_s=b.ewma.value(now),
                slow_start=b.health.slow_start_factor(now),
            )
            for b in self.backends.values()
        ]
        decision = self.policy.pick(
            views, key=key.decode("latin-1") if key else None, exclude=frozenset(tried)
        )
        if isinstance(decision, NoBackend):
            return None
        return self.backends.get(decision.backend)

    async def _attempt(
        self, backend: Backend, request: Request, headers: list[tuple[bytes, bytes]]
    ) -> tuple[Outcome, Reply | None, str]:
        backend.outstanding += 1
        started = self.clock()
        reply: Reply | None = None
        try:
            reply = await self._exchange(backend, request, headers)
        except _Attempt as failed:
            outcome: Outcome = failed.outcome
            why = f"{backend.name}: {failed.reason}"
        finally:
            backend.outstanding -= 1
        if reply is not None:
            outcome, why = reply.status, f"{backend.name} answered {reply.status}"
            elapsed = self.clock() - started
            backend.ewma.observe(elapsed, self.clock())
            LATENCY.labels(backend.name).observe(elapsed)
        REQUESTS.labels(backend.name, _outcome_label(outcome)).inc()
        ejection = self.outliers.on_response(backend.name, outcome, self.clock())
        if ejection is not None:
            EJECTIONS.labels(backend.name).inc()
            log.warning(getattr(ejection, "reason", str(ejection)), backend=backend.name)
        return outcome, reply, why

    async def _connection(self, backend: Backend) -> tuple[_Pooled, bool]:
        now = self.clock()
        while backend.idle:
            pooled = backend.idle.pop()
            if now - pooled.idle_since < self.pool_idle_s and not pooled.reader.at_eof():
                return pooled, True
            pooled.close()
        try:
            async with asyncio.timeout(self.connect_timeout_s):
                reader, writer = await asyncio.open_connection(backend.host, backend.port)
        except TimeoutError:
            raise _Attempt(ConnectionFailure.CONNECT, "connect timed out") from None
        except OSError as error:
            raise _Attempt(ConnectionFailure.CONNECT, f"connect failed: {error}") from None
        return _Pooled(reader, writer, now), False

    async def _exchange(
        self, backend: Backend, request: Request, headers: list[tuple[bytes, bytes]]
    ) -> Reply:
        pooled, reused = await self._connection(backend)
        conn = h11.Connection(h11.CLIENT)
        sent = False
        try:
            head = h11.Request(method=request.method, target=request.target, headers=headers)
            out = conn.send(head) or b""
            if request.body:
                out += conn.send(h11.Data(data=request.body)) or b""
            out += conn.send(h11.EndOfMessage()) or b""
            pooled.writer.write(out)
            await pooled.writer.drain()
            sent = True
            async with asyncio.timeout(self.response_timeout_s):
                reply = await _read_reply(conn, pooled.reader)
        except TimeoutError:
            pooled.close()
            raise _Attempt(ConnectionFailure.TIMEOUT, "no response in time") from None
        except (OSError, ConnectionError, h11.ProtocolError, asyncio.IncompleteReadError) as error:
            pooled.close()
            # A request written into a pooled connection the backend had closed may
            # have been read: a reset, not a clean connect failure.
            kind = ConnectionFailure.RESET if sent or reused else ConnectionFailure.CONNECT
            raise _Attempt(kind, f"connection lost: {error or type(error).__name__}") from None
        reusable = conn.our_state is h11.DONE and conn.their_state is h11.DONE
        if reusable and len(backend.idle) < POOL_MAX_IDLE:
            pooled.idle_since = self.clock()
            backend.idle.append(pooled)
        else:
            pooled.close()
        return reply

    # -- health checks -------------------------------------------------------------------

    def start(self) -> None:
        self._checker = asyncio.create_task(self._check_forever(), name="lb-health")

    async def stop(self) -> None:
        if self._checker is not None:
            self._checker.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._checker
        for backend in self.backends.values():
            for pooled in backend.idle:
                pooled.close()
            backend.idle.clear()

    async def _check_forever(self) -> None:
        while True:
            now = self.clock()
            for backend in list(self.backends.values()):
                if backend.health.state is State.DRAINING:
                    transition = backend.health.poll_drain(backend.outstanding, now)
                    if transition.after is State.REMOVED:
                        log.info(transition.reason, backend=backend.name)
                        self.remove(backend.name)
                        continue
                if not backend.checking and now >= backend.health.next_check_at:
                    backend.checking = True
                    task = asyncio.create_task(self._check(backend))
                    self._checks.add(task)
                    task.add_done_callback(self._checks.discard)
            await asyncio.sleep(0.05)

    async def _check(self, backend: Backend) -> None:
        ok = False
        try:
            async with asyncio.timeout(CHECK_TIMEOUT_S):
                reader, writer = await asyncio.open_connection(backend.host, backend.port)
                try:
                    writer.write(
                        f"GET {CHECK_PATH} HTTP/1.1\r\nhost: {backend.address}\r\n"
                        "connection: close\r\n\r\n".encode()
                    )
                    status = (await reader.readline()).split(b" ", 2)
                    ok = len(status) > 1 and status[1].startswith(b"2")
                finally:
                    writer.close()
        except (OSError, TimeoutError, ConnectionError):
            ok = False
        finally:
            backend.checking = False
        if backend.name not in self.backends:
            return
        transition = backend.health.on_check(ok, self.clock())
        if transition.changed:
            log.info(transition.reason, backend=backend.name)
            HEALTHY.labels(backend.name).set(1 if backend.health.serving else 0)

    # -- introspection --------------------------------------------------------------------

    def status(self) -> dict[str, Any]:
        now = self.clock()
        ejected = self.outliers.ejected(now)
        return {
            "policy": self.policy.name,
            "backends": [
                {
                    "name": b.name,
                    "address": b.address,
                    "weight": b.weight,
                    "state": str(b.health.state),
                    "serving": b.health.serving,
                    "ejected": b.name in ejected,
                    "outstanding": b.outstanding,
                    "latency_ms": round(b.ewma.value(now) * 1000, 2),
                    "slow_start": round(b.health.slow_start_factor(now), 2),
                }
                for b in self.backends.values()
            ],
        }


async def _read_reply(conn: h11.Connection, reader: asyncio.StreamReader) -> Reply:
    head: h11.Response | None = None
    body = bytearray()
    while True:
        event = conn.next_event()
        if event is h11.NEED_DATA:
            data = await reader.read(64 * 1024)
            if not data and head is None:
                raise ConnectionError("closed before a response")
            conn.receive_data(data)
            continue
        if isinstance(event, h11.InformationalResponse):
            continue
        if isinstance(event, h11.Response):
            head = event
        elif isinstance(event, h11.Data):
            body += event.data
        elif isinstance(event, h11.EndOfMessage):
            break
        elif isinstance(event, h11.ConnectionClosed):
            raise ConnectionError("closed in the middle of a response")
    assert head is not None
    headers = [(n, v) for n, v in head.headers if n not in HOP_BY_HOP]
    return Reply(head.status_code, headers, bytes(body))


def _header(headers: list[tuple[bytes, bytes]], name: bytes | None) -> bytes | None:
    for key, value in headers:
        if key == name:
            return value
    return None


def _forward_headers(request: Request, request_id: bytes) -> list[tuple[bytes, bytes]]:
    headers = [
        (name, value)
        for name, value in request.headers
        if name not in HOP_BY_HOP and name not in (b"x-forwarded-proto", b"x-request-id")
    ]
    forwarded = _header(request.headers, b"x-forwarded-for")
    peer = request.peer.encode()
    headers = [(n, v) for n, v in headers if n != b"x-forwarded-for"]
    headers.append((b"x-forwarded-for", forwarded + b", " + peer if forwarded else peer))
    headers.append((b"x-forwarded-proto", b"http"))
    headers.append((b"x-request-id", request_id))
    if request.body:
        headers.append((b"content-length", str(len(request.body)).encode()))
    return headers


def _tagged(reply: Reply, request_id: bytes) -> Reply:
    reply.headers.append((b"x-request-id", request_id))
    return reply


def _outcome_label(outcome: Outcome) -> str:
    if isinstance(outcome, ConnectionFailure):
        return str(outcome)
    return f"{outcome // 100}xx"
