"""Which resource of the load generator ran short in a run, and what to do about it.

An open-loop generator must send each request on time and have a connection
free for it; when it cannot, latencies include the generator's own delay (it
is timed from the intended send, see :mod:`.generator`) and a figure is the
generator's, not the target's. What the generator measures of itself
(:class:`~millionscale.bench.recorder.Summary`) tells the cases apart:

- **sends late, generator busy**: sends more than ``LATE_SEND_MS`` late while
  the generator's process used most of a core (``generator_cpu_share``): its
  own CPU is short; one Python process tops out near 5,700 requests/s
  (docs/bench.md). Split the rate over several generator processes, or
  measure a ceiling with wrk.
- **sends late, generator idle**: late sends while it used little CPU: its
  event loop was ready but not scheduled in time, so other processes (the
  target on the same cores, tests, another bench) or a pause (garbage
  collection, swapping) held its core. A higher or lower rate does not help;
  a core of its own, another machine or a quiet machine does.
- **connections exhausted**: as many requests in progress at once as the
  pool has connections (``max_in_flight >= connections``): requests queued
  in the generator for a connection, and that wait is in their latency. In
  flight is rate x latency, so a pool runs out when the target is slow;
  ``--connections`` helps only if the target serves more at once.

:func:`diagnose` is pure: a summary in, the findings out, each one sentence
naming the resource and the evidence, and one saying what to do.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from millionscale.bench.recorder import LATE_SEND_MS, Summary

__all__ = ["BUSY_CPU_SHARE", "Diagnosis", "Resource", "diagnose"]

# At this share of a core the event loop has no slack left to send on time: with
# asyncio's ~1 ms timer slack, an 80 %-busy loop already queues wake-ups behind work.
BUSY_CPU_SHARE = 0.8

Resource = Literal["generator CPU", "generator's core", "connections"]


@dataclass(frozen=True, slots=True)
class Diagnosis:
    """One resource that ran short: ``finding`` says which and why we know; ``advice`` what to do."""

    resource: Resource
    finding: str
    advice: str

    @property
    def sentence(self) -> str:
        return f"{self.finding}: {self.advice}"


def diagnose(summary: Summary) -> tuple[Diagnosis, ...]:
    """What ran short on the generator's side in ``summary``'s run; empty if nothing did.

    An empty answer does not mean the target had room: it means the figures
    are the target's (and the network's), not the generator's.
    """
    findings: list[Diagnosis] = []
    if summary.late_sends > 0:
        findings.append(_late(summary))
    if summary.connections is not None and summary.max_in_flight >= summary.connections:
        findings.append(
            Diagnosis(
                "connections",
                f"all {summary.connections:,} connections were busy at once "
                f"({summary.max_in_flight:,} requests in progress): later requests waited "
                "in the generator for a free connection, and that wait is in their latency",
                "pass more --connections if the target serves more requests at once; "
                "requests in progress = rate x latency, so if its latency grew with the "
                "rate the target is the limit, and more connections only move the queue to it",
            )
        )
    return tuple(findings)


def _late(summary: Summary) -> Diagnosis:
    late = (
        f"{summary.late_sends:,} of {summary.requests:,} requests went out more than "
        f"{LATE_SEND_MS:g} ms after their intended time (at most "
        f"{summary.max_send_lag_ms:,.1f} ms), so their latencies include the generator's delay"
    )
    share = summary.generator_cpu_share
    if share is not None and share >= BUSY_CPU_SHARE:
        return Diagnosis(
            "generator CPU",
            f"the generator's own CPU was short: its process used {share:.0%} of a core "
            f"while sending {summary.rate:,.0f}/s, and {late}",
            "split the rate over several generator processes on free cores or machines "
            "(one Python process tops out near 5,700 requests/s, docs/bench.md), "
            "or measure the ceiling with wrk",
        )
    busy = f"its process used {share:.0%} of a core" if share is not None else "it was not busy"
    return Diagnosis(
        "generator's core",
        f"the generator was not scheduled in time: {busy}, yet {late}; other processes "
        "on this machine (the target on the same cores, tests, another bench) or a pause "
        "(garbage collection, swapping) held its core",
        "a lower rate will not help: run the generator on a core the target does not use "
        "(taskset -c N), on another machine, or when the machine is quiet, and run again",
    )
