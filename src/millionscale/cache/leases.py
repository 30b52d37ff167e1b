"""Leases: who may fill a missing key, and what everyone else does meanwhile.

From Nishtala et al., "Scaling Memcache at Facebook" (NSDI 2013), section
3.2.1. A reader that misses in the shared tier takes a *lease* on the key in
the same atomic step (``SET lease token NX PX period``): a random token only
it knows. Then:

- only the lease holder calls the loader, and its ``set`` is accepted only
  while its token is still the lease (a Lua script compares and writes in one
  step). An invalidation deletes the value *and* the lease, so a holder that
  read the truth before a write committed holds a dead token afterwards, and
  its stale value is refused;
- every other reader that misses finds the lease held: it waits a little and
  reads again (it finds the value, or the lease gone and takes it), or, if a
  stale value exists, is served that at once;
- a lease expires after its period: a holder that died blocks the others for
  at most that long. A live holder whose load runs longer renews its lease
  (compare-and-expire with its token), so a slow load is not duplicated;
- a reader that has waited ``wait_s`` without a value loads for itself and
  caches nothing: a request is never held longer than that by someone else's
  load.

This module is the pure part: the replies of the read script as records,
and :class:`Lookup`, the per-read state machine that turns each reply into
the next :data:`Action`, on an injected clock. The Redis side is in
:mod:`.l2`; the loop that performs the actions in :mod:`.tiered`.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

from millionscale.cache.envelope import CorruptEnvelope, Envelope
from millionscale.cache.refresh import DEFAULT_BETA, Freshness, freshness

__all__ = [
    "DEFAULT_LEASE_S",
    "DEFAULT_LEASE_WAIT_S",
    "FIRST_POLL_S",
    "MAX_MOVES",
    "MAX_POLL_S",
    "Action",
    "Corrupt",
    "DropCorrupt",
    "Found",
    "Granted",
    "Held",
    "LeasePolicy",
    "Load",
    "LoadUncached",
    "Lookup",
    "Moved",
    "NotFound",
    "ReadAgain",
    "Reply",
    "Serve",
    "UnexpectedReply",
    "Wait",
    "parse_read_reply",
]

# Defaults. A lease must outlive a normal load (milliseconds for a database
# read) by far, and be short enough that a dead holder costs little: 1 s.
# (Facebook's memcache limits lease tokens to one per key every 10 s; we
# renew a live holder's lease instead, so the period is only the time a
# *dead* holder blocks others.)
DEFAULT_LEASE_S = 1.0
DEFAULT_LEASE_WAIT_S = 2.0  # two lease periods: long enough for a takeover after a holder's death
FIRST_POLL_S = 0.002  # a database read on a LAN: the value is often there after one poll
MAX_POLL_S = 0.05  # the poll interval doubles up to this
MAX_MOVES = 3  # generation changes tolerated in one read before loading uncached


class UnexpectedReply(ValueError):
    """A reply of the read script that is not one of its shapes (a bug, or not our script)."""


@dataclass(frozen=True, slots=True)
class Found:
    """A value is stored; its key has ``ttl_ms`` to live (Redis ``PTTL``)."""

    envelope: Envelope
    ttl_ms: int


@dataclass(frozen=True, slots=True)
class Corrupt:
    """Bytes are stored under our key that are no envelope (``raw``, exactly as read)."""

    raw: bytes
    reason: str


@dataclass(frozen=True, slots=True)
class Granted:
    """Nothing stored; the lease is now ours (our token)."""


@dataclass(frozen=True, slots=True)
class Held:
    """Nothing stored; another reader holds the lease for ``ttl_ms`` more."""

    ttl_ms: int


@dataclass(frozen=True, slots=True)
class NotFound:
    """Nothing stored, and no lease was asked for (a plain ``get``)."""


@dataclass(frozen=True, slots=True)
class Moved:
    """The generation is not the one the reader named: it is ``generation`` now."""

    generation: int


Reply = Found | Corrupt | Granted | Held | NotFound | Moved

_FOUND, _GRANTED, _HELD, _NOT_FOUND, _MOVED = 1, 2, 3, 4, 0


def parse_read_reply(raw: object) -> Reply:
    """The read script's reply (a list whose first item says its shape) as a record."""
    if not isinstance(raw, list) or not raw or not isinstance(raw[0], int):
        raise UnexpectedReply(f"read script replied {raw!r:.80}")
    shape = raw[0]
    try:
        if shape == _FOUND and len(raw) == 3:
            data, ttl_ms = raw[1], raw[2]
            if not isinstance(data, bytes) or not isinstance(ttl_ms, int):
                raise UnexpectedReply(f"read script replied {raw!r:.80}")
            try:
                return Found(Envelope.decode(data), ttl_ms)
            except CorruptEnvelope as error:
                return Corrupt(data, str(error))
        if shape == _GRANTED and len(raw) == 1:
            return Granted()
        if shape == _HELD and len(raw) == 2:
            return Held(int(raw[1]))
        if shape == _NOT_FOUND and len(raw) == 1:
            return NotFound()
        if shape == _MOVED and len(raw) == 2:
            return Moved(int(raw[1]))
    except (TypeError, ValueError):
        pass
    raise UnexpectedReply(f"read script replied {raw!r:.80}")


