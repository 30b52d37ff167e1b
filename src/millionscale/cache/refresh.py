"""When a cached value should be loaded again: fresh, refresh it early, or stale.

A popular key that simply expires sends every reader to the database at
once. Two defences, both decided here:

- **Probabilistic early refresh** (XFetch: Vattani, Chierichetti and Lowenstein,
  "Optimal Probabilistic Cache Stampede Prevention", VLDB 2015). A reader
  refreshes the value before it expires when

      now - delta * beta * ln(u) >= expiry,   u uniform in (0, 1]

  where ``delta`` is how long the last load took. With ``r = expiry - now``
  the time left, that is ``delta * beta * -ln(u) >= r``: the probability
  per read is ``exp(-r / (delta * beta))``, negligible while ``r`` is many
  load times away and rising to 1 at expiry, so the busier the key, the
  earlier (and the more surely just one) reader refreshes it. ``beta = 1``
  is the paper's optimum; above 1 refreshes earlier.
- **Stale while revalidate** (RFC 5861's name). A value past its fresh
  lifetime but within its stale window is still served, while one reader
  (the lease holder) loads the new one.

Only age is handled here. A value that was *invalidated* (a write changed
the truth) is deleted from the shared tier and never served stale.
"""

from __future__ import annotations

import enum
import math
from collections.abc import Callable

__all__ = ["DEFAULT_BETA", "Freshness", "freshness"]

DEFAULT_BETA = 1.0  # XFetch's optimal beta (Vattani et al., section 4)


class Freshness(enum.Enum):
    """What to do with a value found in the shared tier."""

    FRESH = "fresh"  # serve it
    EARLY = "early"  # serve it, and refresh it in the background (XFetch fired)
    STALE = "stale"  # past its fresh life, within the stale window: serve it and refresh it


def freshness(
    *,
    ttl_ms: int,
    stale_ms: int,
    load_ms: int,
    beta: float = DEFAULT_BETA,
    random: Callable[[], float],
) -> Freshness:
    """Classify a value whose Redis key has ``ttl_ms`` to live (its ``PTTL``).

    The value is fresh while more than ``stale_ms`` remain. ``ttl_ms`` of -1
    (a key without expiry, which the tier never writes) counts as fresh.
    ``random`` returns a float in [0, 1).
    """
    if ttl_ms == -1:
        return Freshness.FRESH
    remaining_ms = ttl_ms - stale_ms
    if remaining_ms <= 0:
        return Freshness.STALE
    if load_ms <= 0 or beta <= 0:
        return Freshness.FRESH
    draw = 1.0 - random()  # in (0, 1]: ln(0) is undefined
    if load_ms * beta * -math.log(draw) >= remaining_ms:
        return Freshness.EARLY
    return Freshness.FRESH
