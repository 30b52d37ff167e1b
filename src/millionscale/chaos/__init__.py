"""The fault proxy: latency, bandwidth limits, stalls, partitions and resets on real TCP.

This machine's kernel has no ``tc netem``, so network faults are injected by
a TCP proxy that sits between a client and one upstream (a web server,
PostgreSQL, Redis...) and carries its bytes untouched, but late, slowly, or
not at all. Layers, bottom up:

- :mod:`.faults`: the immutable records of what to do (:class:`Link` per
  direction, :class:`Faults`, :class:`Partition`);
- :mod:`.spec`: their JSON and ``key=value`` forms, validated with messages
  that name the key at fault;
- :mod:`.bucket`: a token bucket that says *when* bytes may go;
- :mod:`.delay`: the delay line of one direction (latency, jitter, stalls,
  bandwidth), which never reorders bytes;
- :mod:`.admission`: what becomes of a new connection (forward, hold, reset);
- :mod:`.proxy`: the asyncio shell, :class:`FaultProxy`, for tests in-process;
- :mod:`.admin` and ``python -m millionscale.chaos``: the same as a process
  with an authenticated HTTP admin API.

The cores are pure: time is passed in as ``now`` and randomness comes from an
injected ``random.Random``. docs/chaos.md says what each fault models and
what it does not (a byte stream is not a packet network).
"""

from millionscale.chaos.admission import Admission, Forward, Hold, Refuse, admit
from millionscale.chaos.bucket import TokenBucket
from millionscale.chaos.delay import NORMAL_SIGMAS, DelayLine, LineStatistics, Piece, draw_delay
from millionscale.chaos.faults import (
    MAX_DELAY_S,
    MIN_BURST_BYTES,
    STALL_S,
    TBF_BURST_S,
    Direction,
    Faults,
    Jitter,
    Link,
    NewConnections,
    OpenConnections,
    Partition,
)
from millionscale.chaos.proxy import (
    CONNECT_TIMEOUT_S,
    MAX_HELD_BYTES,
    READ_BYTES,
    FaultProxy,
    ProxyStatistics,
    parse_address,
)
from millionscale.chaos.spec import (
    CONNECTION_KEYS,
    LINK_KEYS,
    faults_to_json,
    parse_assignments,
    parse_faults,
    parse_partition,
    partition_to_json,
)

__all__ = [
    "CONNECTION_KEYS",
    "CONNECT_TIMEOUT_S",
    "LINK_KEYS",
    "MAX_DELAY_S",
    "MAX_HELD_BYTES",
    "MIN_BURST_BYTES",
    "NORMAL_SIGMAS",
    "READ_BYTES",
    "STALL_S",
    "TBF_BURST_S",
    "Admission",
    "DelayLine",
    "Direction",
    "FaultProxy",
    "Faults",
    "Forward",
    "Hold",
    "Jitter",
    "LineStatistics",
    "Link",
    "NewConnections",
    "OpenConnections",
    "Partition",
    "Piece",
    "ProxyStatistics",
    "Refuse",
    "TokenBucket",
    "admit",
    "draw_delay",
    "faults_to_json",
    "parse_address",
    "parse_assignments",
    "parse_faults",
    "parse_partition",
    "partition_to_json",
]
