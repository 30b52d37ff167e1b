"""``millionscale demo``: the whole system up, loaded, reported and stopped.

1. start ``topologies/demo.toml`` (the whole system as it stands);
2. seed the photo app with a skewed dataset (users, celebrities, photos);
3. drive a browser's mix (:data:`~millionscale.bench.scenario.BROWSER_MIX`:
   timelines followed by their photos' files) open-loop for a short while at
   where users come in (a CDN edge); halfway through, when the topology runs a
   failover monitor, switch the PostgreSQL primary over to a standby
   (``millionscale db switchover``) under that load;
4. print a summary table, then the slowest request, when it was sent and what
   caused it (the switchover, when it fell in the switchover's window), the
   CDN's offload (each edge's hit ratio, the share of bytes the origin did not
   send: :mod:`millionscale.cdn.offload`), the queue's activity (the jobs the
   workers ended during the load, by outcome and task, and what the queue holds
   once it drained or 15 s after the load: jobs waiting and the oldest one's
   age, delayed jobs, dead letters: :mod:`millionscale.queue.activity`), and
   write an HTML report with latency-over-time and throughput charts, the
   switchover, the CDN, the queue and the slowest request in the notes (the
   JSON report has the CDN's figures under ``"cdn"``, the queue's under
   ``"queue"``); with GeoDNS in front of two data centers (stage 7), a user in
   New York and one in Paris read their timelines, each where GeoDNS sends it
   and then in us-east, through injected distances, and the report says where
   each was sent and what it saved them (``"geo"``);
5. stop everything, whatever happened in between.
"""

from __future__ import annotations

import asyncio
import functools
import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import psycopg
import redis
from rich.console import Console

from millionscale.bench import dataset, run, scenario
from millionscale.bench.datacenters import edges, geo_sentence, sign_up, targets, user_latency
from millionscale.bench.html_report import write_report
from millionscale.bench.recorder import Summary
from millionscale.bench.report import summary_table
from millionscale.cdn.offload import Offload, StatisticsReading, offload, read_statistics
from millionscale.db.control import MonitorControl
from millionscale.errors import MillionscaleError
from millionscale.photos.seed import running_app, seed
from millionscale.queue.activity import QueueActivity, WorkerReading, activity
from millionscale.queue.broker import QueueStatus
from millionscale.queue.jetstream import JetStreamBroker
from millionscale.servers import netns
from millionscale.topology.admin import FAILOVER_MONITOR, admin_client, admin_clients
from millionscale.topology.control import Started, start, stop
from millionscale.topology.hosts import Fleet, HostFigures, host_use
from millionscale.topology.resolve import ResolvedProcess, ResolvedTopology
from millionscale.topology.state import StateDir
from millionscale.topology.urls import engine_url

__all__ = ["DemoSettings", "run_demo", "slowest_request"]

# A request sent up to one timeline window before the switchover began can still
# be waiting when it runs; one sent in the window it ends in, too.
_WINDOW_S = 1.0
_QUEUE = "jobs"  # the queue the app and its workers use (their --queue / QUEUE_NAME default)
_QUEUE_DRAIN_S = 15.0  # after the load: the last posts' jobs (milliseconds each) run meanwhile
_QUEUE_POLL_S = 0.5
_SCRAPE_TIMEOUT_S = 5.0
_GEO_SECONDS = 5.0  # per mode: where GeoDNS sends each city's users, then all to us-east


@dataclass(frozen=True, slots=True)
class DemoSettings:
    topology: Path = Path("topologies/demo.toml")
    state_dir: Path = Path(".millionscale")
    users: int = 2_000  # seeded users; ~40,000 follows and ~8,000 photos
    active_users: int = 50  # of them, logged in and acting during the load
    rate: float = 50.0  # requests/s: well inside one app process's capacity here
    duration_s: float = 30.0
    seed: int = 0
    ready_timeout_s: float = 300.0
    host_limits: bool = True  # False: run the hosts unlimited (no root or no cgroups)


@dataclass
class _Switchover:
    """A planned switchover of the database primary, run on a timer during the load."""

    topology: ResolvedTopology
    at_s: float
    sentence: str = ""
    took_s: float | None = None  # how long the switchover took, once it succeeded
    done: threading.Event = field(default_factory=threading.Event)

    def run(self) -> None:
        started = time.monotonic()
        try:
            result = MonitorControl(admin_client(self.topology, FAILOVER_MONITOR)).switchover()
        except MillionscaleError as error:
            self.sentence = f"switchover at {self.at_s:g} s refused: {error.one_line()}"
        else:
            record = result.get("record", {})
            took = self.took_s = time.monotonic() - started
            self.sentence = (
                f"switchover at {self.at_s:g} s into the load: primary is now "
                f"{record.get('primary')} (epoch {record.get('epoch')}), in {took * 1000:.0f} ms"
            )
        finally:
            self.done.set()


