"""When a cached value stops being served: a time to live, shortened by jitter.

A value set at ``now`` with a time to live of ``ttl_s`` and a jitter fraction
``jitter`` expires at

    now + ttl_s * (1 - jitter * u),   u drawn uniformly from [0, 1)

so its lifetime lies in ``(ttl_s * (1 - jitter), ttl_s]``. Jitter spreads the
expiry of values that were set together (a warm-up, a deploy, a burst of
misses on one page) so they are not all reloaded in the same instant, which
is how a cache turns one slow moment into a thundering herd at the database.
Jitter only ever *shortens* a lifetime: ``ttl_s`` stays a hard bound on how
long a value may be served after it was set, which is the figure the
consistency guarantee of ``docs/cache.md`` is stated in.

A time to live of ``math.inf`` means "never expires" and is represented by a
deadline of ``None``, so entries without expiry cost no clock reading.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

__all__ = ["Expiry"]


@dataclass(frozen=True, slots=True)
class Expiry:
    """Lifetimes of new values: ``ttl_s`` seconds, shortened at random by up to ``jitter``.

    ``absent_ttl_s`` is the lifetime of a cached absence (negative caching);
    ``None`` means the same as ``ttl_s``. Absences usually deserve a shorter
    one: a row that does not exist yet is the row most likely to be created.
    """

    ttl_s: float = math.inf
    jitter: float = 0.0
    absent_ttl_s: float | None = None

    def __post_init__(self) -> None:
        for name, value in (("ttl_s", self.ttl_s), ("absent_ttl_s", self.absent_ttl_s)):
            if value is not None and not value > 0:
                raise ValueError(f"{name} must be positive (math.inf for no expiry), not {value}")
        if not 0.0 <= self.jitter < 1.0:
            raise ValueError(f"jitter is a fraction in [0, 1), not {self.jitter}")

    def deadline(
        self, now: float, random: Callable[[], float], ttl_s: float | None = None
    ) -> float | None:
        """The instant a value set at ``now`` expires, or ``None`` if it never does.

        ``ttl_s`` overrides the configured lifetime for this one value; the
        jitter applies to it too.
        """
        ttl = self.ttl_s if ttl_s is None else ttl_s
        if ttl == math.inf:
            return None
        if not ttl > 0:
            raise ValueError(f"ttl_s must be positive (math.inf for no expiry), not {ttl}")
        if self.jitter:
            ttl *= 1.0 - self.jitter * random()
        return now + ttl

    def absent_deadline(
        self, now: float, random: Callable[[], float], ttl_s: float | None = None
    ) -> float | None:
        """The instant a cached absence set at ``now`` expires, or ``None``."""
        if ttl_s is None:
            ttl_s = self.absent_ttl_s
        return self.deadline(now, random, ttl_s)
