"""The thin asyncio shell around :class:`~millionscale.geodns.authority.Authority`: UDP and
TCP on one address and port.

UDP: one datagram in, at most one out, answered in the callback (no task per
query). TCP (RFC 7766): each message behind its two-byte length, several per
connection, answered in order; a connection idle for :data:`TCP_IDLE_S` is
closed (§6.2.3's "at least a few seconds"), and beyond :data:`TCP_CONNECTIONS`
at once new ones are closed at once rather than queued, so a flood of
connections costs the UDP path nothing but the accepts. Nothing a client
sends makes the shell raise: what the core does not answer gets nothing, and
a SERVFAIL's cause is logged once per distinct cause.
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import socket
import struct
from dataclasses import dataclass
from typing import cast

import structlog

from millionscale.errors import ConfigError
from millionscale.geodns.authority import Authority, Reply
from millionscale.geodns.locate import Address

__all__ = ["TCP_CONNECTIONS", "TCP_IDLE_S", "DnsServer", "ServerStatistics"]

TCP_IDLE_S = 10.0  # RFC 7766 §6.2.3: servers may close after an idle period of seconds
TCP_CONNECTIONS = 256  # at once; past it a new connection is closed
_LENGTH = struct.Struct("!H")

log = structlog.get_logger()


@dataclass(frozen=True, slots=True)
class ServerStatistics:
    udp_queries: int
    tcp_queries: int
    tcp_connections: int  # open now
    tcp_refused: int  # closed at once: too many open


def _address(text: str) -> Address:
    return ipaddress.ip_address(text.split("%", 1)[0])  # without an IPv6 scope id


class _Udp(asyncio.DatagramProtocol):
    def __init__(self, server: DnsServer) -> None:
        self._server = server
        self._transport: asyncio.DatagramTransport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self._transport = cast(asyncio.DatagramTransport, transport)  # uvloop's is no subclass

    def datagram_received(self, data: bytes, addr: tuple[str | int, ...]) -> None:
        self._server._udp += 1
        reply = self._server._respond(data, str(addr[0]), "udp")
        if reply is not None and self._transport is not None:
            self._transport.sendto(reply.wire, addr)

    def error_received(self, exc: Exception) -> None:  # ICMP unreachable from a gone client
        pass


class DnsServer:
    """Serves ``authority`` on ``host``:``port`` over UDP and TCP (port 0: one free port
    for both). :meth:`start`, then :meth:`close`."""

    def __init__(self, authority: Authority, host: str = "127.0.0.1", port: int = 0) -> None:
        self.authority = authority
        self._host, self._port = host, port
        self._udp_transport: asyncio.DatagramTransport | None = None
        self._tcp: asyncio.Server | None = None
        self._connections: set[asyncio.Task[None]] = set()
        self._udp = self._tcp_queries = self._tcp_refused = 0
        self._problems: set[str] = set()

    @property
    def port(self) -> int:
        return self._port

    @property
    def host(self) -> str:
        return self._host

    def statistics(self) -> ServerStatistics:
        return ServerStatistics(
            udp_queries=self._udp,
            tcp_queries=self._tcp_queries,
            tcp_connections=len(self._connections),
            tcp_refused=self._tcp_refused,
        )

    async def start(self) -> None:
        """Bind UDP and TCP on one port; :class:`ConfigError` if it is taken."""
        loop = asyncio.get_running_loop()
        family = socket.AF_INET6 if ":" in self._host else socket.AF_INET
        for attempt in range(8):  # port 0: UDP's free port may be taken for TCP
            udp = socket.socket(family, socket.SOCK_DGRAM)
            tcp = socket.socket(family, socket.SOCK_STREAM)
            tcp.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                udp.bind((self._host, self._port))
                port = udp.getsockname()[1]
                tcp.bind((self._host, port))
            except OSError as error:
                udp.close()
                tcp.close()
                if self._port == 0 and attempt < 7:
                    continue
                raise ConfigError(
                    f"cannot listen for DNS on {self._host}:{self._port}: {error.strerror}",
                    hint="give a free --port (53 needs root), or 0 for any",
                ) from None
            break
        self._port = port
        transport, _ = await loop.create_datagram_endpoint(lambda: _Udp(self), sock=udp)
        self._udp_transport = transport
        self._tcp = await asyncio.start_server(self._serve_tcp, sock=tcp, backlog=512)

    async def close(self) -> None:
        if self._udp_transport is not None:
            self._udp_transport.close()
        if self._tcp is not None:
            self._tcp.close()
            for task in list(self._connections):
                task.cancel()
            await asyncio.gather(*self._connections, return_exceptions=True)
            await self._tcp.wait_closed()

    def _respond(self, wire: bytes, source: str, transport: str) -> Reply | None:
        reply = self.authority.respond(
            wire, _address(source), "udp" if transport == "udp" else "tcp"
        )
        if reply is not None and reply.problem is not None and reply.problem not in self._problems:
            self._problems.add(reply.problem)
            log.error("answered SERVFAIL: a bug in the answering code", problem=reply.problem)
        return reply

    async def _serve_tcp(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        if len(self._connections) >= TCP_CONNECTIONS:
            self._tcp_refused += 1
            writer.close()
            return
        self._connections.add(task)
        peer = writer.get_extra_info("peername")
        source = str(peer[0]) if peer else "::"
        try:
            while True:
                try:
                    head = await asyncio.wait_for(reader.readexactly(2), TCP_IDLE_S)
                    (length,) = _LENGTH.unpack(head)
                    wire = await asyncio.wait_for(reader.readexactly(length), TCP_IDLE_S)
                except (TimeoutError, asyncio.IncompleteReadError, ConnectionError):
                    return
                self._tcp_queries += 1
                reply = self._respond(wire, source, "tcp")
                if reply is None:
                    continue
                writer.write(_LENGTH.pack(len(reply.wire)) + reply.wire)
                await writer.drain()
        except ConnectionError:
            return
        finally:
            self._connections.discard(task)
            writer.close()
            with contextlib.suppress(ConnectionError):
                await writer.wait_closed()
