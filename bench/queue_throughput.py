"""Our queue (JetStream) beside Celery 5 and Dramatiq on Redis: jobs/s and enqueue→done latency.

One run, the same jobs, the same producer, the same worker layout for every system:

- **systems**: ``python -m millionscale.queue`` on NATS JetStream (its
  defaults: file storage, explicit acks, ack wait 30 s); Celery 5.7 on Redis
  with ``task_acks_late=True`` and ``worker_prefetch_multiplier=1``
  (at-least-once, like ours), and Celery with its own defaults (acked on
  receipt, prefetch 4: at-most-once for a worker that dies); Dramatiq 2.2 with
  its default Redis broker and middleware (acked after the work). Redis runs
  with its append-only file, fsync every second (JetStream's store is synced
  every 2 minutes: neither syncs each job);
- **workers**: ``--processes`` worker processes (1) per system, each with
  ``--concurrency`` (8) slots, and the job's code in a pool of that many
  threads in every system (Celery ``--pool threads``, Dramatiq ``--threads``,
  ours an executor; :mod:`queue_peers.work`). Celery runs ``--without-heartbeat
  --without-gossip --without-mingle`` (worker events, not the queue);
- **jobs**: ``noop`` and ``thumbnail`` (Pillow: decode a deterministic
  1280x800 JPEG, ~1 MP, thumbnail to 320 px, discard), the same function in
  every system; ``--jobs`` (5,000) per run, from one producer process
  (:mod:`queue_peers.produce`) publishing one at a time, each publish waiting
  for the broker's reply (ours: its publisher confirm; ``--publish-window``
  lets ours keep more in flight, reported beside the figures);
- **placement** (2 cores): the worker processes have CPU 0; the brokers
  (nats-server, redis-server), the recorder, the producer and this script
  share CPU 1. The busy shares of both CPUs during each run say which side
  was the bottleneck.

What is measured, the same way for all: each job carries ``time.time()``
taken just before its publish; the worker, when the job's work is done
(before its ack), pushes ``SEQ ENQUEUED_AT DONE_AT`` to a list on the
**recorder**, a separate Redis (no persistence) that no system uses as its
broker. From those lines (:mod:`millionscale.bench.queue_runs`): jobs/s =
jobs / (last done - first enqueue), and the enqueue→done latency p50 / p99
(nearest rank) over the jobs. The producer does not hold a rate: where it
is faster than the workers (thumbnail) the latency is mostly the backlog's
wait, so it compares systems at saturation under the same burst, not at a
steady rate (the enqueue/s column says which side was faster). Each system's workers are started for a round,
warmed with ``2 x processes x concurrency`` jobs of each kind, then run both
kinds; ``--rounds`` rounds (3), the order of systems rotated each round;
medians over the rounds, every run kept, and the ratios ours/Celery
(acks late) and ours/Dramatiq of jobs/s and of p99. The goal from the issue:
>= 1.5x Celery's jobs/s at a lower p99; the verdict is printed as measured.
Runs during which other processes used over 5% of a CPU are run again, as in
``bench/lb_throughput.py`` (``--attempts``, ``--quiet-wait-s``).

Still to come: **the scaler** (time to drain a burst of 10,000 jobs with and
without scaling) is being written elsewhere; :func:`measure_scaler` is where
it goes, and the JSON says it was not measured.

How long: a default run is about 13 minutes on a quiet 2-core machine, most
of it the thumbnail runs (~10 ms of CPU each on the one worker core, so ~100
jobs/s: 50 s per run, 12 runs); ``--systems ours,celery,dramatiq`` saves a
quarter; every disturbed run is run again (after up to ``--quiet-wait-s``).

``--quick``: 500 jobs, 1 round, no waiting for a quiet machine (a check that
it works, not figures; written to ``bench/results/queue_throughput.quick.json``
unless ``--json`` says otherwise).

    .venv/bin/python -m pip install -e '.[queue-peers]'   # or: make peers
    .venv/bin/python bench/queue_throughput.py [--jobs 5000] [--rounds 3]
        [--processes 1] [--concurrency 8] [--systems ours,celery,celery-defaults,dramatiq]
        [--publish-window 1] [--attempts 3] [--quiet-wait-s 120]
        [--json bench/results/queue_throughput.json] [--quick]
"""

