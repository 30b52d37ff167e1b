"""Single flight: one load per key per process at a time; everyone else awaits it.

Go's ``golang.org/x/sync/singleflight`` in asyncio. When a hundred requests
of one process miss the same key together, one task runs the work and the
other ninety-nine await its result (or its exception): the shared tier and
the database see one request from this process, not a hundred.

The work runs in a task of its own, so a caller that is cancelled (its
client went away) does not cancel the load the others are waiting for; the
task ends with the work, and the key is free again as soon as it has.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Hashable
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

__all__ = ["SingleFlight", "SingleFlightStatistics"]

K = TypeVar("K", bound=Hashable)
T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class SingleFlightStatistics:
    flights: int  # works started
    joined: int  # calls that awaited a work another call had started
    in_flight: int


class SingleFlight(Generic[K]):
    """Runs at most one work per key at a time; concurrent calls for the key share its result."""

    def __init__(self) -> None:
        self._flights: dict[K, asyncio.Task[Any]] = {}
        self._started = 0
        self._joined = 0

    async def do(self, key: K, work: Callable[[], Awaitable[T]]) -> T:
        """The result of ``work()``, or of the work already running for ``key``.

        Callers of one key are expected to pass equivalent works: whichever
        came first runs.
        """
        task = self._flights.get(key)
        if task is None:
            task = asyncio.ensure_future(work())
            self._flights[key] = task
            self._started += 1
            task.add_done_callback(lambda done: self._landed(key, done))
        else:
            self._joined += 1
        result: T = await asyncio.shield(task)
        return result

    def _landed(self, key: K, task: asyncio.Task[Any]) -> None:
        if self._flights.get(key) is task:
            del self._flights[key]
        if not task.cancelled():
            task.exception()  # retrieved: every caller got it, or none is left to care

    def statistics(self) -> SingleFlightStatistics:
        return SingleFlightStatistics(self._started, self._joined, len(self._flights))
