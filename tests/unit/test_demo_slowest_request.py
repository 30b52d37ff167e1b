"""The demo's summary names its slowest request, the second it was sent in, and its cause."""

from millionscale.bench.outcome import ERROR_KINDS
from millionscale.bench.recorder import Latency, Summary, Window
from millionscale.demo import slowest_request


def summary(p99_by_second: list[float | None]) -> Summary:
    """A 50 requests/s run whose second ``t`` had p99 ``p99_by_second[t]`` (None: untimed)."""
    timed = [p for p in p99_by_second if p is not None]
    return Summary(
        rate=50.0,
        duration_s=float(len(p99_by_second)),
        throughput=50.0,
        requests=50 * len(p99_by_second),
        latency_ms=Latency(5.0, 9.0, max(timed), max(timed), max(timed)),
        errors=tuple((kind, 0) for kind in ERROR_KINDS),
        timeline=tuple(
            Window(t, 50.0, None if p is None else 5.0, p, 0) for t, p in enumerate(p99_by_second)
        ),
    )


def test_a_slowest_request_sent_during_the_switchover_is_put_down_to_it():
    run = summary([20.0, 25.0, 480.0, 30.0])

    sentence = slowest_request(run, (2.2, 2.5))

    assert sentence == (
        "slowest request: 480 ms, sent 2-3 s into the load, during the switchover (2.2-2.5 s): "
        "writes and primary reads wait while the old primary is drained and shut down and "
        "the routers find the new one"
    )


def test_a_request_sent_the_second_before_the_switchover_counts_as_during_it():
    run = summary([20.0, 700.0, 30.0, 30.0])

    sentence = slowest_request(run, (2.0, 2.3))

    assert sentence is not None
    assert "sent 1-2 s into the load, during the switchover" in sentence


def test_a_slowest_request_outside_the_switchover_is_not_blamed_on_it():
    run = summary([20.0, 25.0, 90.0, 30.0, 30.0, 30.0, 1200.0])

    sentence = slowest_request(run, (2.1, 2.4))

    assert sentence == (
        "slowest request: 1,200 ms, sent 6-7 s into the load, not during the switchover "
        "(2.1-2.4 s): not the switchover's; across it the slowest took 90 ms"
    )


def test_without_a_switchover_it_says_so():
    assert slowest_request(summary([20.0, 40.0]), None) == (
        "slowest request: 40 ms, sent 1-2 s into the load (no switchover ran)"
    )


def test_a_run_that_timed_nothing_has_no_slowest_request():
    empty = Summary(
        rate=1.0,
        duration_s=1.0,
        throughput=0.0,
        requests=1,
        latency_ms=Latency(None, None, None, None, None),
        errors=tuple((kind, int(kind == "timeout")) for kind in ERROR_KINDS),
        timeline=(Window(0, 0.0, None, None, 1),),
    )

    assert slowest_request(empty, (0.2, 0.4)) is None