from __future__ import annotations

import argparse
import functools
import json
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import redis
from lb_throughput import Patience, _clean, _cpu_ticks, undisturbed  # type: ignore[import-not-found]
from queue_peers.work import ACKS_LATE_ENV, BROKER_ENV, KINDS, QUEUE, RECORD_ENV
from rich.console import Console
from rich.progress import Progress
from rich.table import Table

from millionscale.bench.provenance import at_least, over_runs, provenance
from millionscale.bench.queue_runs import goal_verdict, parse_record, ratio, summarize
from millionscale.queue.__main__ import URL_ENV
from millionscale.servers import RunningServer, start_server
from millionscale.servers.process import descendants, log_tail, spawn, terminate

BENCH_DIR = Path(__file__).resolve().parent
WORKER_CPU = 0
REST_CPU = 1  # brokers, recorder, producer, this script
JOBS = 5000
QUICK_JOBS = 500
PROCESSES = 1
CONCURRENCY = 8  # our worker's default (Dramatiq's default threads per process)
ATTEMPTS = 3
QUIET_WAIT_S = 120
POLL_S = 0.02  # how often the recorder's list is counted while a run drains
DRAIN_S_PER_JOB = 0.05  # a run not done in 30 s + this per job has lost jobs (20 jobs/s)
READY_TIMEOUT_S = 60.0
STOP_TIMEOUT_S = 15.0
THROUGHPUT_GOAL = 1.5  # x Celery's jobs/s, at a lower p99: from the issue
OURS, CELERY, CELERY_DEFAULTS, DRAMATIQ = "ours", "celery", "celery-defaults", "dramatiq"


@dataclass(frozen=True, slots=True)
class System:
    """One queue system under test: its broker, its worker program, its producer."""

    name: str
    label: str
    broker: str  # "nats" or "redis"
    producer: str  # queue_peers.produce's SYSTEM
    settings: str  # what the results say about its configuration

    def worker_argv(self, index: int, concurrency: int) -> list[str]:
        python = sys.executable
        if self.broker == "nats":
            return [python, "-m", "millionscale.queue", "--tasks",
                    f"queue_peers.work:tasks={concurrency}", "--concurrency", str(concurrency),
                    "--queue", QUEUE, "--name", f"bench-worker-{index}"]  # fmt: skip
        if self.producer == "celery":
            return [python, "-m", "celery", "-A", "queue_peers.celery_app", "worker",
                    "--pool", "threads", "--concurrency", str(concurrency), "--loglevel",
                    "WARNING", "--without-heartbeat", "--without-gossip", "--without-mingle",
                    "--hostname", f"bench-worker-{index}@%h"]  # fmt: skip
        return [python, "-m", "dramatiq", "queue_peers.dramatiq_app", "--processes", "1",
                "--threads", str(concurrency)]  # fmt: skip

    def env(self, broker_url: str, record_url: str) -> dict[str, str]:
        path = os.pathsep.join(p for p in (str(BENCH_DIR), os.environ.get("PYTHONPATH")) if p)
        env = {**os.environ, "PYTHONPATH": path, BROKER_ENV: broker_url, RECORD_ENV: record_url}
        if self.broker == "nats":
            env[URL_ENV] = broker_url
        env[ACKS_LATE_ENV] = "0" if self.name == CELERY_DEFAULTS else "1"
        return env


SYSTEMS = {
    OURS: System(OURS, "ours (JetStream)", "nats", "ours",
                 "python -m millionscale.queue defaults: JetStream file storage, explicit acks "
                 "after the handler, ack wait 30 s; the job in an executor of CONCURRENCY threads"),
    CELERY: System(CELERY, "Celery 5.7 (acks late)", "redis", "celery",
                   "task_acks_late=True, worker_prefetch_multiplier=1, task_ignore_result=True, "
                   "--pool threads"),
    CELERY_DEFAULTS: System(CELERY_DEFAULTS, "Celery 5.7 (defaults)", "redis", "celery",
                            "Celery's defaults (acks on receipt, prefetch multiplier 4), "
                            "task_ignore_result=True, --pool threads"),
    DRAMATIQ: System(DRAMATIQ, "Dramatiq 2.2", "redis", "dramatiq",
                     "RedisBroker(url) with its default middleware; --processes 1 --threads "
                     "CONCURRENCY (acks after the actor returns); its Redis consumer polls an empty "
                     "queue with a backoff of up to worker_timeout (1 s by default), which a run "
                     "starting after an idle pause pays in its first jobs' latency"),
}  # fmt: skip