def _cache_lookups(topology: ResolvedTopology) -> tuple[int, int] | None:
    """(hits, misses) of the cache tiers' Redis so far, or None without one."""
    for process in topology.processes:
        if process.engine == "redis" and process.tier == "cache" and process.role == "reads":
            client = redis.Redis.from_url(engine_url(process))
            try:
                stats = client.info("stats")
            except redis.RedisError:
                return None
            finally:
                client.close()
            return int(stats["keyspace_hits"]), int(stats["keyspace_misses"])
    return None


def _cache_sentence(before: tuple[int, int] | None, after: tuple[int, int] | None) -> str | None:
    if before is None or after is None:
        return None
    hits, misses = after[0] - before[0], after[1] - before[1]
    if hits + misses == 0:
        return None
    return (
        f"cache tiers: {hits / (hits + misses):.0%} of the {hits + misses:,} lookups in the "
        "shared Redis tier hit during the load (reads each app's L1 answered never got there)"
    )


def _cdn_readings(topology: ResolvedTopology) -> list[StatisticsReading] | None:
    """Every CDN edge's and shield's counters now, or None without a CDN tier or when
    one does not answer."""
    members = [(p.name, p.role, c) for p, c in admin_clients(topology, "cdn", "CDN")]
    if not members:
        return None
    try:
        return read_statistics(members)
    except MillionscaleError:
        return None


def _cdn_offload(
    before: list[StatisticsReading] | None, after: list[StatisticsReading] | None
) -> Offload | None:
    if before is None or after is None:
        return None
    return offload(before, after)


def _in_namespace(process: ResolvedProcess, work: Callable[[], Any]) -> Any:
    """``work()`` from ``process``'s network namespace (its host's), or from here."""
    return work() if process.netns is None else netns.run_in(process.netns, work)


def _broker(topology: ResolvedTopology) -> ResolvedProcess | None:
    """The topology's queue broker (tier ``queue``, engine ``nats``), or None."""
    return next((p for p in topology.processes if (p.tier, p.engine) == ("queue", "nats")), None)


def _worker_readings(state: StateDir) -> list[WorkerReading] | None:
    """Every worker's outcome counters now (the topology as it runs: workers the
    autoscaler added included), or None without a queue. A worker that does not
    answer is left out."""
    try:
        topology = ResolvedTopology.read(state.topology)
    except (OSError, ValueError):
        return None
    if _broker(topology) is None:
        return None
    readings = []
    for process in topology.processes:
        if process.tier != "worker":
            continue
        try:
            text = _in_namespace(process, functools.partial(_metrics_of, process.address))
            readings.append(WorkerReading.from_metrics(process.name, text))
        except (OSError, httpx.HTTPError, MillionscaleError):
            continue
    return readings


def _metrics_of(address: str) -> str:
    response = httpx.get(f"http://{address}/metrics", timeout=_SCRAPE_TIMEOUT_S)
    response.raise_for_status()
    return response.text


def _drained_status(topology: ResolvedTopology) -> QueueStatus | None:
    """The broker's status once no job is due and not done (at most
    :data:`_QUEUE_DRAIN_S`), or None when it cannot be read."""
    broker = _broker(topology)
    if broker is None:
        return None
    url = engine_url(broker)

    async def drained() -> QueueStatus:
        client = await JetStreamBroker.connect(url, _QUEUE, name="millionscale-demo")
        try:
            deadline = time.monotonic() + _QUEUE_DRAIN_S
            status = await client.status()
            while status.depth and time.monotonic() < deadline:
                await asyncio.sleep(_QUEUE_POLL_S)
                status = await client.status()
            return status
        finally:
            await client.close()

    try:
        status: QueueStatus = _in_namespace(broker, lambda: asyncio.run(drained()))
    except (OSError, MillionscaleError):
        return None
    return status


def _queue_activity(
    before: list[WorkerReading] | None, topology: ResolvedTopology, state: StateDir
) -> QueueActivity | None:
    if before is None:
        return None
    status = _drained_status(topology)
    after = _worker_readings(state)
    return activity(before, after or [], status)


