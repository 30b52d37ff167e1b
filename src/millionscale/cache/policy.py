"""The eviction policy interface: which keys an L1 cache keeps within its bounds.

The cache (:class:`~millionscale.cache.l1.L1Cache`) owns the entries:
values, deadlines, statistics. A policy owns only keys and their sizes, and
decides which keys leave when the bounds would be broken. The split keeps
the policies small enough to compare on hit ratio alone (``bench/
cache_hit_ratio.py`` drives them through the same cache) and lets a policy
be tested without values or clocks.

Three policies are built in (:data:`POLICIES`): ``lru``
(:class:`~millionscale.cache.lru.Lru`), ``lfu``
(:class:`~millionscale.cache.lfu.Lfu`) and ``w-tinylfu``
(:class:`~millionscale.cache.wtinylfu.WTinyLfu`, the default: at 10 % of
the key space, the best hit ratio on all but one workload of
``docs/cache.md``, 0.03 points behind there, and 14 points ahead of LFU on a
loop; at 1 %, within 0.7 points of LFU).
"""

from __future__ import annotations

import random as _random
from collections.abc import Callable, Hashable, Sequence
from typing import Protocol, TypeVar

from millionscale.cache.lfu import Lfu
from millionscale.cache.lru import Lru
from millionscale.cache.wtinylfu import WTinyLfu
from millionscale.errors import ConfigError

__all__ = ["DEFAULT_POLICY", "POLICIES", "EvictionPolicy", "make_policy"]

K = TypeVar("K", bound=Hashable)

DEFAULT_POLICY = "w-tinylfu"
POLICIES = ("w-tinylfu", "lru", "lfu")


class EvictionPolicy(Protocol[K]):
    """Keeps a set of keys within ``max_entries`` keys and ``max_bytes`` bytes.

    Contract (the cache relies on it; ``tests/unit/test_cache_policy_bounds.py``
    checks it for every policy):

    - after every call, ``len(policy) <= max_entries`` and
      ``policy.bytes <= max_bytes``, where ``bytes`` is the sum of the sizes
      of the keys held;
    - :meth:`add` and :meth:`resize` return every key they dropped to keep
      that promise, each once, and nothing else is ever dropped; they may
      return the key just added or resized (an admission policy may judge it
      the least worth keeping);
    - a key is only passed to :meth:`add` when not held, to the other
      methods when held; sizes are ``1 <= size <= max_bytes``.

    A policy is not thread-safe; the cache calls it under its own rules.
    """

    @property
    def name(self) -> str:
        """The policy's name in :data:`POLICIES`."""
        ...

    @property
    def bytes(self) -> int:
        """The sum of the sizes of the keys held."""
        ...

    def __len__(self) -> int: ...

    def __contains__(self, key: object) -> bool: ...

    def add(self, key: K, size: int) -> Sequence[K]:
        """Hold ``key`` of ``size`` bytes; return the keys dropped to stay in bounds."""
        ...

    def resize(self, key: K, size: int) -> Sequence[K]:
        """``key`` was set again with ``size`` bytes (an access too); return the keys dropped."""
        ...

    def touch(self, key: K) -> None:
        """``key`` was read (a hit)."""
        ...

    def remove(self, key: K) -> None:
        """Forget ``key`` (deleted or expired); its size no longer counts."""
        ...

    def clear(self) -> None:
        """Forget every key."""
        ...


def make_policy(
    name: str,
    max_entries: int,
    max_bytes: int,
    *,
    random: Callable[[], float] = _random.random,
) -> EvictionPolicy[K]:
    """The policy called ``name`` (one of :data:`POLICIES`) with these bounds.

    ``random`` is used by the policies that draw at random (``w-tinylfu``'s
    admission of warm candidates).
    """
    match name:
        case "w-tinylfu":
            return WTinyLfu(max_entries, max_bytes, random=random)
        case "lru":
            return Lru(max_entries, max_bytes)
        case "lfu":
            return Lfu(max_entries, max_bytes)
    raise ConfigError(
        f"unknown eviction policy {name!r}",
        hint=f"use one of: {', '.join(POLICIES)}",
    )
