"""What the fault proxy does to traffic: immutable records, one per kind of fault.

A :class:`Faults` record holds one :class:`Link` per direction (what happens
to the bytes of a connection on their way) and the faults of a connection as
a whole (a delay before connecting upstream, a share of new connections
reset). A :class:`Partition` is kept apart from them: it is switched on and
off (``partition()``/``heal()``) while the link faults stay as they were.

The directions are named as Toxiproxy names its streams: **upstream** is
client -> upstream server (requests), **downstream** is upstream server ->
client (responses).

Every field is validated when a record is made, so a record that exists is
one the proxy can apply; :mod:`.spec` turns JSON and ``key=value`` text into
these records with messages that name the field at fault.
"""

from __future__ import annotations

import enum
import math
from dataclasses import dataclass, field

from millionscale.errors import ConfigError

__all__ = [
    "MAX_DELAY_S",
    "MIN_BURST_BYTES",
    "STALL_S",
    "TBF_BURST_S",
    "Direction",
    "Faults",
    "Jitter",
    "Link",
    "NewConnections",
    "OpenConnections",
    "Partition",
]

# Linux's TCP_RTO_MIN (include/net/tcp.h: HZ/5): the least time a lost segment waits
# before it is sent again, so the least a "lost" chunk is held.
STALL_S = 0.2
# Our bound on any delay a fault adds: a test that wants a longer one wants a partition.
MAX_DELAY_S = 600.0
# tc-tbf(8): "the minimum buffer [burst] ... must be at least rate / HZ"; with HZ=100
# that is 10 ms worth of bytes at the configured rate.
TBF_BURST_S = 0.01
MIN_BURST_BYTES = 1500  # one Ethernet MTU: a link never sends less than a frame at once


class Direction(enum.StrEnum):
    """Which way bytes flow (Toxiproxy's stream names)."""

    UPSTREAM = "upstream"  # client -> upstream server
    DOWNSTREAM = "downstream"  # upstream server -> client


class Jitter(enum.StrEnum):
    """How a chunk's delay varies around ``latency_s``, always within ``±jitter_s``."""

    UNIFORM = "uniform"  # uniform on [-jitter_s, +jitter_s] (Toxiproxy's latency toxic)
    NORMAL = "normal"  # normal with sigma = jitter_s / 3, cut at ±jitter_s (netem-like)


class NewConnections(enum.StrEnum):
    """What a partition does to connections that arrive during it."""

    HANG = "hang"  # accepted, then nothing: no upstream connection, no byte either way
    REFUSE = "refuse"  # the listener is closed: connect() fails with ECONNREFUSED


class OpenConnections(enum.StrEnum):
    """What a partition does to connections already open when it starts."""

    FREEZE = "freeze"  # bytes held (none lost) until heal
    CUT = "cut"  # reset at once (RST both ways)


def _check(ok: bool, message: str, hint: str) -> None:
    if not ok:
        raise ConfigError(message, hint=hint)


def _check_seconds(name: str, value: float) -> None:
    _check(
        math.isfinite(value) and 0 <= value <= MAX_DELAY_S,
        f"{name} must be 0 to {MAX_DELAY_S:g} s, not {value!r}",
        "0 is none; a longer outage is a partition",
    )


def _check_probability(name: str, value: float) -> None:
    _check(
        math.isfinite(value) and 0 <= value <= 1,
        f"{name} must be a probability from 0 to 1, not {value!r}",
        "0.1 means one in ten",
    )


