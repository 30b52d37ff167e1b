"""Invalidation: what a write tells every process, and how a process keeps L1 from going stale.

After a write commits, the writer calls ``invalidate(key)``. One Lua script
deletes the key's value and lease in Redis and publishes the key on the
cache's channel, in one atomic step; every process subscribed to the channel
drops the key from its L1. Three pure pieces of that live here:

- the **messages** on the channel (:func:`encode_keys`,
  :func:`encode_generation`, :func:`parse_message`): JSON arrays, so any key
  survives the trip; a message nobody can read clears the whole L1, because
  the only safe reading of "something changed" is "anything may have";
- the **fence** (:class:`InvalidationFence`), which closes the race inside
  one process: a read that fetched a value from Redis *before* the
  invalidation, and would put it in L1 *after* the invalidation message was
  handled, must not. Each read takes a ticket when it starts; an L1 admission
  is refused if the key (or everything) was invalidated since that ticket;
- the **pending queue** (:class:`PendingInvalidations`) of a writer that could
  not reach Redis: invalidations waiting to be sent again, bounded; when it
  overflows, the writer will bump the generation instead (which invalidates
  everything at once) as soon as Redis answers.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass

__all__ = [
    "FENCE_KEYS",
    "PENDING_MAX",
    "InvalidateKeys",
    "InvalidationFence",
    "NewGeneration",
    "PendingInvalidations",
    "Unreadable",
    "encode_generation",
    "encode_keys",
    "parse_message",
]

FENCE_KEYS = 4096  # recent invalidations remembered one by one; beyond, the fence closes for all
PENDING_MAX = 10_000  # queued invalidations per writer before it falls back to a generation bump


@dataclass(frozen=True, slots=True)
class InvalidateKeys:
    keys: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class NewGeneration:
    generation: int


@dataclass(frozen=True, slots=True)
class Unreadable:
    reason: str


Message = InvalidateKeys | NewGeneration | Unreadable


def encode_keys(keys: Iterable[str]) -> bytes:
    return json.dumps(["i", *keys], ensure_ascii=False, separators=(",", ":")).encode()


def encode_generation(generation: int) -> bytes:
    return json.dumps(["g", generation]).encode()


def parse_message(data: bytes) -> Message:
    """A message from the channel, or :class:`Unreadable` (which the reader treats as "all")."""
    try:
        items = json.loads(data)
    except (ValueError, RecursionError) as error:
        return Unreadable(f"not JSON: {error}")
    if isinstance(items, list) and items:
        kind, rest = items[0], items[1:]
        if kind == "i" and rest and all(type(key) is str for key in rest):
            return InvalidateKeys(tuple(rest))
        if kind == "g" and len(rest) == 1 and type(rest[0]) is int and rest[0] >= 0:
            return NewGeneration(rest[0])
    return Unreadable(f"not an invalidation: {data[:60]!r}")


class InvalidationFence:
    """Refuses L1 admissions of values that an invalidation may have overtaken.

    ``begin()`` before reading Redis; ``admits(key, ticket)`` before putting
    what was read into L1. It is ``False`` when, since the ticket,
    ``invalidated(key)`` or ``invalidate_all()`` was called. Memory is
    bounded: at most ``FENCE_KEYS`` keys are remembered; past that the fence
    forgets them and refuses every read begun before (a few L1 admissions are
    lost, never a stale value admitted).
    """

    def __init__(self, max_keys: int = FENCE_KEYS) -> None:
        self._max_keys = max_keys
        self._sequence = 0
        self._floor = 0  # reads begun before this are refused
        self._recent: dict[str, int] = {}  # key -> sequence of its last invalidation

    def begin(self) -> int:
        return self._sequence

    def invalidated(self, key: str) -> None:
        self._sequence += 1
        if len(self._recent) >= self._max_keys:
            self._recent.clear()
            self._floor = self._sequence
        self._recent[key] = self._sequence

    def invalidate_all(self) -> None:
        self._sequence += 1
        self._recent.clear()
        self._floor = self._sequence

    def admits(self, key: str, ticket: int) -> bool:
        if ticket < self._floor:
            return False
        return self._recent.get(key, -1) <= ticket


class PendingInvalidations:
    """Invalidations a writer could not send yet: a bounded, ordered set of keys.

    ``add`` returns ``False`` once more than ``max_keys`` distinct keys wait:
    then the queue is *overflowed*, keeps no keys, and the writer must bump
    the generation (invalidating everything) before anything else. Lost if
    the process dies: see docs/cache.md.

    Sending is not atomic with the queue: a key may be queued again while an
    earlier invalidation of it is on its way (a second write committed after
    the script ran). So :meth:`batch` hands out keys with a stamp, and
    :meth:`sent` forgets a key only if it was not queued again since; a
    generation bump likewise clears the queue only if nothing was queued
    after its :meth:`mark`.
    """

    def __init__(self, max_keys: int = PENDING_MAX) -> None:
        if max_keys < 1:
            raise ValueError("max_keys must be at least 1")
        self._max_keys = max_keys
        self._keys: dict[str, int] = {}  # key -> stamp of its latest queueing
        self._adds = 0
        self.overflowed = False

    def __len__(self) -> int:
        return len(self._keys)

    def __bool__(self) -> bool:
        return self.overflowed or bool(self._keys)

    def __contains__(self, key: object) -> bool:
        return self.overflowed or key in self._keys

    def add(self, keys: Iterable[str]) -> bool:
        """Queue ``keys``; ``False`` if the queue is (now) overflowed."""
        self._adds += 1
        if self.overflowed:
            return False
        for key in keys:
            self._keys.pop(key, None)  # to the end: it is the newest now
            self._keys[key] = self._adds
        if len(self._keys) > self._max_keys:
            self._keys.clear()
            self.overflowed = True
            return False
        return True

    def batch(self, size: int) -> dict[str, int]:
        """The oldest ``size`` keys waiting, with their stamps (left in place until :meth:`sent`)."""
        batch: dict[str, int] = {}
        for key, stamp in self._keys.items():
            if len(batch) == size:
                break
            batch[key] = stamp
        return batch

    def sent(self, batch: dict[str, int]) -> None:
        """The invalidations of ``batch`` were applied: forget the keys not queued again since."""
        for key, stamp in batch.items():
            if self._keys.get(key) == stamp:
                del self._keys[key]

    def mark(self) -> int:
        """A mark to pass to :meth:`reset` after the generation bump it precedes."""
        return self._adds

    def reset(self, mark: int) -> bool:
        """The generation was bumped after ``mark``: nothing waits, unless queued since.

        Whether the queue is now empty; if not, another bump is needed.
        """
        if self._adds != mark:
            return False
        self._keys.clear()
        self.overflowed = False
        return True
