"""How a purge reaches every edge: a numbered log of purges that the tier below follows.

A purge is made where it is asked for (the shield, or any edge) and written to
that edge's :class:`PurgeLog` with the next sequence number. The edges below
(whose origin is that edge) *follow* the log: each asks its upstream's admin
API for the purges after the last one it applied (``GET /v1/purges?after=N``,
a long poll that returns as soon as there is one), applies them to its own
store, and writes them to its own log, so a purge flows down a tree of any
depth. Edges pull rather than being pushed to because on a real CDN, as in our
topologies, an edge reaches its shield (it fetches from it) while nothing
reaches an edge but its users.

Guarantees:

- **Every purge reaches every follower that keeps following**, in order,
  once: an entry is applied only if its number is the next one, and a
  follower's position survives reconnections.
- **A follower that fell too far behind** (its position older than the log
  keeps, :data:`LOG_ENTRIES`) or that follows a log that was restarted
  (another ``epoch``) cannot know what it missed: it is told so (``gap``) and
  invalidates everything it holds, softly (stale copies stay usable where
  stale is allowed and are revalidated before any fresh use), then carries on
  from the log's end. Correct, and at worst a burst of revalidations.
- **The asker can wait for propagation**: :meth:`PurgeLog.acknowledged`
  tells when every follower has asked past a sequence number (asking past
  ``N`` says ``N`` was applied), so ``POST /v1/purge`` with ``"wait": true``
  answers once every edge holds the purge, or says which did not within its
  bound.

The log is pure (sequence numbers, a clock for acknowledgement times); the
waiting is :class:`PurgeFeed` (asyncio conditions), and following an
upstream is :func:`follow` (an HTTP client loop).
"""

from __future__ import annotations

import asyncio
import contextlib
import secrets
from collections import deque
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any

import structlog

from millionscale.cdn.purge import Purge
from millionscale.errors import ConfigError, Invalid

__all__ = [
    "LOG_ENTRIES",
    "Batch",
    "Entry",
    "PurgeError",
    "PurgeFeed",
    "PurgeLog",
    "follow",
]

log = structlog.get_logger()

LOG_ENTRIES = 10_000  # purges kept for followers (Fastly's purge-all advice begins past
# thousands a minute); a follower further behind gets a gap and invalidates everything
FOLLOW_WAIT_S = 25.0  # one long poll; under common 30 s idle timeouts of proxies
RETRY_S = (0.1, 0.2, 0.5, 1.0, 2.0)  # a follower's backoff when its upstream fails


class PurgeError(Invalid):
    """An upstream's purge batch that is not one (the follower then asks again)."""


@dataclass(frozen=True, slots=True)
class Entry:
    """One purge as a log keeps it: the purge (kind ``all``: everything, which a
    follower that missed purges passes on) and when it was asked for
    (``issued_at``, the asker's wall clock: the purge lag is measured from it at
    every tier)."""

    purge: Purge
    issued_at: float

    def to_json(self) -> dict[str, Any]:
        return {
            "kind": self.purge.kind,
            "value": self.purge.value,
            "soft": self.purge.soft,
            "issued_at": self.issued_at,
        }


@dataclass(frozen=True, slots=True)
class Batch:
    """What a follower gets: the purges numbered ``first`` on (``purges``), the
    log's ``last`` number and ``epoch``; ``gap``: the follower's position is not
    in the log (too old, or another epoch): it must invalidate everything."""

    epoch: str
    first: int
    last: int
    purges: tuple[Entry, ...]
    gap: bool = False

    def to_json(self) -> dict[str, Any]:
        return {
            "epoch": self.epoch,
            "first": self.first,
            "last": self.last,
            "gap": self.gap,
            "purges": [purge.to_json() for purge in self.purges],
        }

    @classmethod
    def from_json(cls, data: object) -> Batch:
        """The batch in an upstream's answer; PurgeError if it is not one."""
        if not isinstance(data, Mapping):
            raise PurgeError("a batch must be a JSON object")
        try:
            purges = tuple(
                Entry(Purge(p["kind"], str(p["value"]), bool(p["soft"])), float(p["issued_at"]))
                for p in data["purges"]
            )
            return cls(
                str(data["epoch"]), int(data["first"]), int(data["last"]), purges, bool(data["gap"])
            )
        except ConfigError as error:
            raise PurgeError(f"a purge batch holds what is no purge: {error.message}") from None
        except (KeyError, TypeError, ValueError) as error:
            raise PurgeError(f"not a purge batch: {error}") from None


