"""The knobs of a tiered cache, checked when made: :class:`CacheSettings`."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

from millionscale.cache.breaker import BACKOFF_S, MAX_BACKOFF_S
from millionscale.cache.envelope import MAX_FIELD_MS
from millionscale.cache.hotkeys import HOT_MIN_RATE, HOT_SHARE, HOT_WINDOW_S
from millionscale.cache.invalidation import PENDING_MAX
from millionscale.cache.leases import DEFAULT_LEASE_S, DEFAULT_LEASE_WAIT_S, LeasePolicy
from millionscale.cache.policy import DEFAULT_POLICY, POLICIES
from millionscale.cache.refresh import DEFAULT_BETA
from millionscale.cache.subscription import PING_INTERVAL_S, PONG_TIMEOUT_S
from millionscale.errors import CacheError

__all__ = ["MAX_VALUE_BYTES", "CacheSettings", "L1Admission", "check_ttl"]

L1Admission = Literal["hot", "all", "none"]
MAX_VALUE_BYTES = 1 << 20  # memcached's default item size limit (-I 1m)


@dataclass(frozen=True, slots=True)
class CacheSettings:
    """The knobs of a :class:`TieredCache` (docs/cache.md explains each).

    Lifetimes: ``ttl_s`` of values (default per call), ``absent_ttl_s`` of
    cached absences, ``stale_s`` the window past ``ttl_s`` in which a value is
    still served while one reader refreshes it (0: none); ``beta`` of
    probabilistic early refresh (0: off). L1: ``l1_admission`` ("hot": only
    heavy hitters get copies; "all"; "none"), ``l1_ttl_s`` the longest life of
    any L1 entry, its bounds and eviction policy. Leases: ``lease_s``,
    ``lease_wait_s``. Redis: ``timeout_s`` per command, ``pool_max``
    connections, breaker backoffs, ``ping_interval_s`` and ``pong_timeout_s``
    of the subscription, ``pending_max`` queued invalidations. Hot keys:
    ``hot_window_s``, ``hot_share``, ``hot_min_rate``.
    """

    ttl_s: float = 60.0
    absent_ttl_s: float = 5.0
    stale_s: float = 1.0
    beta: float = DEFAULT_BETA
    l1_admission: L1Admission = "hot"
    l1_ttl_s: float = 5.0
    l1_max_entries: int = 10_000
    l1_max_bytes: int = 64 << 20
    l1_policy: str = DEFAULT_POLICY
    lease_s: float = DEFAULT_LEASE_S
    lease_wait_s: float = DEFAULT_LEASE_WAIT_S
    timeout_s: float = 0.25  # a cache that takes longer than a database read is no cache
    pool_max: int = 50  # redis-py's BlockingConnectionPool default
    breaker_backoff_s: float = BACKOFF_S
    breaker_max_backoff_s: float = MAX_BACKOFF_S
    ping_interval_s: float = PING_INTERVAL_S
    pong_timeout_s: float = PONG_TIMEOUT_S
    pending_max: int = PENDING_MAX
    max_value_bytes: int = MAX_VALUE_BYTES
    hot_window_s: float = HOT_WINDOW_S
    hot_share: float = HOT_SHARE
    hot_min_rate: float = HOT_MIN_RATE

    def __post_init__(self) -> None:
        for name in ("ttl_s", "absent_ttl_s", "l1_ttl_s", "lease_s", "timeout_s"):
            check_ttl(name, getattr(self, name))
        for name in ("stale_s", "beta", "lease_wait_s"):
            value = getattr(self, name)
            if not (value >= 0 and math.isfinite(value)):
                raise CacheError(f"{name} must be a finite number >= 0, not {value!r}")
        if self.l1_policy not in POLICIES:
            raise CacheError(
                f"l1_policy must be one of {', '.join(POLICIES)}, not {self.l1_policy!r}"
            )
        if self.l1_admission not in ("hot", "all", "none"):
            raise CacheError(
                f"l1_admission must be 'hot', 'all' or 'none', not {self.l1_admission!r}"
            )
        for name in ("l1_max_entries", "l1_max_bytes", "pool_max", "pending_max"):
            if getattr(self, name) < 1:
                raise CacheError(f"{name} must be at least 1, not {getattr(self, name)!r}")
        if self.stale_s * 1000 > MAX_FIELD_MS:
            raise CacheError(f"stale_s must be under {MAX_FIELD_MS // 1000} s")

    def lease_policy(self) -> LeasePolicy:
        return LeasePolicy(lease_s=self.lease_s, wait_s=self.lease_wait_s, beta=self.beta)


def check_ttl(name: str, value: object) -> float:
    """``value`` as a lifetime in seconds: positive, finite, within what an entry stores."""
    if (
        not isinstance(value, int | float)
        or isinstance(value, bool)
        or not (0 < value < math.inf)
        or value * 1000 > MAX_FIELD_MS
    ):
        raise CacheError(
            f"{name} must be a positive number of seconds under {MAX_FIELD_MS // 1000}, "
            f"not {value!r}",
            hint="a cache entry needs a finite lifetime",
        )
    return float(value)
