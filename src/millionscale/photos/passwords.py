"""Password hashing for the photo app: argon2id at OWASP's recommended cost.

OWASP's Password Storage Cheat Sheet recommends argon2id with at least 19 MiB
of memory, 2 iterations and 1 degree of parallelism. That costs about 21 ms of
one core per hash on this project's 2-core machines, against 113 ms for
argon2-cffi's default (RFC 9106's 64 MiB, 3 iterations, 4 lanes): cheap enough
that sign-ups and log-ins stay inside a 100 ms p99, dear enough that an
offline guesser pays per guess. Hashes carry their parameters, so raising them
later re-hashes nobody and locks nobody out.
"""

from __future__ import annotations

from argon2 import PasswordHasher

__all__ = ["MEMORY_KIB", "PARALLELISM", "TIME_COST", "hasher"]

MEMORY_KIB = 19_456  # OWASP: m=19 MiB
TIME_COST = 2  # OWASP: t=2
PARALLELISM = 1  # OWASP: p=1


def hasher() -> PasswordHasher:
    """The photo app's argon2id hasher."""
    return PasswordHasher(time_cost=TIME_COST, memory_cost=MEMORY_KIB, parallelism=PARALLELISM)
