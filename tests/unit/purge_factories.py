"""Factories for the purge tests: edges as discovery members, and an in-memory transport.

:class:`Edges` is a :data:`~millionscale.cdn.purge.Connector` that answers each
edge from a script of raw HTTP answers (or never answers), and records what was
sent to whom, so that the purger's rules are tested without sockets.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field

from millionscale.cdn.purge import AdminAddress, Purger
from millionscale.discovery import Member, StaticDiscovery
from millionscale.testing import FakeClock

TOKEN = "t0ken"
NEVER = b""  # in a script: the edge takes the request and never answers


def member(
    name: str, *, role: str = "edge", health: str = "ready", admin: int | None = 9000
) -> Member:
    ports = {"main": 8000} | ({"admin": admin} if admin is not None else {})
    return Member(name=name, tier="cdn", host="10.0.0.9", ports=ports, role=role, health=health)  # type: ignore[arg-type]


def answer(status: int, body: bytes = b'{"purged": 1}') -> bytes:
    return b"HTTP/1.1 %d X\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n%s" % (
        status,
        len(body),
        body,
    )


class _Writer:
    def __init__(self, sent: list[bytes]) -> None:
        self.sent = sent

    def write(self, data: bytes) -> None:
        self.sent.append(data)

    async def drain(self) -> None:
        return None

    def close(self) -> None:
        return None

    async def wait_closed(self) -> None:
        return None


@dataclass
class Edges:
    """Scripted answers per edge name (the last one repeats); ``calls`` in order."""

    scripts: dict[str, list[bytes]]
    calls: list[str] = field(default_factory=list)
    sent: dict[str, list[bytes]] = field(default_factory=dict)
    refused: set[str] = field(default_factory=set)

    async def __call__(
        self, edge: AdminAddress
    ) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        self.calls.append(edge.name)
        if edge.name in self.refused:
            raise ConnectionRefusedError(111, "Connection refused")
        script = self.scripts[edge.name]
        raw = script.pop(0) if len(script) > 1 else script[0]
        reader = asyncio.StreamReader()
        if raw:
            reader.feed_data(raw)
            reader.feed_eof()
        return reader, _Writer(self.sent.setdefault(edge.name, []))  # type: ignore[return-value]


async def no_sleep(_seconds: float) -> None:
    return None


def purger(edges: Edges, *members: Member, clock: FakeClock | None = None, **options) -> Purger:
    clock = clock or FakeClock()
    return Purger(
        StaticDiscovery.of(members),
        TOKEN,
        connect=edges,
        clock=clock,
        wall=lambda: 1_700_000_000.0,
        sleep=no_sleep,
        **options,
    )