def slowest_request(summary: Summary, switchover: tuple[float, float] | None) -> str | None:
    """One sentence: the slowest request, the second it was sent in, and its cause.

    ``switchover`` is ``(start, end)`` in seconds into the load. The second is
    the timeline window with the highest p99: at the demo's rates (a hundred
    requests a second or fewer) a window's p99 is its slowest request. A slowest
    request sent in a second that overlaps the switchover is put down to it;
    any other is said not to be the switchover's.
    """
    slowest = summary.latency_ms.max
    timed = [w for w in summary.timeline if w.p99_ms is not None]
    if slowest is None or not timed:
        return None
    window = max(timed, key=lambda w: w.p99_ms or 0.0)
    head = f"slowest request: {slowest:,.0f} ms, sent {window.t}-{window.t + 1} s into the load"
    if switchover is None:
        return f"{head} (no switchover ran)"
    start, end = switchover
    during = f"the switchover ({start:.1f}-{end:.1f} s)"
    if window.t + _WINDOW_S > start - _WINDOW_S and window.t < end:
        return (
            f"{head}, during {during}: writes and primary reads wait while the old primary "
            "is drained and shut down and the routers find the new one"
        )
    worst = max(
        (w.p99_ms or 0.0 for w in timed if w.t + _WINDOW_S > start - _WINDOW_S and w.t < end),
        default=None,
    )
    across = f"; across it the slowest took {worst:,.0f} ms" if worst is not None else ""
    return f"{head}, not during {during}: not the switchover's{across}"


def _has_monitor(topology: ResolvedTopology) -> bool:
    tier, role, _ = FAILOVER_MONITOR
    return any((p.tier, p.role) == (tier, role) for p in topology.processes)


def _images_sentence(images: dict[str, int]) -> str | None:
    """What the load's image fetches got from the edge, or None without any."""
    if not images["images"]:
        return None
    return (
        f"images: {images['images']:,} fetched ({images['image_bytes'] / 1e6:.1f} MB), "
        f"{images['image_hits'] / images['images']:.0%} of them answered from an edge's store "
        "(X-Cache: HIT)"
    )


def _load(
    settings: DemoSettings,
    base_url: str,
    say: Any,
    on_start: Callable[[float], None],
    scenario_out: list[scenario.Scenario],
) -> Summary:
    workload = scenario.Workload.seeded(
        base_url, settings.active_users, mix=scenario.BROWSER_MIX, seed=settings.seed
    )
    return asyncio.run(
        run.bench_target(
            workload,
            settings.rate,
            settings.duration_s,
            say=say,
            on_start=on_start,
            scenario_out=scenario_out,
        )
    )


def _geo(topology: ResolvedTopology, say: Callable[[str], None]) -> tuple[str, Any] | None:
    """Stage 7, when the topology runs GeoDNS in front of us-east and eu-west: a user in
    New York and one in Paris, each resolving with its network, read their timelines
    through injected distances (:func:`millionscale.bench.datacenters.user_latency`)."""
    if not any(p.tier == "dns" for p in topology.processes):
        return None
    if not {"us-east", "eu-west"} <= set(edges(topology)):
        return None
    try:
        writers = sign_up(topology, per_city=1, suffix=datetime.now(UTC).strftime("%H%M%S"))
        follow = targets(running_app(topology).database_url)
        figures = asyncio.run(
            user_latency(topology, writers, follow, seconds=_GEO_SECONDS, say=say)
        )
    except (httpx.HTTPError, psycopg.Error, RuntimeError, OSError) as error:
        return f"GeoDNS: the users in New York and Paris could not be measured: {error}", None
    return geo_sentence(topology, writers, figures), figures


def _hosts_sentence(use: dict[str, dict[str, float]]) -> str | None:
    """Each host's CPU during the load, busiest first, as a share of its quota."""
    if not use:
        return None
    busiest = sorted(use.items(), key=lambda item: -item[1]["quota_share"])
    each = ", ".join(
        f"{name} {host['quota_share']:.0%}"
        + (f" (throttled {host['throttled_s']:.1f} s)" if host["throttled_s"] >= 0.05 else "")
        for name, host in busiest
    )
    return f"hosts during the load, CPU used against quota: {each}"


