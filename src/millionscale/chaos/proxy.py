"""The fault proxy's asyncio shell: accept, connect upstream, carry bytes through delay lines.

Every decision is a core's (:mod:`.admission` for a new connection,
:mod:`.delay` and :mod:`.bucket` for each chunk); this module moves bytes:

- **Accept.** Each connection the listener accepts is admitted, held or
  reset (:func:`~.admission.admit`). An admitted one waits its connect
  delay, connects upstream (``CONNECT_TIMEOUT_S``; a failure resets the
  client, as a dead upstream would) and is forwarded.
- **Forward.** Per direction, a reader reads chunks (up to ``READ_BYTES``),
  asks the direction's :class:`~.delay.DelayLine` when each piece may go and
  queues it; a writer writes the queue in order at those times. At most
  ``MAX_HELD_BYTES`` wait in a direction; past that the reader stops reading
  and TCP's flow control pushes back on the sender, as a slow link does.
  End of stream (FIN) is passed on after the last byte, one direction at a
  time (half-close); a reset (RST) on either side resets the other.
- **Partition.** New connections hang (held until heal) or are refused (the
  listener is closed until heal); open ones are frozen (their writers wait,
  nothing is lost) or cut.
- **Reset.** :meth:`FaultProxy.reset_all` sends RST both ways on every open
  connection (``SO_LINGER`` 0 then close).

Guarantee: while nothing is cut or reset, every byte read from one side is
written to the other, in order; faults change *when*, never *what*.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import socket
import struct
from dataclasses import dataclass, field
from types import TracebackType

import structlog
from prometheus_client import Counter, Gauge

from millionscale.chaos.admission import Hold, Refuse, admit
from millionscale.chaos.delay import DelayLine
from millionscale.chaos.faults import Direction, Faults, NewConnections, OpenConnections, Partition
from millionscale.errors import ConfigError

__all__ = [
    "CONNECT_TIMEOUT_S",
    "MAX_HELD_BYTES",
    "READ_BYTES",
    "FaultProxy",
    "ProxyStatistics",
    "parse_address",
]

log = structlog.get_logger()

# HAProxy's documentation sets `timeout connect 5s` in its examples.
CONNECT_TIMEOUT_S = 5.0
READ_BYTES = 64 * 1024  # asyncio's default stream buffer limit
# About what one Linux socket buffers at most (net.ipv4.tcp_rmem's default maximum is
# 6 MiB): a direction holds no more than a socket would before pushing back.
MAX_HELD_BYTES = 6 * 1024 * 1024

BYTES = Counter("millionscale_chaos_bytes", "Bytes the fault proxy forwarded", ["direction"])
CONNECTIONS = Counter(
    "millionscale_chaos_connections", "Connections the fault proxy saw, by fate", ["fate"]
)
OPEN = Gauge("millionscale_chaos_open_connections", "Connections open through the fault proxy")


def parse_address(text: str) -> tuple[str, int]:
    """``host:port`` (``[::1]:port`` for IPv6) -> (host, port)."""
    host, _, port = text.rpartition(":")
    host = host.strip("[]")
    if not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise ConfigError(f"{text[:80]!r} is not HOST:PORT", hint="write e.g. 127.0.0.1:5432")
    return host, int(port)


@dataclass(frozen=True, slots=True)
class ProxyStatistics:
    """Counts since start; ``open`` and ``held`` are now."""

    accepted: int  # connections the listener accepted
    open: int  # connections open now (held, connecting or forwarding)
    held: int  # of those, held by a partition
    refused: int  # reset on arrival (reset_new, or a partition that refuses)
    cut: int  # reset while open (reset_all, a partition that cuts)
    upstream_failures: int  # the upstream refused or did not answer in time
    bytes_upstream: int  # client -> upstream, written
    bytes_downstream: int  # upstream -> client, written
    stalls: int  # chunks held as if lost


def _rst(writer: asyncio.StreamWriter) -> None:
    """Close with RST rather than FIN: SO_LINGER on, zero seconds, then close."""
    sock = writer.get_extra_info("socket")
    if sock is not None:
        with contextlib.suppress(OSError):
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    writer.transport.abort()


@dataclass(eq=False)
class _Connection:
    number: int
    client: asyncio.StreamWriter
    upstream: asyncio.StreamWriter | None = None
    task: asyncio.Task[None] | None = None
    lines: dict[Direction, DelayLine] = field(default_factory=dict)
    held: bool = False

    def reset(self) -> None:
        for writer in (self.client, self.upstream):
            if writer is not None:
                _rst(writer)

    def close(self) -> None:
        for writer in (self.client, self.upstream):
            if writer is not None:
                writer.close()


class FaultProxy:
    """A TCP proxy from ``host:port`` to ``upstream`` that injects faults on demand.

    Use it as an async context manager (or :meth:`start` / :meth:`stop`) inside
    one event loop. ``port=0`` takes a free port; :attr:`port` is the one bound.
    Control methods return one sentence saying what they did.
    """

    def __init__(
        self,
        upstream: str | tuple[str, int],
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        faults: Faults | None = None,
        rng: random.Random | None = None,
        connect_timeout_s: float = CONNECT_TIMEOUT_S,
        name: str = "chaos",
    ) -> None:
        self.upstream = parse_address(upstream) if isinstance(upstream, str) else upstream
        self.host = host
        self.port = port
        self.name = name
        self.connect_timeout_s = connect_timeout_s
        self._faults = faults or Faults()
        self._partition: Partition | None = None
        self._rng = rng or random.Random()
        self._server: asyncio.Server | None = None
        self._started = False
        self._connections: set[_Connection] = set()
        self._flowing = asyncio.Event()  # cleared while open connections are frozen
        self._flowing.set()
        self._healed = asyncio.Event()  # cleared while partitioned
        self._healed.set()
        self._accepted = self._refused = self._cut = self._upstream_failures = 0
        self._bytes = dict.fromkeys(Direction, 0)
        self._stalls = 0

    # -- life --------------------------------------------------------------------------

    async def start(self) -> None:
        """Listen (raises ``OSError`` if the port cannot be bound)."""
        await self._listen()
        self._started = True
        log.info(
            f"proxy {self.name} listening on {self.address}, forwarding to "
            f"{self.upstream[0]}:{self.upstream[1]}; {self._faults.describe()}"
        )

    async def stop(self) -> None:
        """Stop listening and close every connection (FIN, not RST)."""
        self._started = False
        if self._server is not None:
            self._server.close()
            self._server = None
        tasks = [c.task for c in self._connections if c.task is not None]
        for connection in list(self._connections):
            connection.close()
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    async def __aenter__(self) -> FaultProxy:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.stop()

    async def _listen(self) -> None:
        self._server = await asyncio.start_server(
            self._accept, self.host, self.port, reuse_address=True, backlog=1024
        )
        self.port = int(self._server.sockets[0].getsockname()[1])

    @property
    def address(self) -> str:
        return f"{self.host}:{self.port}"

    # -- control -----------------------------------------------------------------------

    @property
    def faults(self) -> Faults:
        return self._faults

    @property
    def partitioned(self) -> Partition | None:
        return self._partition

    def set_faults(self, faults: Faults) -> str:
        """Apply ``faults`` to new connections and to chunks read from now on."""
        self._faults = faults
        now = asyncio.get_event_loop().time()
        for connection in self._connections:
            for direction, line in connection.lines.items():
                line.change(faults.link(direction), now)
        return self._say(f"faults set: {faults.describe()}")

    def clear_faults(self) -> str:
        return self.set_faults(Faults())

    async def partition(self, partition: Partition | None = None) -> str:
        """Partition the proxy from its clients (new connections hang and open ones
        freeze, unless ``partition`` says otherwise) until :meth:`heal`."""
        partition = partition or Partition()
        self._partition = partition
        self._healed.clear()
        cut = 0
        if partition.existing == OpenConnections.FREEZE:
            self._flowing.clear()
        else:
            self._flowing.set()
            cut = self._reset([c for c in self._connections if not c.held])
        if partition.new == NewConnections.REFUSE and self._server is not None:
            self._server.close()
            self._server = None
        elif partition.new == NewConnections.HANG and self._server is None and self._started:
            await self._listen()
        detail = f" ({cut} cut)" if partition.existing == OpenConnections.CUT else ""
        return self._say(f"partitioned: {partition.describe()}{detail}")

    async def heal(self) -> str:
        """End a partition: frozen bytes flow, held connections go on, the listener is back."""
        if self._partition is None:
            return self._say("not partitioned: nothing to heal")
        held = sum(1 for c in self._connections if c.held)
        self._partition = None
        self._flowing.set()
        self._healed.set()
        if self._server is None and self._started:
            try:
                await self._listen()
            except OSError as error:
                raise ConfigError(
                    f"cannot listen on {self.address} again: {error.strerror or error}",
                    hint="another process took the port while the proxy refused connections",
                ) from None
        return self._say(f"healed: {held} held connections go on")

    def reset_all(self) -> str:
        """Reset (RST both ways) every open connection, now."""
        cut = self._reset(list(self._connections))
        return self._say(f"reset {cut} open connections")

    def _reset(self, connections: list[_Connection]) -> int:
        for connection in connections:
            connection.reset()
            if connection.task is not None:
                connection.task.cancel()
        self._cut += len(connections)
        CONNECTIONS.labels("cut").inc(len(connections))
        return len(connections)

    def _say(self, sentence: str) -> str:
        log.info(sentence, proxy=self.name)
        return sentence

    def statistics(self) -> ProxyStatistics:
        stalls = self._stalls + sum(
            line.statistics().stalls for c in self._connections for line in c.lines.values()
        )
        return ProxyStatistics(
            accepted=self._accepted,
            open=len(self._connections),
            held=sum(1 for c in self._connections if c.held),
            refused=self._refused,
            cut=self._cut,
            upstream_failures=self._upstream_failures,
            bytes_upstream=self._bytes[Direction.UPSTREAM],
            bytes_downstream=self._bytes[Direction.DOWNSTREAM],
            stalls=stalls,
        )

    # -- connections ---------------------------------------------------------------------

    def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._accepted += 1
        CONNECTIONS.labels("accepted").inc()
        OPEN.inc()
        connection = _Connection(self._accepted, writer)
        self._connections.add(connection)
        task = asyncio.create_task(self._serve(connection, reader), name=f"chaos-{self._accepted}")
        connection.task = task
        task.add_done_callback(lambda done: self._done(connection, done))

    def _done(self, connection: _Connection, task: asyncio.Task[None]) -> None:
        self._connections.discard(connection)
        OPEN.dec()
        self._stalls += sum(line.statistics().stalls for line in connection.lines.values())
        connection.close()
        if not task.cancelled() and task.exception() is not None:
            log.error(
                f"connection {connection.number} failed: {task.exception()!r}", proxy=self.name
            )

    async def _serve(self, connection: _Connection, reader: asyncio.StreamReader) -> None:
        decision = admit(self._faults, self._partition, self._rng)
        while isinstance(decision, Hold):
            connection.held = True
            await self._healed.wait()
            connection.held = False
            decision = admit(self._faults, self._partition, self._rng)
        if isinstance(decision, Refuse):
            self._refused += 1
            CONNECTIONS.labels("refused").inc()
            connection.reset()
            return
        if decision.connect_delay_s > 0:
            await asyncio.sleep(decision.connect_delay_s)
        host, port = self.upstream
        try:
            async with asyncio.timeout(self.connect_timeout_s):
                up_reader, up_writer = await asyncio.open_connection(host, port)
        except (OSError, TimeoutError) as error:
            self._upstream_failures += 1
            CONNECTIONS.labels("upstream_failed").inc()
            log.info(f"upstream {host}:{port} failed: {error!r}", proxy=self.name)
            connection.reset()
            return
        connection.upstream = up_writer
        now = asyncio.get_running_loop().time()
        for direction in Direction:
            connection.lines[direction] = DelayLine(
                self._faults.link(direction), rng=self._rng, now=now
            )
        pipes = (
            _Pipe(
                self, reader, up_writer, connection.lines[Direction.UPSTREAM], Direction.UPSTREAM
            ),
            _Pipe(
                self,
                up_reader,
                connection.client,
                connection.lines[Direction.DOWNSTREAM],
                Direction.DOWNSTREAM,
            ),
        )
        try:
            async with asyncio.TaskGroup() as group:
                for pipe in pipes:
                    group.create_task(pipe.run())
        except* OSError:  # a reset or broken pipe on one side resets the other
            connection.reset()

    def _forwarded(self, direction: Direction, size: int) -> None:
        self._bytes[direction] += size
        BYTES.labels(str(direction)).inc(size)


class _Pipe:
    """One direction of one connection: a reader that schedules, a writer that waits."""

    def __init__(
        self,
        proxy: FaultProxy,
        src: asyncio.StreamReader,
        dst: asyncio.StreamWriter,
        line: DelayLine,
        direction: Direction,
    ) -> None:
        self.proxy, self.src, self.dst, self.line, self.direction = (
            proxy,
            src,
            dst,
            line,
            direction,
        )
        self.queue: asyncio.Queue[tuple[float, bytes | None]] = asyncio.Queue()
        self.held = 0
        self.room = asyncio.Event()
        self.room.set()

    async def run(self) -> None:
        async with asyncio.TaskGroup() as group:
            group.create_task(self._read())
            group.create_task(self._write())

    async def _read(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            data = await self.src.read(READ_BYTES)
            now = loop.time()
            if not data:
                self.queue.put_nowait((self.line.end(now), None))
                return
            for piece in self.line.schedule(len(data), now):
                self.queue.put_nowait((piece.at, data[piece.start : piece.end]))
            self.held += len(data)
            if self.held >= MAX_HELD_BYTES:
                self.room.clear()
                await self.room.wait()

    async def _write(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            at, data = await self.queue.get()
            wait = at - loop.time()
            if wait > 0:
                await asyncio.sleep(wait)
            await self.proxy._flowing.wait()
            if self.dst.is_closing():
                raise ConnectionResetError(f"{self.direction} side closed")
            if data is None:
                if self.dst.can_write_eof():
                    self.dst.write_eof()
                return
            self.dst.write(data)
            await self.dst.drain()
            self.proxy._forwarded(self.direction, len(data))
            self.held -= len(data)
            if self.held < MAX_HELD_BYTES:
                self.room.set()