def produce(
    system: System, env: dict[str, str], kind: str, jobs: int, key: str, window: int
) -> float:
    """Enqueue ``jobs`` jobs of ``kind`` from one producer process; its enqueue seconds."""
    argv = [sys.executable, "-m", "queue_peers.produce", system.producer, kind, str(jobs), key,
            "--window", str(window)]  # fmt: skip
    out = subprocess.run(
        argv, env=env, capture_output=True, text=True, timeout=600 + jobs * 0.01, check=False
    )
    if out.returncode != 0:
        raise SystemExit(f"{system.label}'s producer failed: {out.stderr.strip()[-2000:]}")
    return float(json.loads(out.stdout.strip().splitlines()[-1])["enqueue_s"])


def wait_drained(recorder: redis.Redis, key: str, jobs: int, timeout_s: float) -> list[bytes]:
    """The run's completion lines, once ``jobs`` distinct jobs are done or ``timeout_s`` passed."""
    deadline = time.monotonic() + timeout_s
    while True:
        count = int(recorder.llen(key))
        if count >= jobs:
            lines: list[bytes] = recorder.lrange(key, 0, -1)  # type: ignore[assignment]
            if len({line.split(b" ", 1)[0] for line in lines}) >= jobs:
                return lines
        if time.monotonic() >= deadline:
            return recorder.lrange(key, 0, -1)  # type: ignore[return-value]
        time.sleep(POLL_S)


def worker_cpu_s(workers: list[subprocess.Popen[bytes]]) -> float:
    """CPU seconds (user + system) the worker processes and theirs have used so far."""
    ticks = 0
    for pid in [p for worker in workers for p in (worker.pid, *descendants(worker.pid))]:
        try:
            fields = Path(f"/proc/{pid}/stat").read_bytes().rpartition(b")")[2].split()
        except OSError:
            continue
        ticks += int(fields[11]) + int(fields[12])  # proc(5) fields 14-15, utime and stime
    return ticks / os.sysconf("SC_CLK_TCK")


def one_run(
    system: System,
    env: dict[str, str],
    recorder: redis.Redis,
    workers: list[subprocess.Popen[bytes]],
    kind: str,
    jobs: int,
    window: int,
) -> dict[str, Any]:
    """One timed run: enqueue, wait until all are done, the figures and CPU shares."""
    key = f"done:{system.name}:{kind}:{uuid.uuid4().hex[:8]}"
    before, worker_before = _cpu_ticks(), worker_cpu_s(workers)
    enqueue_s = produce(system, env, kind, jobs, key, window)
    lines = wait_drained(recorder, key, jobs, 30 + jobs * DRAIN_S_PER_JOB)
    after, worker_after = _cpu_ticks(), worker_cpu_s(workers)
    recorder.delete(key)
    if not lines:
        raise SystemExit(
            f"{system.label}: no {kind} job of {jobs} done in {30 + jobs * DRAIN_S_PER_JOB:.0f} s "
            "(are its workers alive? their logs are kept until the end of the bench)"
        )
    figures = summarize((parse_record(line) for line in lines), jobs)
    busy = {
        cpu: (after[cpu][0] - before[cpu][0]) / max(1, after[cpu][1] - before[cpu][1])
        for cpu in (WORKER_CPU, REST_CPU)
    }
    return {
        **asdict(figures),
        "enqueue_s": enqueue_s,
        "enqueue_per_s": jobs / enqueue_s if enqueue_s > 0 else None,
        "worker_cpu_busy": busy[WORKER_CPU],
        "rest_cpu_busy": busy[REST_CPU],
        # the workers' own CPU per job: their cost, whoever else shared the core
        "worker_cpu_ms_per_job": (worker_after - worker_before) * 1000 / jobs,
    }


