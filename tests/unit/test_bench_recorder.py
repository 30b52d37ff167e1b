"""The recorder: percentiles within HdrHistogram's precision, errors by kind, the timeline, the JSON."""

import json

import pytest

from millionscale.bench.outcome import ERROR_KINDS, OK, Outcome
from millionscale.bench.recorder import Recorder

START = 1000.0


def recorder(rate: float = 1000.0, duration_s: float = 1.0) -> Recorder:
    return Recorder(rate, duration_s, START)


def test_percentiles_of_1_to_1000_ms_are_within_a_tenth_of_a_percent():
    rec = recorder()
    for i in range(1000):  # latencies 1 ms .. 1000 ms, one each
        rec.record(START + i / 1000, START + i / 1000 + (i + 1) / 1000, OK)

    latency = rec.summary().latency_ms

    assert latency.p50 == pytest.approx(500.0, rel=1e-3)
    assert latency.p90 == pytest.approx(900.0, rel=1e-3)
    assert latency.p99 == pytest.approx(990.0, rel=1e-3)
    assert latency.p999 == pytest.approx(999.0, rel=1e-3)
    assert latency.max == pytest.approx(1000.0, rel=1e-3)


def test_a_single_slow_request_in_a_thousand_moves_p999_not_p99():
    rec = recorder()
    for _i in range(999):
        rec.record(START, START + 0.002, OK)
    rec.record(START, START + 2.0, OK)

    latency = rec.summary().latency_ms

    assert latency.p99 == pytest.approx(2.0, rel=1e-3)
    assert latency.max == pytest.approx(2000.0, rel=1e-3)


def test_latencies_beyond_the_range_are_clamped_not_lost():
    rec = recorder()
    rec.record(START, START + 3600.0, OK)
    rec.record(START, START, OK)

    summary = rec.summary()

    assert summary.requests == 2
    assert summary.latency_ms.max == pytest.approx(60_000.0, rel=1e-3)


def test_errors_are_counted_by_kind_and_only_answers_are_timed():
    rec = recorder()
    rec.record(START, START + 0.010, OK)
    rec.record(START, START + 0.500, Outcome.failed("status_5xx"))
    rec.record(START, START + 0.020, Outcome.failed("status_4xx"))
    rec.record(START, START + 9.000, Outcome.failed("timeout"))
    rec.record_error(START, "connect")
    rec.record_error(START, "overload")

    summary = rec.summary()

    assert summary.requests == 6
    assert dict(summary.errors) == {
        "status_5xx": 1,
        "status_4xx": 1,
        "timeout": 1,
        "connect": 1,
        "other": 0,
        "overload": 1,
    }
    assert summary.error_rate == pytest.approx(5 / 6)
    assert summary.latency_ms.max == pytest.approx(500.0, rel=1e-3)  # not the 9 s timeout


def test_throughput_counts_ok_answers_over_the_run():
    rec = recorder(rate=10.0, duration_s=2.0)
    for i in range(20):
        outcome = OK if i % 4 else Outcome.failed("status_5xx")
        rec.record(START + i / 10, START + i / 10 + 0.001, outcome)

    assert rec.summary().throughput == pytest.approx(15 / 2.0)


def test_throughput_is_over_the_whole_run_when_answers_come_after_the_duration():
    rec = recorder(rate=10.0, duration_s=1.0)
    for i in range(10):
        rec.record(START + i / 10, START + 4.0, OK)  # everything answered at t = 4 s

    assert rec.summary().throughput == pytest.approx(10 / 4.0)


def test_the_timeline_has_one_window_per_second_of_intended_time():
    rec = recorder(rate=10.0, duration_s=2.5)
    for i in range(10):
        rec.record(START + i / 10, START + 5.0, OK)  # meant in second 0, answered late
    for i in range(10, 20):
        rec.record(START + i / 10, START + i / 10 + 0.002, OK)
    rec.record_error(START + 2.2, "timeout")

    timeline = rec.summary().timeline

    assert [w.t for w in timeline] == [0, 1, 2]
    assert [w.throughput for w in timeline] == [10.0, 10.0, 0.0]
    assert timeline[0].p99_ms == pytest.approx(5000.0, rel=1e-2)
    assert timeline[1].p50_ms == pytest.approx(2.0, rel=1e-2)
    assert (timeline[2].p50_ms, timeline[2].p99_ms, timeline[2].errors) == (None, None, 1)


def test_an_empty_run_has_no_latencies_and_a_full_error_table():
    summary = recorder().summary()

    assert summary.requests == 0
    assert summary.error_rate == 0.0
    assert summary.latency_ms.p99 is None
    assert [kind for kind, _ in summary.errors] == list(ERROR_KINDS)


def test_the_json_has_exactly_the_documented_shape():
    rec = recorder(rate=2.0, duration_s=1.0)
    rec.record(START, START + 0.003, OK)
    rec.record_error(START + 0.5, "connect")

    data = json.loads(json.dumps(rec.to_json()))

    assert set(data) == {
        "rate",
        "duration_s",
        "throughput",
        "requests",
        "latency_ms",
        "errors",
        "timeline",
    }
    assert (data["rate"], data["duration_s"], data["requests"]) == (2.0, 1.0, 2)
    assert set(data["latency_ms"]) == {"p50", "p90", "p99", "p999", "max"}
    assert set(data["errors"]) == set(ERROR_KINDS)
    assert data["errors"]["connect"] == 1
    assert data["timeline"] == [
        {
            "t": 0,
            "throughput": 1.0,
            "p50_ms": pytest.approx(3.0, rel=1e-2),
            "p99_ms": pytest.approx(3.0, rel=1e-2),
            "errors": 1,
        }
    ]


def test_the_summary_is_immutable():
    summary = recorder().summary()

    with pytest.raises(AttributeError):
        summary.requests = 5  # type: ignore[misc]
