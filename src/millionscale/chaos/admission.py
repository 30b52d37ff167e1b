"""What happens to a connection the proxy has just accepted.

:func:`admit` takes the faults in force, the partition (if any) and a random
source, and answers one of:

- :class:`Forward`: connect upstream after ``connect_delay_s`` and carry bytes;
- :class:`Hold`: a partition whose new connections hang; the shell asks again
  when the partition heals (so a held connection goes on, as a TCP connection
  whose segments were being retransmitted does once the network is back);
- :class:`Refuse`: reset the connection at once (RST), because a partition
  refuses new connections (the listener is closed, and this one was already
  in its backlog) or because it fell in the ``reset_new`` share.

Each answer carries one sentence saying why, for the log and the tests.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

from millionscale.chaos.faults import Faults, NewConnections, Partition

__all__ = ["Admission", "Forward", "Hold", "Refuse", "admit"]


@dataclass(frozen=True, slots=True)
class Forward:
    connect_delay_s: float
    reason: str


@dataclass(frozen=True, slots=True)
class Hold:
    reason: str


@dataclass(frozen=True, slots=True)
class Refuse:
    reason: str


Admission = Forward | Hold | Refuse


def admit(faults: Faults, partition: Partition | None, rng: random.Random) -> Admission:
    """The fate of a new connection; draws from ``rng`` only for ``reset_new``."""
    if partition is not None:
        if partition.new == NewConnections.HANG:
            return Hold("held: the proxy is partitioned and new connections hang")
        return Refuse("reset: the proxy is partitioned and refuses new connections")
    if faults.reset_new > 0 and rng.random() < faults.reset_new:
        return Refuse(f"reset: one of the {faults.reset_new:.0%} of new connections reset")
    if faults.connect_delay_s > 0:
        delay_ms = faults.connect_delay_s * 1000
        return Forward(faults.connect_delay_s, f"forwarded after a {delay_ms:g} ms connect delay")
    return Forward(0.0, "forwarded")