def warm(system: System, env: dict[str, str], recorder: redis.Redis, jobs: int) -> None:
    """Jobs of every kind through fresh workers until all are done: connections, imports, caches."""
    for kind in KINDS:
        key = f"warm:{system.name}:{kind}:{uuid.uuid4().hex[:8]}"
        produce(system, env, kind, jobs, key, 1)
        done = wait_drained(recorder, key, jobs, READY_TIMEOUT_S)
        recorder.delete(key)
        if len({line.split(b" ", 1)[0] for line in done}) < jobs:
            raise SystemExit(f"{system.label}'s workers did not finish {jobs} warm-up jobs")


def start_workers(
    system: System, env: dict[str, str], args: argparse.Namespace, work: Path
) -> list[subprocess.Popen[bytes]]:
    workers = []
    for index in range(args.processes):
        log = work / f"{system.name}-{index}.log"
        argv = system.worker_argv(index, args.concurrency)
        workers.append(spawn(argv, log_path=log, env=env, cpus=[WORKER_CPU]))
    time.sleep(0.5)
    for index, process in enumerate(workers):
        if process.poll() is not None:
            tail = log_tail(work / f"{system.name}-{index}.log")
            raise SystemExit(f"{system.label}'s worker exited at once: {tail}")
    return workers


def stop_workers(workers: list[subprocess.Popen[bytes]]) -> None:
    for process in workers:
        terminate(process, timeout=STOP_TIMEOUT_S)


def measure_scaler() -> dict[str, Any]:
    """The issue's second figure: the time to drain a burst of 10,000 jobs, with and
    without the scaler. The scaler is being written elsewhere (issue 16); this is
    where its measurement goes, in the same placement, with the same jobs."""
    return {"measured": False, "why": "the scaler is not built yet (issue 16)"}


