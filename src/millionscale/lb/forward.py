"""One client request through the balancer: its attempts and retries, and its answer relayed.

:class:`~.connection.ServerConnection` parses a client's request and starts
a :class:`Forward` (an :class:`~.connection.Exchange`), which sends it to the
backend the balancer picks (:meth:`Balancer.pick
<millionscale.lb.balancer.Balancer.pick>`: serving, not ejected, not already
tried) on a kept-alive pooled :class:`~.upstream.Upstream` connection
(:mod:`.backend`), and feeds the cores what each attempt came back with:

- **The request.** Its head goes out as the client sent it but for
  hop-by-hop fields (:mod:`.headers`), with ``X-Forwarded-For``,
  ``X-Forwarded-Proto`` and ``X-Request-Id`` added; the response head comes
  back the same way (:mod:`.upstream`), with ``X-Request-Id``.
- **Streaming.** A request body up to ``REPLAY_BYTES`` is read whole before
  the request is sent, and kept until its answer starts, so a failed attempt
  can be sent again. A longer one streams: the first ``REPLAY_BYTES`` go with
  the head and the rest as it comes; such a request is not retried once a
  byte of its body went to a backend. Response bodies always stream. Both
  directions apply backpressure: when the receiving side's write buffer is
  over its high water mark, reading from the sending side pauses until it
  drains, so a slow reader holds at most a few buffers, never a whole body.
- **Retries.** A 502 or 503 is retried (per the retry core) from its head,
  before any byte of it goes to the client; once a response has started
  toward the client, it is never retried. Connection failures before the
  response head are retried per the retry core too.
- **Failures.** A failed attempt (connect failure, reset, timeout, status) is
  fed to outlier detection and the retry core, which decides whether and
  where to try again. A request that cannot be served gets 502 (no backend
  answered), 503 (none serving) or 504 (timeout). A backend that fails after
  its response started leaves the client's connection cut (the only way
  HTTP/1.1 can say the body is incomplete).
- **Private paths.** A request for a backend's ``/metrics`` (or another of
  :mod:`.paths`' private paths, however spelled) is answered 404 here and
  never forwarded: metrics are read on the private side, not through the
  public one.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

import structlog

from millionscale.lb.answers import error_bytes
from millionscale.lb.connection import ServerConnection
from millionscale.lb.head import RequestHead
from millionscale.lb.headers import Framing
from millionscale.lb.metrics import REFUSED
from millionscale.lb.outcome import ConnectionFailure
from millionscale.lb.retry import RETRY_STATUSES, GiveUp

if TYPE_CHECKING:
    from millionscale.lb.backend import Backend
    from millionscale.lb.balancer import Balancer
    from millionscale.lb.upstream import Upstream

__all__ = ["Forward"]

log = structlog.get_logger()

_LAST_CHUNK = b"0\r\n\r\n"
# headers.Framing as plain ints for the hot path (an IntEnum compares alike).
_NONE, _SIZED, _CHUNKED_OUT, _CLOSE = (int(f) for f in Framing)


def _chunk(data: bytes) -> bytes:
    return b"%x\r\n%b\r\n" % (len(data), data)


class Forward:
    """One client request through the balancer: its attempts and the relay of its answer.

    An :class:`~millionscale.lb.connection.Exchange` for :class:`ServerConnection`;
    its :class:`Upstream` calls ``response_head``/``_body``/``_end`` or
    ``upstream_failed``/``_timed_out``.
    """

    __slots__ = (
        "aborted",
        "backend",
        "balancer",
        "body_sent",
        "complete",
        "conn",
        "connecting",
        "framing",
        "head",
        "keep_alive",
        "key",
        "last",
        "out",
        "pending",
        "prebuilt",
        "responding",
        "rid",
        "started",
        "tried",
        "upstream",
        "waiting",
        "wire",
    )

    def __init__(
        self,
        balancer: Balancer,
        conn: ServerConnection,
        head: RequestHead,
        chunks: list[bytes],
        complete: bool,
    ) -> None:
        self.balancer = balancer
        self.conn = conn
        self.head = head
        balancer.retries.request(balancer.clock())
        rid = head.request_id
        if rid is None:
            rid = balancer.new_request_id()
        self.rid = rid
        xff = head.forwarded_for
        peer = conn.peer
        parts = [
            head.raw_method,
            b" ",
            head.target,
            b" HTTP/1.1\r\n",
            head.block,
            b"x-forwarded-for: ",
            peer if xff is None else xff + b", " + peer,
            b"\r\nx-forwarded-proto: http\r\n",
        ]
        if head.request_id is None:
            parts += (b"x-request-id: ", rid, b"\r\n")
        parts.append(b"\r\n")
        self.complete = complete
        self.prebuilt = complete  # the body is in ``wire``: kept for every attempt
        if complete:
            if head.chunked:
                size = sum(len(c) for c in chunks)
                if size:
                    parts += (b"%x\r\n" % size, *chunks, b"\r\n")
                parts.append(_LAST_CHUNK)
            else:
                parts += chunks
            self.pending: list[bytes] = []
        else:
            self.pending = chunks
        self.wire = b"".join(parts)
        self.body_sent = False  # a streamed body byte went to a backend (and is not kept)
        self.tried: list[str] = []
        self.last = "no backend tried"
        self.backend: Backend | None = None
        self.upstream: Upstream | None = None
        self.connecting: asyncio.Task[None] | None = None
        self.framing = _NONE
        self.responding = False  # the answer's head was taken: no retry from here on
        self.out: list[bytes] = []  # the answer's bytes from the read at hand
        self.keep_alive = head.keep_alive
        self.aborted = False
        self.waiting = False  # the client's reading paused until an upstream is there
        self.started = 0.0
        hash_header = balancer.hash_header
        self.key = head.header(hash_header) if hash_header is not None else None
        if balancer.private_paths.refuses(head.target):
            REFUSED.labels("404").inc()
            self._error(404, "not found")
            return
        self._attempt()

    # -- attempts ---------------------------------------------------------------------

    def _attempt(self) -> None:
        balancer = self.balancer
        backend = balancer.pick(self.tried, self.key)
        if backend is None:
            REFUSED.labels("503").inc()
            self._error(503, f"no backend available ({self.last})")
            return
        self.tried.append(backend.name)
        backend.outstanding += 1
        self.backend = backend
        self.started = balancer.clock()
        upstream = backend.checkout()
        if upstream is not None:
            self._send(upstream)
        else:
            self.connecting = backend.connect(self)

    def connected(self, upstream: Upstream) -> None:
        self.connecting = None
        if self.aborted:
            upstream.backend.release(upstream, reusable=True)
            return
        self._send(upstream)

    def connect_failed(self, why: str) -> None:
        self.connecting = None
        if not self.aborted:
            self._failed(ConnectionFailure.CONNECT, why)

    def _send(self, upstream: Upstream) -> None:
        assert upstream.transport is not None
        self.upstream = upstream
        upstream.bind(self)
        if self.waiting:
            self.waiting = False
            self.conn.resume_reading()
        write = upstream.transport.write
        write(self.wire)
        if self.pending:
            pieces, self.pending = self.pending, []
            chunked = self.head.chunked
            for piece in pieces:
                write(_chunk(piece) if chunked else piece)
            self.body_sent = True
        if self.complete and not self.prebuilt and self.head.chunked:
            write(_LAST_CHUNK)

    def _end_attempt(self) -> Backend | None:
        backend, self.backend = self.backend, None
        if backend is not None:
            backend.outstanding -= 1
        return backend

    def _failed(self, outcome: ConnectionFailure, why: str) -> None:
        backend = self._end_attempt()
        assert backend is not None
        balancer = self.balancer
        self.last = f"{backend.name}: {why}"
        balancer.observe(backend, outcome)
        decision = balancer.retries.decide(
            self.head.method,
            outcome,
            tried=self.tried,
            now=balancer.clock(),
            replayable=self.prebuilt or not self.body_sent,
        )
        if isinstance(decision, GiveUp):
            status = 504 if outcome is ConnectionFailure.TIMEOUT else 502
            REFUSED.labels(str(status)).inc()
            self._error(status, f"{self.last}; {decision.reason}")
        else:
            log.info(decision.reason, backend=backend.name)
            self._attempt()

    def _error(self, status: int, reason: str) -> None:
        keep_alive = self.keep_alive and self.complete
        self.conn.write(error_bytes(status, reason, keep_alive=keep_alive, request_id=self.rid))
        self.conn.finish(keep_alive)

    # -- from the upstream ----------------------------------------------------------

    def response_head(
        self,
        upstream: Upstream,
        status: int,
        line: bytes,
        block: bytes,
        framing: int,
        chunked: bool,
    ) -> None:
        balancer = self.balancer
        backend = self.backend
        assert backend is not None
        now = balancer.clock()
        elapsed = now - self.started
        backend.ewma.observe(elapsed, now)
        assert backend.metrics is not None
        backend.metrics.latency(elapsed)
        balancer.observe(backend, status)
        if status in RETRY_STATUSES:
            decision = balancer.retries.decide(
                self.head.method,
                status,
                tried=self.tried,
                now=now,
                replayable=self.prebuilt or not self.body_sent,
            )
            if not isinstance(decision, GiveUp):  # nothing of it went to the client
                log.info(decision.reason, backend=backend.name)
                self.last = f"{backend.name} answered {status}"
                self.upstream = None
                upstream.close()
                self._end_attempt()
                self._attempt()
                return
        self.responding = True
        self.framing = framing
        if framing == _CLOSE:
            self.keep_alive = False
        if self.keep_alive:
            connection = b"" if self.head.http_11 else b"connection: keep-alive\r\n"
        else:
            connection = b"connection: close\r\n"
        add_chunked = framing == _CHUNKED_OUT and not chunked
        self.out.append(
            b"".join(
                (
                    line,
                    block,
                    b"x-request-id: ",
                    self.rid,
                    b"\r\ntransfer-encoding: chunked\r\n" if add_chunked else b"\r\n",
                    connection,
                    b"\r\n",
                )
            )
        )

    def response_body(self, data: bytes) -> None:
        if data:
            framing = self.framing
            if framing in (_SIZED, _CLOSE):
                self.out.append(data)
            elif framing == _CHUNKED_OUT:
                self.out.append(_chunk(data))

    def flush(self) -> None:
        """Write what the answer's read at hand brought, at once."""
        out = self.out
        if out:
            self.out = []
            self.conn.write(out[0] if len(out) == 1 else b"".join(out))

    def response_end(self, upstream: Upstream) -> None:
        if self.framing == _CHUNKED_OUT:
            self.out.append(_LAST_CHUNK)
        self.flush()
        self.upstream = None
        # The connection can carry another request only if this one went out whole.
        upstream.backend.release(upstream, reusable=upstream.keep_alive and self.complete)
        self._end_attempt()
        self.conn.finish(self.keep_alive)

    def upstream_failed(self, upstream: Upstream, why: str) -> None:
        self.upstream = None
        if self.responding:
            self._cut(f"{why} in the middle of the response")
        else:
            self._failed(ConnectionFailure.RESET, why)

    def upstream_timed_out(self, upstream: Upstream) -> None:
        self.upstream = None
        if self.responding:
            self._cut("no response byte in time in the middle of the response")
        else:
            self._failed(ConnectionFailure.TIMEOUT, "no response in time")

    def _cut(self, why: str) -> None:
        self.flush()  # what came before the failure
        backend = self._end_attempt()
        log.warning(f"lb: response cut: {why}", backend=backend.name if backend else None)
        self.conn.abandon()

    # -- from the client connection (the Exchange protocol) ---------------------------

    def body(self, data: bytes) -> None:
        if not data:
            return
        upstream = self.upstream
        if upstream is None or upstream.transport is None:
            self.pending.append(data)
            if not self.waiting:  # connecting, or between attempts
                self.waiting = True
                self.conn.pause_reading()
            return
        if not upstream.transport.is_closing():  # else its loss is being reported
            upstream.transport.write(_chunk(data) if self.head.chunked else data)
        self.body_sent = True

    def end(self) -> None:
        self.complete = True
        transport = self.upstream.transport if self.upstream is not None else None
        if transport is not None and self.head.chunked and not transport.is_closing():
            transport.write(_LAST_CHUNK)

    def abort(self) -> None:
        self.aborted = True
        if self.connecting is not None:
            self.connecting.cancel()
            self.connecting = None
        upstream, self.upstream = self.upstream, None
        if upstream is not None:
            upstream.close()
        self._end_attempt()

    def pause_writing(self) -> None:
        if self.upstream is not None:
            self.upstream.pause()

    def resume_writing(self) -> None:
        if self.upstream is not None:
            self.upstream.resume()
