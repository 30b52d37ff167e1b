"""When the generator runs short, the report says of what and what to do."""

from __future__ import annotations

import asyncio
from dataclasses import replace

from rich.console import Console
from test_bench_virtual_time import run_virtual

from millionscale.bench.capacity import CapacityPlan, conclude, evaluate
from millionscale.bench.diagnosis import diagnose
from millionscale.bench.generator import run_open_loop
from millionscale.bench.outcome import OK, Outcome
from millionscale.bench.recorder import Recorder, Summary
from millionscale.bench.report import capacity_table, summary_table


def summary_of(**generator: object) -> Summary:
    """A 100/s, 10 s run whose answers were all fine, with the generator's own facts given."""
    rec = Recorder(100.0, 10.0, 0.0)
    for i in range(1000):
        rec.record(i / 100, i / 100 + 0.005, OK)
    return replace(rec.summary(), **generator)  # type: ignore[arg-type]


def rendered(table) -> str:
    console = Console(record=True, width=400)
    console.print(table)
    return console.export_text()


def test_a_generator_on_time_with_connections_to_spare_has_nothing_to_report():
    summary = summary_of(
        max_send_lag_ms=2.0, generator_cpu_share=0.1, max_in_flight=3, connections=256
    )

    assert diagnose(summary) == ()


def test_late_sends_from_a_busy_generator_are_its_own_cpu():
    summary = summary_of(
        max_send_lag_ms=80.0,
        late_sends=400,
        generator_cpu_share=0.97,
        max_in_flight=40,
        connections=256,
    )

    (finding,) = diagnose(summary)

    assert finding.resource == "generator CPU"
    assert "used 97% of a core" in finding.finding
    assert (
        "400 of 1,000 requests went out more than 10 ms after their intended time"
        in finding.finding
    )
    assert "several generator processes" in finding.advice
    assert "wrk" in finding.advice


def test_late_sends_from_an_idle_generator_are_its_core_taken_by_others():
    # The case: a warning at 100 requests/s, where the generator has CPU to spare.
    summary = summary_of(
        max_send_lag_ms=35.0,
        late_sends=3,
        generator_cpu_share=0.06,
        max_in_flight=4,
        connections=256,
    )

    (finding,) = diagnose(summary)

    assert finding.resource == "generator's core"
    assert "not scheduled in time: its process used 6% of a core" in finding.finding
    assert "at most 35.0 ms" in finding.finding
    assert "a lower rate will not help" in finding.advice
    assert "taskset" in finding.advice


def test_late_sends_without_a_cpu_figure_are_not_blamed_on_the_cpu():
    summary = summary_of(max_send_lag_ms=35.0, late_sends=3, generator_cpu_share=None)

    assert [f.resource for f in diagnose(summary)] == ["generator's core"]


def test_every_connection_busy_at_once_is_the_pool_running_out():
    summary = summary_of(
        max_send_lag_ms=1.0, generator_cpu_share=0.2, max_in_flight=256, connections=256
    )

    (finding,) = diagnose(summary)

    assert finding.resource == "connections"
    assert "all 256 connections were busy at once" in finding.finding
    assert "--connections" in finding.advice
    assert "the target is the limit" in finding.advice


def test_a_run_without_a_pool_says_nothing_of_connections():
    summary = summary_of(max_in_flight=10_000, connections=None)

    assert diagnose(summary) == ()


def test_both_findings_when_late_and_out_of_connections():
    summary = summary_of(
        max_send_lag_ms=50.0,
        late_sends=9,
        generator_cpu_share=0.9,
        max_in_flight=64,
        connections=64,
    )

    assert [f.resource for f in diagnose(summary)] == ["generator CPU", "connections"]


def test_the_summary_table_names_what_was_short_and_what_to_do():
    summary = summary_of(max_send_lag_ms=35.0, late_sends=3, generator_cpu_share=0.06)

    text = rendered(summary_table(summary))

    assert "short: generator's core" in text
    assert "taskset" in text
    assert "the generator was a bottleneck" not in text  # the old warning without advice


def test_the_capacity_table_names_the_steps_where_the_generator_was_short():
    plan = CapacityPlan(start_rate=100.0, slo_p99_ms=100.0)
    quiet = summary_of(max_send_lag_ms=1.0, generator_cpu_share=0.05)
    lagging = summary_of(max_send_lag_ms=40.0, late_sends=2, generator_cpu_share=0.05)
    steps = [
        evaluate(plan, 100.0, 5.0, 0.0, quiet),
        evaluate(plan, 200.0, 45.0, 0.0, lagging),
        evaluate(plan, 400.0, 50.0, 0.0, lagging),
    ]

    text = " ".join(rendered(capacity_table(conclude(plan, steps))).split())  # unwrapped

    assert (
        "short: generator's core at step 2, 3; at step 2, the generator was not scheduled" in text
    )


def test_the_generator_records_its_peak_in_flight_and_its_cpu_share():
    async def slow() -> Outcome:
        await asyncio.sleep(0.05)  # at 100/s, 5 in progress at once
        return OK

    cpu = iter([10.0, 10.5])  # half a CPU second over the 1 s of scheduling

    async def main():
        return await run_open_loop(100.0, 1.0, slow, cpu_clock=lambda: next(cpu))

    summary = run_virtual(main()).summary()

    assert 5 <= summary.max_in_flight <= 6
    assert summary.generator_cpu_share is not None
    assert 0.45 <= summary.generator_cpu_share <= 0.51
    assert summary.late_sends == 0  # virtual time: every send on time