class PurgeLog:
    """The last :data:`LOG_ENTRIES` purges, numbered from 1, and who applied what.

    ``epoch`` names this log (a restarted edge starts another, and its
    followers then know their positions mean nothing here).
    """

    def __init__(
        self, clock: Callable[[], float], *, entries: int = LOG_ENTRIES, epoch: str | None = None
    ) -> None:
        self._clock = clock
        self.epoch = epoch or secrets.token_hex(8)
        self._entries: deque[Entry] = deque(maxlen=entries)
        self.last = 0  # the number of the newest purge (0: none yet)
        self._acked: dict[str, tuple[int, float]] = {}  # follower -> (applied up to, when)

    def append(self, purge: Entry) -> int:
        """Log ``purge``; its sequence number."""
        self._entries.append(purge)
        self.last += 1
        return self.last

    def since(self, after: int, epoch: str | None) -> Batch:
        """The purges after number ``after`` of log ``epoch`` (None: a follower
        that never followed, which starts at the end, having nothing to purge)."""
        oldest = self.last - len(self._entries) + 1  # the number of the oldest kept
        if epoch is None:
            return Batch(self.epoch, self.last + 1, self.last, ())
        if epoch != self.epoch or after > self.last or after < oldest - 1:
            return Batch(self.epoch, self.last + 1, self.last, (), gap=True)
        start = after - oldest + 1
        purges = tuple(self._entries[i] for i in range(start, len(self._entries)))
        return Batch(self.epoch, after + 1, self.last, purges)

    def ack(self, follower: str, applied: int) -> None:
        """``follower`` has applied every purge up to number ``applied``."""
        before = self._acked.get(follower, (0, 0.0))[0]
        if applied >= before:
            self._acked[follower] = (applied, self._clock())

    def forget(self, follower: str) -> None:
        self._acked.pop(follower, None)

    def followers(self) -> dict[str, tuple[int, float]]:
        """Every follower: (applied up to, when it last said so)."""
        return dict(self._acked)

    def acknowledged(self, seq: int, *, since: float | None = None) -> tuple[list[str], list[str]]:
        """(followers that applied ``seq``, followers that have not), among those
        heard from since ``since`` (the clock's seconds; None: every follower)."""
        done: list[str] = []
        pending: list[str] = []
        for name, (applied, when) in sorted(self._acked.items()):
            if since is not None and when < since:
                continue
            (done if applied >= seq else pending).append(name)
        return done, pending


class PurgeFeed:
    """A :class:`PurgeLog` with waiting: followers' long polls and an asker's wait."""

    def __init__(self, log_: PurgeLog) -> None:
        self.log = log_
        self._changed = asyncio.Condition()
        self._closed = False

    async def close(self) -> None:
        """Answer every long poll and wait now, and every later one at once, with what
        the log holds: the process is stopping. Its admin server's graceful shutdown
        waits for the requests in flight, and a follower's long poll would otherwise
        hold it for up to :data:`FOLLOW_WAIT_S` (past the supervisor's stop timeout),
        even when the follower is gone already (an edge stopped first). A follower
        told nothing new asks again, and finds the next process."""
        self._closed = True
        async with self._changed:
            self._changed.notify_all()

    async def publish(self, purge: Entry) -> int:
        seq = self.log.append(purge)
        async with self._changed:
            self._changed.notify_all()
        return seq

    async def poll(self, follower: str, after: int, epoch: str | None, wait_s: float) -> Batch:
        """The purges after ``after``, waiting up to ``wait_s`` for one if there is none."""
        if epoch == self.log.epoch:
            await self._ack(follower, after)
        batch = self.log.since(after, epoch)
        if batch.purges or batch.gap or wait_s <= 0 or epoch is None or self._closed:
            return batch
        async with self._changed:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(
                    self._changed.wait_for(lambda: self._closed or self.log.last > after),
                    timeout=wait_s,
                )
        return self.log.since(after, epoch)

    async def _ack(self, follower: str, applied: int) -> None:
        self.log.ack(follower, applied)
        async with self._changed:
            self._changed.notify_all()

    async def wait_applied(
        self, seq: int, timeout_s: float, *, active_since: float | None
    ) -> tuple[list[str], list[str]]:
        """Wait up to ``timeout_s`` until every follower heard from since
        ``active_since`` has applied ``seq``; (those that did, those that did not)."""

        def settled() -> bool:
            return self._closed or not self.log.acknowledged(seq, since=active_since)[1]

        async with self._changed:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._changed.wait_for(settled), timeout=timeout_s)
        return self.log.acknowledged(seq, since=active_since)


Apply = Callable[[Entry], Awaitable[None]]


async def follow(
    fetch: Callable[[int, str | None], Awaitable[object]],
    apply: Apply,
    *,
    on_gap: Callable[[], Awaitable[None]],
    stop: asyncio.Event,
    contacted: asyncio.Event | None = None,
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
) -> None:
    """Follow an upstream's purge log until ``stop`` is set.

    ``fetch(after, epoch)`` asks the upstream for the purges after ``after``
    (its JSON answer, parsed); each purge is ``apply``-ed in order; a gap calls
    ``on_gap`` (invalidate everything, softly). A failing upstream is asked
    again after a backoff (:data:`RETRY_S`); the position is kept meanwhile.
    ``contacted`` is set once the upstream first answered: from then on no
    purge made upstream is missed.
    """
    after, epoch = 0, None
    failures = 0
    while not stop.is_set():
        try:
            batch = Batch.from_json(await fetch(after, epoch))
        except asyncio.CancelledError:
            raise
        except Exception as error:
            delay = RETRY_S[min(failures, len(RETRY_S) - 1)]
            failures += 1
            if failures in (1, 10) or failures % 100 == 0:
                log.warning("cdn: purge feed unreachable", error=str(error), failures=failures)
            await sleep(delay)
            continue
        failures = 0
        if contacted is not None:
            contacted.set()
        if batch.gap:
            if epoch is not None:  # a first contact is no gap: there was nothing before it
                log.warning("cdn: purges missed upstream; invalidating everything (soft)")
                await on_gap()
            after, epoch = batch.last, batch.epoch
            continue
        if epoch is None:
            after, epoch = batch.last, batch.epoch
            continue
        for purge in batch.purges:
            await apply(purge)
            after += 1