@dataclass(frozen=True, slots=True)
class LeasePolicy:
    """How readers share a miss: the lease period, the wait, the polls, early refresh."""

    lease_s: float = DEFAULT_LEASE_S
    wait_s: float = DEFAULT_LEASE_WAIT_S
    first_poll_s: float = FIRST_POLL_S
    max_poll_s: float = MAX_POLL_S
    beta: float = DEFAULT_BETA

    def __post_init__(self) -> None:
        for name in ("lease_s", "first_poll_s", "max_poll_s"):
            value = getattr(self, name)
            if not (value > 0 and math.isfinite(value)):
                raise ValueError(f"{name} must be a positive number of seconds, not {value}")
        if not (self.wait_s >= 0 and math.isfinite(self.wait_s)):
            raise ValueError(f"wait_s must be 0 or more seconds, not {self.wait_s}")
        if self.max_poll_s < self.first_poll_s:
            raise ValueError("max_poll_s must be at least first_poll_s")
        if not (self.beta >= 0 and math.isfinite(self.beta)):
            raise ValueError(f"beta must be 0 (no early refresh) or more, not {self.beta}")

    @property
    def lease_ms(self) -> int:
        return max(1, round(self.lease_s * 1000))


@dataclass(frozen=True, slots=True)
class Serve:
    """Serve the value found; refresh it in the background unless it is ``FRESH``."""

    envelope: Envelope
    ttl_ms: int
    freshness: Freshness
    why: str

    @property
    def fresh_s(self) -> float:
        """How long the value stays fresh (0 when stale; infinity for a key without expiry)."""
        if self.ttl_ms == -1:
            return math.inf
        return max(0.0, (self.ttl_ms - self.envelope.stale_ms) / 1000)


@dataclass(frozen=True, slots=True)
class Load:
    """We hold the lease: call the loader, then set with our token."""

    why: str


@dataclass(frozen=True, slots=True)
class Wait:
    """Another reader holds the lease: sleep ``delay_s``, then read again."""

    delay_s: float
    why: str


@dataclass(frozen=True, slots=True)
class ReadAgain:
    """Read again at once (the generation moved)."""

    generation: int
    why: str


@dataclass(frozen=True, slots=True)
class DropCorrupt:
    """Delete ``raw`` from under our key if it is still there, then read again."""

    raw: bytes
    why: str


@dataclass(frozen=True, slots=True)
class LoadUncached:
    """Call the loader and cache nothing: waiting or retrying more would cost more."""

    why: str


Action = Serve | Load | Wait | ReadAgain | DropCorrupt | LoadUncached


class Lookup:
    """One read of one key through the shared tier: each reply in, the next action out.

    Bounds: the read ends (with :class:`Serve`, :class:`Load` or
    :class:`LoadUncached`) within ``policy.wait_s`` of ``started`` plus one
    poll, after at most ``MAX_MOVES`` generation changes and one corrupt
    value dropped.
    """

    def __init__(
        self, policy: LeasePolicy, started: float, random: Callable[[], float], key: str = ""
    ) -> None:
        self.policy = policy
        self.started = started
        self.key = key
        self._random = random
        self._poll_s = policy.first_poll_s
        self._moves = 0
        self._dropped = 0
        self.waits = 0

    def next(self, reply: Reply, now: float) -> Action:
        match reply:
            case Found(envelope, ttl_ms):
                state = freshness(
                    ttl_ms=ttl_ms,
                    stale_ms=envelope.stale_ms,
                    load_ms=envelope.load_ms,
                    beta=self.policy.beta,
                    random=self._random,
                )
                return Serve(envelope, ttl_ms, state, f"found {self.key}: {state.value}")
            case Granted():
                return Load(f"took the lease on {self.key}; loading")
            case Held(ttl_ms):
                waited = now - self.started
                left = self.policy.wait_s - waited
                if left <= 0:
                    return LoadUncached(
                        f"waited {waited:.3f} s for the lease holder of {self.key}; "
                        "loading without caching"
                    )
                delay = min(self._poll_s, left)
                self._poll_s = min(self._poll_s * 2, self.policy.max_poll_s)
                self.waits += 1
                return Wait(
                    delay,
                    f"lease on {self.key} held for {ttl_ms} ms more; reading again in "
                    f"{delay * 1000:.0f} ms",
                )
            case Moved(generation):
                self._moves += 1
                if self._moves > MAX_MOVES:
                    return LoadUncached(
                        f"the generation moved {self._moves} times while reading {self.key}; "
                        "loading without caching"
                    )
                return ReadAgain(generation, f"generation is {generation} now; reading again")
            case Corrupt(raw, reason):
                self._dropped += 1
                if self._dropped > 1:
                    return LoadUncached(
                        f"{self.key} is still corrupt after a drop ({reason}); "
                        "loading without caching"
                    )
                return DropCorrupt(raw, f"{self.key} holds no envelope ({reason}); dropping it")
            case NotFound():
                return LoadUncached(f"{self.key} is missing and no lease was asked; loading")
