"""Virtual time for asyncio, the test helper the bench's generator tests run on.

:class:`VirtualTimeLoop` is a selector event loop whose ``time()`` is virtual:
whenever no callback is ready, it jumps straight to the earliest pending timer
instead of waiting for it. ``asyncio.sleep(3600)`` returns at once, in the
right order relative to every other timer, and ``loop.time()`` reads exactly
the sum of the sleeps. Only code without real I/O may run on it.

It reaches into ``BaseEventLoop``'s private ``_ready`` and ``_scheduled``
(acceptable in a test helper, never in ``src/``). The tests below are its
specification; other test files import it from here.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Coroutine
from typing import Any, TypeVar

T = TypeVar("T")


class VirtualTimeLoop(asyncio.SelectorEventLoop):
    START = 1000.0  # not 0.0: code must not confuse "time zero" with "never set"

    def __init__(self) -> None:
        super().__init__()
        self._virtual_now = self.START

    def time(self) -> float:
        return self._virtual_now

    def _run_once(self) -> None:
        ready: Any = self._ready  # type: ignore[attr-defined]
        scheduled: Any = self._scheduled  # type: ignore[attr-defined]
        if not ready and not self._stopping:  # type: ignore[attr-defined]
            pending = [handle.when() for handle in scheduled if not handle.cancelled()]
            if pending:
                self._virtual_now = max(self._virtual_now, min(pending))
        super()._run_once()  # type: ignore[misc]


def run_virtual(coro: Coroutine[Any, Any, T]) -> T:
    """Run ``coro`` to completion on a fresh :class:`VirtualTimeLoop`."""
    with asyncio.Runner(loop_factory=VirtualTimeLoop) as runner:
        return runner.run(coro)


def test_a_long_sleep_takes_no_real_time_and_advances_the_virtual_clock():
    async def sleep_an_hour() -> tuple[float, float]:
        loop = asyncio.get_running_loop()
        before = loop.time()
        await asyncio.sleep(3600)
        return before, loop.time()

    started = time.monotonic()
    before, after = run_virtual(sleep_an_hour())

    assert after - before == 3600
    assert time.monotonic() - started < 1.0


def test_timers_fire_in_order_at_their_own_times():
    async def sleepers() -> list[tuple[str, float]]:
        loop = asyncio.get_running_loop()
        start = loop.time()
        woke: list[tuple[str, float]] = []

        async def sleeper(name: str, seconds: float) -> None:
            await asyncio.sleep(seconds)
            woke.append((name, loop.time() - start))

        await asyncio.gather(sleeper("late", 2.0), sleeper("early", 0.5), sleeper("mid", 1.0))
        return woke

    assert run_virtual(sleepers()) == [("early", 0.5), ("mid", 1.0), ("late", 2.0)]


def test_a_cancelled_timer_does_not_move_the_clock():
    async def cancel_then_sleep() -> float:
        loop = asyncio.get_running_loop()
        start = loop.time()
        far = loop.call_later(100.0, lambda: None)
        far.cancel()
        await asyncio.sleep(1.0)
        return loop.time() - start

    assert run_virtual(cancel_then_sleep()) == 1.0