@dataclass(frozen=True, slots=True)
class Link:
    """The faults of one direction, applied chunk by chunk (a chunk is what one read got).

    - ``latency_s`` plus a draw of ``jitter`` within ``±jitter_s`` delays each
      chunk (never below zero); chunks still leave in the order they came, so a
      chunk drawn short waits behind the one before it, as TCP's in-order
      delivery makes a receiver wait;
    - ``bytes_per_s`` caps the rate with a token bucket of ``burst_bytes``
      (default: :data:`TBF_BURST_S` worth, at least :data:`MIN_BURST_BYTES`);
      ``None`` is no cap;
    - with probability ``stall_probability`` a chunk is held ``stall_s`` more,
      which is what a lost segment costs a TCP stream: a stall, not a gap.
    """

    latency_s: float = 0.0
    jitter_s: float = 0.0
    jitter: Jitter = Jitter.UNIFORM
    bytes_per_s: float | None = None
    burst_bytes: int | None = None
    stall_probability: float = 0.0
    stall_s: float = STALL_S

    def __post_init__(self) -> None:
        _check_seconds("latency", self.latency_s)
        _check_seconds("jitter", self.jitter_s)
        _check_seconds("stall", self.stall_s)
        _check_probability("stall_probability", self.stall_probability)
        if self.bytes_per_s is not None:
            _check(
                math.isfinite(self.bytes_per_s) and 1 <= self.bytes_per_s <= 1e12,
                f"bytes_per_s must be 1 to 1e12, not {self.bytes_per_s!r}",
                "leave it out for no bandwidth limit",
            )
        if self.burst_bytes is not None:
            _check(
                1 <= self.burst_bytes <= 1 << 30,
                f"burst_bytes must be 1 to {1 << 30}, not {self.burst_bytes!r}",
                "a burst is what the link may send at once",
            )

    @property
    def burst(self) -> int:
        """The token bucket's size in bytes (only meaningful with ``bytes_per_s``)."""
        if self.burst_bytes is not None:
            return self.burst_bytes
        rate = self.bytes_per_s or 0.0
        return max(MIN_BURST_BYTES, math.ceil(rate * TBF_BURST_S))

    @property
    def min_delay_s(self) -> float:
        """The least delay a chunk gets (before the bandwidth limit and stalls)."""
        return max(0.0, self.latency_s - self.jitter_s)

    @property
    def max_delay_s(self) -> float:
        """The most delay a chunk gets (before the bandwidth limit and stalls)."""
        return self.latency_s + self.jitter_s

    @property
    def clean(self) -> bool:
        return self == Link()

    def describe(self) -> str:
        """``+50 ms ±5 ms normal, 100000 B/s, 1% stalls of 200 ms``, or ``clean``."""
        parts = []
        if self.latency_s or self.jitter_s:
            text = f"+{self.latency_s * 1000:g} ms"
            if self.jitter_s:
                text += f" ±{self.jitter_s * 1000:g} ms {self.jitter}"
            parts.append(text)
        if self.bytes_per_s is not None:
            parts.append(f"{self.bytes_per_s:,.0f} B/s (burst {self.burst} B)")
        if self.stall_probability:
            parts.append(f"{self.stall_probability:.2%} stalls of {self.stall_s * 1000:g} ms")
        return ", ".join(parts) or "clean"


@dataclass(frozen=True, slots=True)
class Faults:
    """Everything but a partition: one :class:`Link` per direction, and per connection
    a delay before connecting upstream and the share of new connections reset at once."""

    upstream: Link = field(default_factory=Link)
    downstream: Link = field(default_factory=Link)
    connect_delay_s: float = 0.0
    reset_new: float = 0.0

    def __post_init__(self) -> None:
        _check_seconds("connect_delay", self.connect_delay_s)
        _check_probability("reset_new", self.reset_new)

    @classmethod
    def both_ways(
        cls, link: Link, *, connect_delay_s: float = 0.0, reset_new: float = 0.0
    ) -> Faults:
        """The same ``link`` in both directions."""
        return cls(link, link, connect_delay_s, reset_new)

    def link(self, direction: Direction) -> Link:
        return self.upstream if direction is Direction.UPSTREAM else self.downstream

    @property
    def clean(self) -> bool:
        return self == Faults()

    def describe(self) -> str:
        """One line for logs and answers: each direction, then the connection faults."""
        if self.clean:
            return "no faults"
        parts = [
            f"{direction} {self.link(direction).describe()}"
            for direction in Direction
            if not self.link(direction).clean
        ]
        if self.connect_delay_s:
            parts.append(f"connect +{self.connect_delay_s * 1000:g} ms")
        if self.reset_new:
            parts.append(f"{self.reset_new:.2%} of new connections reset")
        return "; ".join(parts)


@dataclass(frozen=True, slots=True)
class Partition:
    """The proxy cut off from its clients: new connections hang or are refused; open
    ones are frozen (bytes held, delivered on heal) or cut (reset)."""

    new: NewConnections = NewConnections.HANG
    existing: OpenConnections = OpenConnections.FREEZE

    def describe(self) -> str:
        new = {
            NewConnections.HANG: "new connections hang",
            NewConnections.REFUSE: "new connections are refused",
        }[self.new]
        existing = {
            OpenConnections.FREEZE: "open ones are frozen",
            OpenConnections.CUT: "open ones are cut",
        }[self.existing]
        return f"{new}, {existing}"
