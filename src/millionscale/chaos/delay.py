"""The delay line of one direction: when each chunk of a byte stream may be written.

The shell reads a chunk, hands its size and the time to :meth:`DelayLine.schedule`
and gets back :class:`Piece` s: slices of the chunk, each with the time it may
be written. It writes them in that order, at those times. A chunk's time is

    release = max(previous release, sent + delay)

where ``sent`` is when the token bucket lets the slice onto the link (now, if
there is no bandwidth limit) and ``delay`` is one draw per chunk of latency
plus jitter (:func:`draw_delay`), plus ``stall_s`` if the chunk "is lost".

The guarantees, which the tests check over arbitrary schedules:

- **order**: release times never decrease, and pieces cover the chunk
  exactly, in order, so bytes are neither reordered nor lost;
- **delay**: each piece leaves no earlier than ``sent + min_delay_s``; with
  no bandwidth limit and no stall, no later than the later of the previous
  release and ``now + max_delay_s``;
- **rate**: slices are at most ``burst`` bytes and their ``sent`` times obey
  the bucket's bound (:mod:`.bucket`).

Loss is modelled as a stall because on a TCP stream nothing is lost: a
dropped segment is sent again after the retransmission timeout, and the
stream waits for it (head-of-line blocking). What a reader sees is a pause.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

from millionscale.chaos.bucket import TokenBucket
from millionscale.chaos.faults import Jitter, Link

__all__ = ["NORMAL_SIGMAS", "DelayLine", "LineStatistics", "Piece", "draw_delay"]

# A normal jitter's sigma is jitter_s / 3, so about 99.7 % of draws fall inside ±jitter_s
# unclipped (the three-sigma rule); the rest are clipped to the bound.
NORMAL_SIGMAS = 3.0


def draw_delay(link: Link, rng: random.Random) -> float:
    """One chunk's delay: ``latency_s`` plus jitter, within
    ``[link.min_delay_s, link.max_delay_s]``."""
    offset = 0.0
    if link.jitter_s > 0:
        if link.jitter == Jitter.NORMAL:
            offset = rng.gauss(0.0, link.jitter_s / NORMAL_SIGMAS)
            offset = max(-link.jitter_s, min(link.jitter_s, offset))
        else:
            offset = rng.uniform(-link.jitter_s, link.jitter_s)
    return min(link.max_delay_s, max(link.min_delay_s, link.latency_s + offset))


@dataclass(frozen=True, slots=True)
class Piece:
    """Bytes ``[start, end)`` of a chunk, to be written at ``at``."""

    start: int
    end: int
    at: float
    stalled: bool = False

    @property
    def size(self) -> int:
        return self.end - self.start


@dataclass(frozen=True, slots=True)
class LineStatistics:
    chunks: int
    bytes: int
    stalls: int


class DelayLine:
    """Release times for one direction of one connection, under a :class:`Link` that
    may change while the connection is open (chunks already scheduled keep their
    times: they are "on the wire")."""

    def __init__(self, link: Link, *, rng: random.Random, now: float) -> None:
        self._rng = rng
        self._last = now  # the latest release time handed out
        self._chunks = self._bytes = self._stalls = 0
        self.link = link
        self._bucket = self._bucket_for(link, now)

    @staticmethod
    def _bucket_for(link: Link, now: float) -> TokenBucket | None:
        if link.bytes_per_s is None:
            return None
        return TokenBucket(link.bytes_per_s, link.burst, now=now)

    def change(self, link: Link, now: float) -> None:
        """Apply ``link`` to chunks read from now on (a new rate starts a full bucket)."""
        if link.bytes_per_s != self.link.bytes_per_s or link.burst != self.link.burst:
            self._bucket = self._bucket_for(link, now)
        self.link = link

    def schedule(self, size: int, now: float) -> list[Piece]:
        """The pieces of a chunk of ``size`` bytes read at ``now``, in order."""
        if size < 1:
            raise ValueError(f"a chunk has at least one byte, not {size}")
        link = self.link
        delay = draw_delay(link, self._rng)
        stalled = link.stall_probability > 0 and self._rng.random() < link.stall_probability
        if stalled:
            delay += link.stall_s
            self._stalls += 1
        self._chunks += 1
        self._bytes += size
        step = size if self._bucket is None else self._bucket.burst
        pieces = []
        for start in range(0, size, step):
            end = min(size, start + step)
            sent = now if self._bucket is None else self._bucket.reserve(end - start, now)
            self._last = max(self._last, sent + delay)
            pieces.append(Piece(start, end, self._last, stalled))
        return pieces

    def end(self, now: float) -> float:
        """When the end of the stream (a FIN) may follow: after every byte, one delay
        after ``now`` at the earliest."""
        self._last = max(self._last, now + draw_delay(self.link, self._rng))
        return self._last

    def statistics(self) -> LineStatistics:
        return LineStatistics(self._chunks, self._bytes, self._stalls)
