"""Single flight: concurrent calls for one key run the work once and share its outcome."""

import asyncio
from collections.abc import Hashable

import pytest

from millionscale.cache.singleflight import SingleFlight


def test_concurrent_calls_for_one_key_run_the_work_once():
    calls = 0

    async def work():
        nonlocal calls
        calls += 1
        await asyncio.sleep(0.01)
        return calls

    async def scenario():
        flight: SingleFlight[Hashable] = SingleFlight()
        results = await asyncio.gather(*(flight.do("k", work) for _ in range(100)))
        return results, flight.statistics()

    results, stats = asyncio.run(scenario())

    assert results == [1] * 100
    assert (stats.flights, stats.joined, stats.in_flight) == (1, 99, 0)


def test_different_keys_fly_separately_and_a_finished_key_flies_again():
    async def scenario():
        flight: SingleFlight[Hashable] = SingleFlight()
        first = await asyncio.gather(flight.do("a", _value("a")), flight.do("b", _value("b")))
        again = await flight.do("a", _value("a2"))
        return first, again, flight.statistics().flights

    first, again, flights = asyncio.run(scenario())

    assert (first, again, flights) == (["a", "b"], "a2", 3)


def test_every_caller_gets_the_works_exception():
    async def failing():
        await asyncio.sleep(0.01)
        raise LookupError("no such row")

    async def scenario():
        flight: SingleFlight[Hashable] = SingleFlight()
        return await asyncio.gather(
            *(flight.do("k", failing) for _ in range(3)), return_exceptions=True
        )

    outcomes = asyncio.run(scenario())

    assert [type(outcome) for outcome in outcomes] == [LookupError] * 3


def test_a_cancelled_caller_does_not_cancel_the_work_the_others_await():
    async def scenario():
        flight: SingleFlight[Hashable] = SingleFlight()
        started = asyncio.Event()

        async def slow():
            started.set()
            await asyncio.sleep(0.05)
            return "done"

        impatient = asyncio.create_task(flight.do("k", slow))
        await started.wait()
        patient = asyncio.create_task(flight.do("k", slow))
        impatient.cancel()
        return await patient, impatient.cancelled()

    assert asyncio.run(scenario()) == ("done", True)


def _value(value):
    async def work():
        await asyncio.sleep(0)
        return value

    return work


@pytest.mark.parametrize("n", [1, 2])
def test_a_lone_caller_is_a_flight_not_a_join(n):
    async def scenario():
        flight: SingleFlight[Hashable] = SingleFlight()
        for _ in range(n):
            await flight.do("k", _value(1))
        return flight.statistics()

    stats = asyncio.run(scenario())

    assert (stats.flights, stats.joined) == (n, 0)
