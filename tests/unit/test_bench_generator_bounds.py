"""Everything is bounded: the in-flight cap sheds load as `overload`, the drain gives up as `timeout`."""

from __future__ import annotations

import asyncio
import contextlib

from test_bench_virtual_time import run_virtual

from millionscale.bench.generator import run_open_loop
from millionscale.bench.outcome import OK, Outcome


def hanging_send(seconds: float):
    async def send() -> Outcome:
        await asyncio.sleep(seconds)
        return OK

    return send


def test_requests_beyond_the_in_flight_cap_are_not_sent_and_count_as_overload():
    calls = 0

    async def counting_hang() -> Outcome:
        nonlocal calls
        calls += 1
        await asyncio.sleep(60.0)
        return OK

    async def main():
        return await run_open_loop(100.0, 1.0, counting_hang, max_in_flight=5, drain_timeout_s=0.5)

    summary = run_virtual(main()).summary()

    assert calls == 5
    assert summary.errors_of("overload") == 95
    assert summary.errors_of("timeout") == 5
    assert summary.requests == 100


def test_in_flight_slots_free_up_as_answers_come_back():
    async def main():
        return await run_open_loop(
            100.0, 1.0, hanging_send(0.045), max_in_flight=5, drain_timeout_s=1.0
        )

    summary = run_virtual(main()).summary()

    assert summary.error_count == 0  # 0.045 s at 100/s keeps at most 5 in flight
    assert summary.requests == 100


def test_requests_unfinished_after_the_drain_timeout_count_as_timeout():
    calls = 0

    async def every_third_hangs() -> Outcome:
        nonlocal calls
        calls += 1
        await asyncio.sleep(3600.0 if calls % 3 == 0 else 0.001)
        return OK

    async def main():
        loop = asyncio.get_running_loop()
        start = loop.time()
        recorder = await run_open_loop(30.0, 1.0, every_third_hangs, drain_timeout_s=2.0)
        return recorder, loop.time() - start

    recorder, elapsed = run_virtual(main())
    summary = recorder.summary()

    assert summary.errors_of("timeout") == 10
    assert summary.requests == 30
    assert elapsed < 1.0 + 2.0 + 1.5  # schedule, drain, and the cancellation grace at most


def test_timed_out_requests_are_counted_once_even_if_they_ignore_cancellation():
    async def stubborn() -> Outcome:
        with contextlib.suppress(asyncio.CancelledError):  # swallows it, answers anyway
            await asyncio.sleep(3600.0)
        return OK

    async def main():
        return await run_open_loop(10.0, 1.0, stubborn, drain_timeout_s=0.1)

    summary = run_virtual(main()).summary()

    assert summary.requests == 10
    assert summary.errors_of("timeout") == 10


def test_cancelling_the_run_cancels_its_requests_in_flight():
    cancelled = 0

    async def hang() -> Outcome:
        nonlocal cancelled
        try:
            await asyncio.sleep(3600.0)
        except asyncio.CancelledError:
            cancelled += 1
            raise
        return OK

    async def main() -> int:
        run = asyncio.create_task(run_open_loop(10.0, 10.0, hang))
        await asyncio.sleep(0.55)  # six requests started
        run.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await run
        await asyncio.sleep(0)  # let the cancelled requests unwind
        return cancelled  # counted now, before the loop's own shutdown cancels leftovers

    assert run_virtual(main()) == 6
