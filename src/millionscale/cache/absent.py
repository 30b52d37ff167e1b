"""The two answers of a lookup that are not a value: a cached absence, and a miss.

Negative caching stores the fact that something does not exist ("no user
with this name", "no photo with this id") so the next reader does not ask
the database again. A cache that stored ``None`` for it could not tell "the
loader said there is nothing" from a value that happens to be ``None``, and
a lookup that returned ``None`` on a miss could not tell either from "not
cached". So both are singletons of their own type, compared with ``is``, and
``mypy`` narrows on them:

    value = cache.get(key)
    if value is MISS:      # nothing cached: load, then cache.set(key, loaded or ABSENT)
        ...
    elif value is ABSENT:  # cached: it does not exist
        ...
    else:                  # the value
        ...
"""

from __future__ import annotations

import enum

__all__ = ["ABSENT", "MISS", "Absent", "Miss"]


class Absent(enum.Enum):
    """A cached absence: the loader found nothing, and that answer is cached."""

    ABSENT = "absent"

    def __repr__(self) -> str:
        return "ABSENT"


class Miss(enum.Enum):
    """Nothing is cached for the key (never set, expired, evicted or deleted)."""

    MISS = "miss"

    def __repr__(self) -> str:
        return "MISS"


ABSENT = Absent.ABSENT
MISS = Miss.MISS