def parse_arguments(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--jobs", type=at_least(1), default=None)
    parser.add_argument("--rounds", type=at_least(1), default=None)
    parser.add_argument("--processes", type=at_least(1), default=PROCESSES)
    parser.add_argument("--concurrency", type=at_least(1), default=CONCURRENCY)
    parser.add_argument("--systems", default=",".join(SYSTEMS))
    parser.add_argument("--publish-window", type=at_least(1), default=1)
    parser.add_argument("--attempts", type=at_least(1), default=None)
    parser.add_argument("--quiet-wait-s", type=at_least(0), default=None)
    parser.add_argument("--json", type=Path, default=None)
    parser.add_argument("--quick", action="store_true", help="500 jobs, 1 round, no quiet wait")
    args = parser.parse_args(argv)
    quick = args.quick
    args.jobs = args.jobs or (QUICK_JOBS if quick else JOBS)
    args.rounds = args.rounds or (1 if quick else 3)
    args.attempts = args.attempts or (1 if quick else ATTEMPTS)
    if args.quiet_wait_s is None:
        args.quiet_wait_s = 0 if quick else QUIET_WAIT_S
    name = "queue_throughput.quick.json" if quick else "queue_throughput.json"
    args.json = args.json or Path("bench/results") / name
    unknown = [s for s in args.systems.split(",") if s not in SYSTEMS]
    if unknown or not args.systems:
        parser.error(f"--systems takes names from {', '.join(SYSTEMS)}; not {unknown}")
    args.systems = args.systems.split(",")
    return args


def summarize_runs(runs: dict[str, dict[str, list[dict[str, Any]]]]) -> dict[str, Any]:
    """Per system and kind: medians over the complete runs (none lost a job), with counts."""
    medians: dict[str, Any] = {}
    for name, by_kind in runs.items():
        medians[name] = {}
        for kind, kind_runs in by_kind.items():
            complete = [run for run in kind_runs if run["missing"] == 0]
            if not complete:
                continue
            medians[name][kind] = {
                "jobs_per_s": over_runs(_clean(complete, "jobs_per_s")),
                "p50_ms": statistics.median(_clean(complete, "p50_ms")),
                "p99_ms": statistics.median(_clean(complete, "p99_ms")),
                "enqueue_per_s": statistics.median(_clean(complete, "enqueue_per_s")),
                "worker_cpu_busy": statistics.median(r["worker_cpu_busy"] for r in complete),
                "worker_cpu_ms_per_job": statistics.median(
                    r["worker_cpu_ms_per_job"] for r in complete
                ),
                "rest_cpu_busy": statistics.median(r["rest_cpu_busy"] for r in complete),
                "incomplete_runs": len(kind_runs) - len(complete),
            }
    return medians


def ratios(medians: dict[str, Any]) -> dict[str, Any]:
    """ours / each other system, per kind: jobs/s (above 1 is better) and p99 (below 1)."""
    out: dict[str, Any] = {}
    for other in (CELERY, CELERY_DEFAULTS, DRAMATIQ):
        for kind in KINDS:
            if kind in medians.get(OURS, {}) and kind in medians.get(other, {}):
                ours, theirs = medians[OURS][kind], medians[other][kind]
                out.setdefault(f"ours_to_{other}", {})[kind] = {
                    "jobs_per_s": ratio(
                        ours["jobs_per_s"]["median"], theirs["jobs_per_s"]["median"]
                    ),
                    "p99": ratio(ours["p99_ms"], theirs["p99_ms"]),
                }
    return out


def verdicts(versus: dict[str, Any]) -> dict[str, str]:
    """The issue's goal against Celery (acks late), per kind, as measured."""
    return {
        kind: goal_verdict(figures["jobs_per_s"], figures["p99"], THROUGHPUT_GOAL)
        for kind, figures in versus.get(f"ours_to_{CELERY}", {}).items()
    }


def main() -> None:
    args = parse_arguments()
    written_by = provenance()
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    patience = Patience(args.attempts, args.quiet_wait_s)
    console = Console() if sys.stdout.isatty() else Console(width=120)
    if os.cpu_count() != 2:
        console.print(
            f"[yellow]this bench is laid out for 2 CPUs; this machine has {os.cpu_count()}"
        )
    os.sched_setaffinity(0, {REST_CPU})  # and so the engines, the recorder and the producer
    systems = [SYSTEMS[name] for name in args.systems]
    runs: dict[str, dict[str, list[dict[str, Any]]]] = {
        s.name: {kind: [] for kind in KINDS} for s in systems
    }
    warm_jobs = 2 * args.processes * args.concurrency
    started = time.monotonic()
    servers: list[RunningServer] = []
    with tempfile.TemporaryDirectory() as tmp, Progress(console=console) as progress:
        say = progress.console.print
        try:
            nats = start_server("nats")
            servers.append(nats)
            broker_redis = start_server("redis", durable=True)  # AOF, fsync every second
            servers.append(broker_redis)
            record = start_server("redis")
            servers.append(record)
            recorder = redis.Redis.from_url(record.url)
            flush = redis.Redis.from_url(broker_redis.url)
            urls = {"nats": nats.url, "redis": broker_redis.url}
            task = progress.add_task("queue runs", total=len(systems) * len(KINDS) * args.rounds)
            for round_ in range(args.rounds):
                shift = round_ % len(systems)
                for system in systems[shift:] + systems[:shift]:
                    env = system.env(urls[system.broker], record.url)
                    flush.flushall()
                    workers = start_workers(system, env, args, Path(tmp) / f"round-{round_}")
                    try:
                        warm(system, env, recorder, warm_jobs)
                        for kind in KINDS:
                            measure = functools.partial(
                                one_run, system, env, recorder, workers, kind, args.jobs,
                                args.publish_window if system.name == OURS else 1,
                            )  # fmt: skip
                            run = undisturbed(measure, say, patience)
                            runs[system.name][kind].append(run)
                            say(
                                f"round {round_ + 1} {system.label} {kind}: "
                                f"{run['jobs_per_s']:,.0f} jobs/s, p50 {run['p50_ms']:.1f} ms, "
                                f"p99 {run['p99_ms']:.1f} ms, enqueue {run['enqueue_per_s']:,.0f}/s, "
                                f"workers {run['worker_cpu_ms_per_job']:.2f} CPU ms/job, "
                                f"CPU0 {run['worker_cpu_busy']:.0%}, CPU1 {run['rest_cpu_busy']:.0%}"
                                + (f", {run['missing']} MISSING" if run["missing"] else "")
                                + (f", {run['duplicates']} duplicates" if run["duplicates"] else "")
                            )
                            progress.advance(task)
                    finally:
                        stop_workers(workers)
        finally:
            for server in reversed(servers):
                server.stop()
    elapsed_s = time.monotonic() - started

    medians = summarize_runs(runs)
    versus = ratios(medians)
    verdict = verdicts(versus)
    table = Table(
        title=f"{args.jobs:,} jobs per run, {args.processes} worker process(es) x "
        f"{args.concurrency}, median of {args.rounds} round(s)",
        caption="latency: enqueue→done; CPU ms/job: the worker processes' own; "
        "CPU0: the workers' core; CPU1: brokers + producer",
    )
    for column in ("system", "kind", "jobs/s", "runs", "p50", "p99", "enqueue/s", "CPU ms/job", "CPU0", "CPU1",
                   "jobs/s vs Celery", "p99 vs Celery"):  # fmt: skip
        table.add_column(column, justify="left" if column in ("system", "kind") else "right")
    for name, by_kind in medians.items():
        for kind, figures in by_kind.items():
            against = medians.get(CELERY, {}).get(kind)
            speed = p99 = ""
            if against:
                speed_ratio = ratio(
                    figures["jobs_per_s"]["median"], against["jobs_per_s"]["median"]
                )
                p99_ratio = ratio(figures["p99_ms"], against["p99_ms"])
                speed = f"{speed_ratio:.2f}x" if speed_ratio is not None else "-"
                p99 = f"{p99_ratio:.2f}x" if p99_ratio is not None else "-"
            table.add_row(
                SYSTEMS[name].label,
                kind,
                f"{figures['jobs_per_s']['median']:,.0f}",
                str(figures["jobs_per_s"]["run_count"]),
                f"{figures['p50_ms']:.1f} ms",
                f"{figures['p99_ms']:.1f} ms",
                f"{figures['enqueue_per_s']:,.0f}",
                f"{figures['worker_cpu_ms_per_job']:.2f}",
                f"{figures['worker_cpu_busy']:.0%}",
                f"{figures['rest_cpu_busy']:.0%}",
                speed,
                p99,
            )
    console.print(table)
    for kind, sentence in verdict.items():
        console.print(f"goal against Celery (acks late), {kind}: {sentence}")
    console.print(f"took {elapsed_s:,.0f} s")
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(
        json.dumps(
            {
                "benchmark": "queue_throughput",
                **written_by,
                "quick": args.quick,
                "elapsed_s": elapsed_s,
                "placement": {"worker_cpu": WORKER_CPU, "brokers_producer_recorder_cpu": REST_CPU},
                "jobs_per_run": args.jobs,
                "rounds": args.rounds,
                "processes": args.processes,
                "concurrency": args.concurrency,
                "warm_up_jobs_per_kind": warm_jobs,
                "publish_window_ours": args.publish_window,
                "job_kinds": {
                    "noop": "nothing, then the completion record",
                    "thumbnail": "decode a 1280x800 JPEG (q85), Image.thumbnail to 320 px, discard",
                },
                "brokers": {
                    "ours": "nats-server with JetStream (file store)",
                    "celery, dramatiq": "redis-server, appendonly yes, appendfsync everysec",
                    "recorder": "a second redis-server without persistence, RPUSH per job",
                },
                "settings": {s.name: s.settings for s in systems},
                "worker_commands": {
                    s.name: s.worker_argv(0, args.concurrency)[1:] for s in systems
                },
                "median": medians,
                "ratios": versus,
                "goal": verdict,
                "scaler": measure_scaler(),
                "runs": runs,
            },
            indent=2,
        )
        + "\n"
    )
    console.print(f"written to {args.json}")


if __name__ == "__main__":
    main()