def run_demo(settings: DemoSettings, console: Console) -> Path | None:
    """Run the demo; return the HTML report's path, or None if the system did not start.

    Stops everything it started, whatever happens.
    """
    state = StateDir(settings.state_dir)
    console.rule("millionscale demo")
    with console.status(f"starting {settings.topology}"):
        started: Started = start(
            settings.topology,
            settings.state_dir,
            detach=False,
            timeout=settings.ready_timeout_s,
            host_limits=settings.host_limits,
        )
    try:
        if started.problem is not None:
            console.print(f"[red]the topology did not start:[/] {started.problem}")
            console.print(f"its logs are in {state.logs}")
            return None
        console.print(
            f"{len(started.topology.processes)} processes ready in {started.elapsed_s:.1f} s: "
            + ", ".join(f"{p.name} ({p.tier}) {p.address}" for p in started.topology.processes)
        )
        notes = []
        network = started.topology.network_summary()
        if network is not None:
            console.print(network, markup=False, highlight=False)
            notes.append(network)
        app = running_app(started.topology)
        with console.status(f"seeding {settings.users} users") as status:
            result = seed(
                app.database_url,
                app.media_dir,
                dataset.generate(settings.users, seed=settings.seed),
                seed_value=settings.seed,
                progress=lambda step: status.update(f"seeding {step}"),
                timelines=app.queued,
                celebrity_followers=app.celebrity_followers,
            )
        console.print(
            "seed: database already seeded"
            if result.skipped
            else f"seeded {result.users} users, {result.follows} follows, {result.photos} photos"
        )
        mix = scenario.BROWSER_MIX
        console.print(
            f"load: {settings.rate:g} requests/s for {settings.duration_s:g} s, open loop, "
            f"at {app.base_url}, mix "
            + " / ".join(f"{name} {mix.share(name):.0%}" for name, _ in mix.weights),
            markup=False,
            highlight=False,
        )
        switchover = None
        timer = None
        if _has_monitor(started.topology):
            switchover = _Switchover(started.topology, settings.duration_s / 2)
            console.print(
                f"data tier: a planned switchover of the primary {switchover.at_s:g} s into the load"
            )
            timer = threading.Timer(switchover.at_s, switchover.run)
            timer.daemon = True
        lookups = _cache_lookups(started.topology)
        cdn_before = _cdn_readings(started.topology)
        workers_before = _worker_readings(state)
        fleet = Fleet.observing(started.topology)
        readings: list[list[HostFigures]] = []

        def load_starts(_rate: float) -> None:
            readings.append(fleet.figures())
            if timer is not None:
                timer.start()

        ran: list[scenario.Scenario] = []
        with console.status("loading"):
            summary = _load(
                settings, app.base_url, lambda s: console.print(s, markup=False), load_starts, ran
            )
        hosts = _hosts_sentence(host_use(readings[0], fleet.figures()) if readings else {})
        if hosts is not None:
            notes.append(hosts)
            console.print(hosts, markup=False, highlight=False)
        cache = _cache_sentence(lookups, _cache_lookups(started.topology))
        if cache is not None:
            notes.append(cache)
            console.print(cache, markup=False, highlight=False)
        cdn = _cdn_offload(cdn_before, _cdn_readings(started.topology))
        if cdn is not None:
            notes.append(cdn.sentence())
            console.print(notes[-1], markup=False, highlight=False)
        queue = _queue_activity(workers_before, started.topology, state)
        if queue is not None:
            notes.append(queue.sentence())
            console.print(notes[-1], markup=False, highlight=False)
        images = ran[0].images_json() if ran else None
        said = _images_sentence(images) if images else None
        if said is not None:
            notes.append(said)
            console.print(said, markup=False, highlight=False)
        if switchover is not None:
            switchover.done.wait(timeout=60)
            notes.append(switchover.sentence or "the switchover did not finish in time")
            console.print(notes[-1], markup=False, highlight=False)
        with console.status("GeoDNS: users in New York and Paris"):
            geo = _geo(started.topology, lambda s: None)
        if geo is not None:
            notes.append(geo[0])
            console.print(notes[-1], markup=False, highlight=False)
    finally:
        with console.status("stopping"):
            stop(state)
    console.print(summary_table(summary, title=f"demo: {started.topology.name}"))
    window = None
    if switchover is not None and switchover.took_s is not None:
        window = (switchover.at_s, switchover.at_s + switchover.took_s)
    slowest = slowest_request(summary, window)
    if slowest is not None:
        notes.append(slowest)
        console.print(slowest, markup=False, highlight=False)
    data = summary.to_json()
    if cdn is not None:
        data["cdn"] = cdn.to_json()
    if images is not None:
        data["images"] = images
    if queue is not None:
        data["queue"] = queue.to_json()
    if geo is not None and geo[1] is not None:
        data["geo"] = geo[1]
    stamp = datetime.now(UTC).strftime("%Y%m%d-%H%M%S")
    reports = settings.state_dir / "reports"
    reports.mkdir(parents=True, exist_ok=True)
    (reports / f"demo-{stamp}.json").write_text(json.dumps(data, indent=2))
    path = write_report(
        reports / f"demo-{stamp}.html",
        f"millionscale demo: {started.topology.name}",
        {started.topology.name: data},
        notes=[
            f"topology {settings.topology}: "
            + ", ".join(f"{p.name} ({p.tier})" for p in started.topology.processes),
            f"seeded {settings.users} users (seed {settings.seed}); "
            f"{settings.active_users} of them active during the load",
            *notes,
        ],
    )
    console.print(f"report: {path}")
    return path
