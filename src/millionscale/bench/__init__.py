"""Open-loop load generation in the spirit of wrk2: constant arrival rate, no coordinated omission.

Layers, bottom up:

- :mod:`.schedule` (pure): when each request is meant to be sent;
- :mod:`.outcome`: what became of one request (ok, or one of a few error kinds);
- :mod:`.recorder`: latencies from the *intended* send time in an
  HdrHistogram, errors by kind, a per-second timeline, the JSON result;
- :mod:`.generator`: the asyncio runner that starts each request on schedule
  without waiting for earlier ones, bounded by an in-flight cap and a drain
  timeout;
- :mod:`.http`: the aiohttp transport (one pooled keep-alive session);
- :mod:`.api`: the photo-sharing JSON API, one method per endpoint;
- :mod:`.scenario`: a weighted, seeded mix of user actions over that API;
- :mod:`.dataset` (pure): skewed seed data, and the seeded users' names;
- :mod:`.capacity`: the step search for the highest rate that meets an SLO
  (pure decision, thin loop);
- :mod:`.diagnosis` (pure): which of the generator's resources ran short in a
  run (its CPU, its core, its connections) and what to do;
- :mod:`.report`: the JSON file and the rich tables;
- :mod:`.provenance`: what a benchmark result file says about itself (command
  line, date, machine) and the median of repeated runs, with their count;
- :mod:`.wrk`: the side-by-side benchmarks' wrk harness (CPU placement, runs
  on a quiet machine, wrk's output read);
- :mod:`.queue_runs` (pure): jobs/s and enqueue→done latency of a queue
  benchmark run, from its workers' completion records;
- :mod:`.run`: the glue that loads a live target, used by ``millionscale bench``.
"""

from millionscale.bench.capacity import CapacityPlan, CapacityResult, Step, find_capacity
from millionscale.bench.dataset import DEFAULT_PASSWORD, Dataset, generate, username
from millionscale.bench.generator import run_open_loop
from millionscale.bench.outcome import ERROR_KINDS, OK, ErrorKind, Outcome
from millionscale.bench.recorder import Latency, Recorder, Summary, Window
from millionscale.bench.run import Limits, bench_target, find_target_capacity
from millionscale.bench.scenario import DEFAULT_MIX, Mix, Workload, parse_mix
from millionscale.bench.schedule import Schedule

__all__ = [
    "DEFAULT_MIX",
    "DEFAULT_PASSWORD",
    "ERROR_KINDS",
    "OK",
    "CapacityPlan",
    "CapacityResult",
    "Dataset",
    "ErrorKind",
    "Latency",
    "Limits",
    "Mix",
    "Outcome",
    "Recorder",
    "Schedule",
    "Step",
    "Summary",
    "Window",
    "Workload",
    "bench_target",
    "find_capacity",
    "find_target_capacity",
    "generate",
    "parse_mix",
    "run_open_loop",
    "username",
]
