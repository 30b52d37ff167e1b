"""The wide-area link between data centers: Ethernet frames carried late.

This kernel has no ``tc netem``, so a packet network with latency between
data centers is made in user space: each data center's subnet is a bridge of
its own, and every bridge has one port on a link process
(:mod:`millionscale.chaos.wanlink`) that carries each frame to the others
after the link's latency. To everything on the subnet it is one Ethernet
segment, a long one: addresses, ARP, TCP, PostgreSQL's replication and the
health checks cross it unchanged, only later. This module is its pure core,
:class:`WanSwitch`, a learning switch (IEEE 802.1D's forwarding, as a Linux
bridge does it) whose every crossing takes a delay:

- a frame from a port is never sent back out of it;
- its source address is learnt on its port, for ``AGEING_S`` (300 s, the
  Linux bridge's default); a frame to an address learnt elsewhere goes to
  that port only; to a broadcast, a multicast or an unknown address, to
  every other port (flooded);
- each crossing is released at ``max(last release on that pair, now +
  delay)``, the delay drawn per frame from the :class:`~millionscale.chaos.faults.Link`
  (latency plus jitter, :func:`~millionscale.chaos.delay.draw_delay`): frames
  between two data centers are never reordered, as on one fibre;
- a data center is cut off by setting its port down (``ip link set down``,
  :func:`millionscale.topology.network.cut`): what is sent to it is lost.

Time is passed in as ``now``; randomness comes from an injected ``random.Random``.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field

from millionscale.chaos.delay import draw_delay
from millionscale.chaos.faults import Link
from millionscale.errors import ConfigError

__all__ = ["AGEING_S", "ETHERNET_HEADER", "Crossing", "WanSwitch"]

AGEING_S = 300.0  # brctl's default ageing time
ETHERNET_HEADER = 14  # destination (6), source (6), type (2)


@dataclass(frozen=True, slots=True)
class Crossing:
    """Send the frame out of ``port`` at ``at``."""

    port: str
    at: float


@dataclass(slots=True)
class WanSwitch:
    """Where and when each frame that reaches one port leaves by the others."""

    ports: tuple[str, ...]
    link: Link
    rng: random.Random = field(default_factory=random.Random)
    learnt: dict[bytes, tuple[str, float]] = field(default_factory=dict)  # address: port, when
    released: dict[tuple[str, str], float] = field(default_factory=dict)
    forwarded: int = 0
    dropped: int = 0

    def __post_init__(self) -> None:
        if len(self.ports) < 2 or len(set(self.ports)) != len(self.ports):
            raise ConfigError(
                f"a wide-area link joins two or more distinct ports, not {list(self.ports)}"
            )

    def frame(self, port: str, frame: bytes, now: float) -> list[Crossing]:
        """Where frame ``frame`` (an Ethernet frame, from its header) that came in at
        ``port`` goes, and when; ``[]`` drops it."""
        if len(frame) < ETHERNET_HEADER or port not in self.ports:
            self.dropped += 1
            return []
        destination, source = frame[0:6], frame[6:12]
        if not source[0] & 1:  # a multicast source is malformed: never learnt
            self.learnt[source] = (port, now)
        if destination[0] & 1:  # broadcast or multicast
            out = [p for p in self.ports if p != port]
        else:
            known = self.learnt.get(destination)
            if known is not None and now - known[1] > AGEING_S:
                del self.learnt[destination]
                known = None
            if known is None:
                out = [p for p in self.ports if p != port]
            elif known[0] == port:
                out = []  # both ends on one side: the bridge there delivers it
            else:
                out = [known[0]]
        crossings = []
        for target in out:
            at = max(self.released.get((port, target), now), now + draw_delay(self.link, self.rng))
            self.released[(port, target)] = at
            crossings.append(Crossing(target, at))
        if crossings:
            self.forwarded += 1
        else:
            self.dropped += 1
        return crossings
