"""The generator keeps its schedule: requests start at their intended times, open loop."""

from __future__ import annotations

import asyncio

import pytest
from test_bench_virtual_time import run_virtual

from millionscale.bench.generator import run_open_loop
from millionscale.bench.outcome import OK, Outcome
from millionscale.errors import ConfigError


def test_requests_start_on_schedule_even_while_earlier_ones_are_in_flight():
    started: list[float] = []
    most_in_flight = 0
    in_flight = 0

    async def slow_send() -> Outcome:
        nonlocal in_flight, most_in_flight
        started.append(asyncio.get_running_loop().time())
        in_flight += 1
        most_in_flight = max(most_in_flight, in_flight)
        await asyncio.sleep(0.5)  # 25 intended send times pass while this waits
        in_flight -= 1
        return OK

    async def main() -> float:
        start = asyncio.get_running_loop().time()
        await run_open_loop(50.0, 1.0, slow_send)
        return start

    start = run_virtual(main())

    assert [round(t - start, 9) for t in started] == [round(i / 50.0, 9) for i in range(50)]
    assert most_in_flight == 25


def test_latency_runs_from_the_intended_time_not_the_start_of_the_request():
    async def send() -> Outcome:
        await asyncio.sleep(0.020)
        return OK

    async def main():
        return await run_open_loop(10.0, 1.0, send)

    latency = run_virtual(main()).summary().latency_ms

    assert latency.p50 is not None
    assert latency.max is not None
    assert 19.9 <= latency.p50 <= 20.1
    assert 19.9 <= latency.max <= 20.1


def test_progress_is_reported_up_to_the_total():
    seen: list[tuple[int, int]] = []

    async def send() -> Outcome:
        return OK

    async def main():
        return await run_open_loop(100.0, 2.0, send, progress=lambda n, t: seen.append((n, t)))

    run_virtual(main())

    assert seen[-1] == (200, 200)
    assert all(total == 200 for _, total in seen)
    assert len(seen) < 200  # reported now and then, not once per request


def test_a_send_that_raises_counts_as_other_and_the_run_goes_on():
    calls = 0

    async def flaky() -> Outcome:
        nonlocal calls
        calls += 1
        if calls % 2:
            raise RuntimeError("boom")
        return OK

    async def main():
        return await run_open_loop(10.0, 1.0, flaky)

    summary = run_virtual(main()).summary()

    assert summary.requests == 10
    assert summary.errors_of("other") == 5


@pytest.mark.parametrize(
    ("options", "needle"),
    [
        pytest.param({"max_in_flight": 0}, "in-flight cap", id="cap"),
        pytest.param({"drain_timeout_s": -1.0}, "drain timeout", id="drain"),
    ],
)
def test_bad_bounds_are_config_errors(options, needle):
    async def send() -> Outcome:
        return OK

    async def main():
        return await run_open_loop(10.0, 1.0, send, **options)

    with pytest.raises(ConfigError, match=needle):
        run_virtual(main())
