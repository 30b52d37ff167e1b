"""No coordinated omission: a server that stalls for a second shows up in the tail.

At 100 requests/s for 3 s against a server that answers in 1 ms, except that
every request arriving in [1.0, 2.0) waits until 2.0: the 100 requests meant
for the stall are timed from their intended send times, so their latencies
run from ~1 s down to ~10 ms, and p99 says so. Runs on virtual time.
"""

from __future__ import annotations

import asyncio

from test_bench_virtual_time import run_virtual

from millionscale.bench.generator import run_open_loop
from millionscale.bench.outcome import OK, Outcome
from millionscale.bench.recorder import Recorder

RATE = 100.0
DURATION_S = 3.0
SERVICE_S = 0.001
STALL = (1.0, 2.0)


def stalling_server(start: float):
    """A fake ``send``: 1 ms, except that arrivals during the stall wait for its end."""

    async def send() -> Outcome:
        loop = asyncio.get_running_loop()
        arrival = loop.time() - start
        if STALL[0] <= arrival < STALL[1]:
            await asyncio.sleep(start + STALL[1] - loop.time())
        else:
            await asyncio.sleep(SERVICE_S)
        return OK

    return send


def run_against_stall() -> Recorder:
    async def main() -> Recorder:
        start = asyncio.get_running_loop().time()
        return await run_open_loop(RATE, DURATION_S, stalling_server(start))

    return run_virtual(main())


def test_every_request_is_sent_and_answered():
    summary = run_against_stall().summary()

    assert summary.requests == 300
    assert summary.error_count == 0


def test_p99_shows_the_stall():
    latency = run_against_stall().summary().latency_ms

    assert latency.p99 is not None
    assert latency.max is not None
    assert latency.p99 >= 950.0
    assert 990.0 <= latency.max <= 1001.0


def test_the_median_request_is_unaffected():
    latency = run_against_stall().summary().latency_ms

    assert latency.p50 is not None
    assert 0.9 <= latency.p50 <= 1.1


def test_the_timeline_puts_the_stall_in_the_second_it_was_meant_to_be_sent():
    before, during, after = run_against_stall().summary().timeline

    assert before.p99_ms is not None
    assert during.p99_ms is not None
    assert after.p99_ms is not None
    assert before.p99_ms <= 1.1
    assert during.p99_ms >= 950.0
    assert after.p99_ms <= 1.1
    assert [w.throughput for w in (before, during, after)] == [100.0, 100.0, 100.0]
