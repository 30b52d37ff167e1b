"""The ``millionscale`` command.

    millionscale up [TOPOLOGY] [--detach]    start a topology (default topologies/demo.toml)
    millionscale down                        stop everything it started
    millionscale status [--json]             who runs where, and how they are
    millionscale logs [NAME] [--follow]      the logs, readable, interleaved by time (--json)
    millionscale demo                        up, seed, load, report, down
    millionscale photos seed                 fill the running photo app with data
    millionscale bench --target URL          open-loop load, or --find-capacity
    millionscale db status [--json]          PostgreSQL roles, LSNs, replay lag
    millionscale db url [NODE]               a node's URL, credentials included (the primary)
    millionscale db psql [NODE]              psql on a node (the current primary by default)
    millionscale db switchover [--to NODE]   planned change of primary, no write lost
    millionscale db failover [--yes]         forced: fence the primary, promote a standby
    millionscale lb status|add|drain|remove  the load balancer's backends, live
    millionscale discovery [--json]          the live snapshot: members, health, role claims
    millionscale process add NAME --like P   a new process made like P; process remove NAME
    millionscale estimate [SCENARIO]         back-of-the-envelope capacity plan, --explain
    millionscale estimate latency --measure  the latency numbers, and this machine's
    millionscale version                     (or --version; -h is --help everywhere)

Errors a user can cause (a bad topology file, a taken port, a missing engine,
an unknown process name, an option out of range) print one line, ``error:
what (how to fix it)``, and exit with code 2; nothing is left running. Listings
are :class:`~millionscale.render.Records`: a table on a terminal, plain aligned
lines in a pipe. A topology that starts but does not
become ready exits with code 1 after stopping what it started.
"""

from __future__ import annotations

import asyncio
import json
import math
import os
import shutil
import sys
import time
from collections.abc import Awaitable, Callable, Iterator
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.progress import BarColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from rich.text import Text

# typer 0.29 carries its own click; its usage errors are these (typer exports only BadParameter).
from typer._click.exceptions import NoArgsIsHelpError, NoSuchOption, UsageError

from millionscale.errors import (
    BinaryNotFoundError,
    MillionscaleError,
    SupervisorError,
    UnknownProcessError,
)
from millionscale.render import Cell, Column, Records
from millionscale.topology.control import Started, live_view, ours, purge, start, stop
from millionscale.topology.resolve import ResolvedProcess, ResolvedTopology
from millionscale.topology.state import DEFAULT_STATE_DIR, StateDir
from millionscale.topology.urls import browser_url, process_url

__all__ = ["app", "main"]

PROG = "millionscale"
app = typer.Typer(
    name=PROG,
    help="Scale a web service from one server to millions of users, for real.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)
console = Console(soft_wrap=not sys.stdout.isatty())  # a pipe gets whole lines, never cropped
err_console = Console(stderr=True, soft_wrap=not sys.stderr.isatty())

StateOption = Annotated[
    Path,
    typer.Option(
        "--state-dir",
        envvar="MILLIONSCALE_STATE_DIR",
        help="Where the running topology keeps its state.",
    ),
]


def number(low: float, high: float, *, above: bool = False) -> Callable[[str], float]:
    """A parser for a float option in ``[low, high]`` (``(low, high]`` when ``above``) that
    also refuses nan and inf, which would pass any bound or wait forever."""
    bounds = f"{'more than' if above else 'at least'} {low:g} and at most {high:g}"

    def parse(text: str | float) -> float:
        try:
            value = float(text)
        except ValueError:
            raise typer.BadParameter(f"{text!r} is not a number") from None
        if not math.isfinite(value) or value < low or (above and value == low) or value > high:
            raise typer.BadParameter(f"{text} is out of range (must be {bounds})")
        return value

    return parse


DAY_S = 86_400.0  # no wait, run or timeout of ours is meant to last longer
SECONDS = number(0, DAY_S, above=True)  # a duration
RATE = number(0, 10_000_000, above=True)  # requests per second


def _version() -> str:
    try:
        return version("millionscale")
    except PackageNotFoundError:
        return "unknown"


def _running_topology(state_dir: Path) -> ResolvedTopology:
    """The topology a supervisor runs from ``state_dir``; an error if none does."""
    state = StateDir(state_dir)
    if state.supervisor_pid() is None:
        raise SupervisorError("no topology is running here", hint="run 'millionscale up' first")
    return ResolvedTopology.read(state.topology)


STATE_STYLES = {"ready": "green", "starting": "yellow", "failed": "red", "stopped": "dim"}
LOG_TAIL_LINES = 8  # of each failing process's log, after a failed `up`


def _status_records(data: dict[str, Any]) -> Records:
    """Every process of a live view; a note column when one is not ready and says why."""
    processes = data["processes"]
    notes = any(p["state"] != "ready" and p.get("reason") for p in processes)
    columns: list[Column | str] = ["name", "tier", "dc", "role", Column("pid", right=True)]
    columns += ["address", "state"]
    columns.append(Column("restarts", right=True))
    if notes:
        columns.append(Column("note", free_text=True))
    rows = []
    for p in processes:
        state = p["state"]
        row: list[str | int | Text | None] = [
            p["name"],
            p["tier"],
            p["datacenter"],
            p["role"] or None,
            p["pid"],
            p["address"],
            Text(state, style=STATE_STYLES.get(state, "")),
            p["restarts"],
        ]
        if notes:
            row.append(p.get("reason") or "" if state != "ready" else "")
        rows.append(row)
    return Records.of(columns, rows, title=f"topology {data.get('topology', '?')}")


def _supervisor_sentence(data: dict[str, Any]) -> str | None:
    """What to say about the supervisor when it is not simply running."""
    supervisor = data["supervisor"]
    if supervisor["state"] == "died":
        return (
            f"the supervisor (pid {supervisor['pid']}) died without stopping the topology; "
            "its processes died with it (run 'millionscale down' to clean up, then 'up')"
        )
    if supervisor["state"] == "stopped":
        return "the supervisor is not running: the topology was stopped"
    return None


def _print_version(show: bool) -> None:
    if show:
        print(f"millionscale {_version()}")
        raise typer.Exit(0)


@app.callback()
def _root(
    _version_flag: Annotated[
        bool,
        typer.Option(
            "--version",
            help="Print millionscale's version and exit.",
            is_eager=True,
            callback=_print_version,
        ),
    ] = False,
) -> None:
    """Scale a web service from one server to millions of users, for real."""


@app.command()
def up(
    topology: Annotated[Path, typer.Argument(help="Topology file to start.")] = Path(
        "topologies/demo.toml"
    ),
    detach: Annotated[
        bool, typer.Option("--detach", "-d", help="Return once everything is ready.")
    ] = False,
    timeout: Annotated[
        float,
        typer.Option(parser=SECONDS, help="Seconds to wait for readiness (more than 0)."),
    ] = 300.0,
    state_dir: StateOption = DEFAULT_STATE_DIR,
) -> None:
    """Start every process of TOPOLOGY in dependency order and wait until all are ready."""
    started = _start(topology, state_dir, detach=detach, timeout=timeout)
    if detach:
        return
    console.print("press Ctrl-C to stop")
    try:
        while started.supervisor.poll() is None:
            time.sleep(0.5)
    except KeyboardInterrupt:
        console.print("stopping...")
        stop(StateDir(state_dir))
        return
    raise typer.Exit(started.supervisor.returncode or 0)


class _Waiting:
    """What `up` shows while it waits: a live bar on a terminal; elsewhere (a log, a
    pipe, CI) one plain line each time a process changes state."""

    def __init__(self, out: Console) -> None:
        self.out = out
        self.began = time.monotonic()
        self.seen: dict[str, str] = {}
        self.progress: Progress | None = None
        if out.is_terminal:
            columns = (
                SpinnerColumn(),
                TextColumn("{task.description}"),
                BarColumn(),
                TextColumn("{task.completed}/{task.total} ready"),
                TimeElapsedColumn(),
            )
            self.progress = Progress(*columns, console=out, transient=True)
            self.task = self.progress.add_task("starting", total=None)

    def __enter__(self) -> _Waiting:
        if self.progress is not None:
            self.progress.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        if self.progress is not None:
            self.progress.stop()

    def show(self, data: dict[str, Any]) -> None:
        processes = data["processes"]
        ready = sum(p["state"] == "ready" for p in processes)
        if self.progress is not None:
            waiting = [p["name"] for p in processes if p["state"] == "starting"]
            self.progress.update(
                self.task,
                total=len(processes),
                completed=ready,
                description=f"starting {', '.join(waiting[:3])}" if waiting else "starting",
            )
            return
        for p in processes:
            if self.seen.get(p["name"]) != p["state"]:
                self.seen[p["name"]] = p["state"]
                elapsed = time.monotonic() - self.began
                line = (
                    f"{elapsed:6.1f} s  {p['name']} {p['state']} ({ready}/{len(processes)} ready)"
                )
                self.out.print(line, markup=False, highlight=False)


def _log_sizes(state: StateDir) -> dict[Path, int]:
    """How long every log is now: what a run writes comes after."""
    sizes = {}
    for path in state.logs.glob("*.log") if state.logs.is_dir() else []:
        try:
            sizes[path.resolve()] = path.stat().st_size
        except OSError:
            continue
    return sizes


def _lines_since(path: Path, offset: int) -> list[str]:
    """What ``path`` gained after ``offset`` bytes (all of it if it was replaced since)."""
    try:
        with open(path, "rb") as handle:
            size = handle.seek(0, os.SEEK_END)
            handle.seek(offset if offset <= size else 0)
            return handle.read().decode("utf-8", "replace").splitlines()
    except OSError:
        return []


def _explain_failure(state: StateDir, started: Started, sizes: dict[Path, int]) -> None:
    """Why `up` failed: the problem, the processes, and what each one that is not ready
    wrote during this run (never lines of an earlier run)."""
    from millionscale.obs.logview import human_text, parse_log

    err_console.print(Text.assemble(("error: ", "red"), started.problem or ""))
    view = live_view(state)
    if view["processes"]:
        err_console.print(_status_records(view))
    logs = {p.name: Path(p.log_path) for p in started.topology.processes}
    names = [p["name"] for p in view["processes"] if p["state"] != "ready"]
    if started.supervisor.poll() is not None:
        names.append("supervisor")
        logs["supervisor"] = state.logs / "supervisor.log"
    for name in names:
        path = logs.get(name, state.logs / f"{name}.log")
        records = parse_log(_lines_since(path, sizes.get(path.resolve(), 0)), name)
        if not records:
            continue
        err_console.print(Text(f"{name}'s log during this run:", style="bold"))
        for record in records[-LOG_TAIL_LINES:]:
            err_console.print(human_text(record, len(name)))


def _start(topology: Path, state_dir: Path, *, detach: bool, timeout: float) -> Started:
    """Start, showing progress; on failure show why, stop everything and exit 1."""
    state = StateDir(state_dir)
    sizes = _log_sizes(state)
    with _Waiting(err_console) as waiting:
        started = start(topology, state_dir, detach=detach, timeout=timeout, on_state=waiting.show)
    if started.problem is not None:
        _explain_failure(state, started, sizes)
        stop(state)
        raise typer.Exit(1)
    console.print(_status_records(live_view(state)))
    network = started.topology.network_summary()
    if network is not None:
        console.print(network, markup=False, highlight=False)
    url = browser_url(started.topology)
    if url is not None:
        console.print(f"open {url} in a browser", markup=False, highlight=False)
    count = len(started.topology.processes)
    console.print(f"all {count} processes ready in {started.elapsed_s:.2f} s")
    return started


@app.command()
def down(
    purge_data: Annotated[
        bool,
        typer.Option("--purge", help="Also delete engine data, media and secrets (not logs)."),
    ] = False,
    state_dir: StateOption = DEFAULT_STATE_DIR,
) -> None:
    """Stop everything `up` started; afterwards none of its processes is alive."""
    state = StateDir(state_dir)
    if state.supervisor_pid() is None and not ours(state.read_state() or {}):
        console.print("nothing is running")
    else:
        count = stop(state)
        console.print(f"stopped the supervisor and {count} processes")
    if purge_data:
        removed = purge(state)
        console.print(f"purged {len(removed)} data directories" if removed else "no data to purge")


def _resolved(state: StateDir) -> ResolvedTopology | None:
    try:
        return ResolvedTopology.read(state.topology)
    except (OSError, ValueError):
        return None


def _status_json(data: dict[str, Any], topology: ResolvedTopology | None) -> dict[str, Any]:
    """``status --json``: the live view, each process with its URL, ports and note."""
    resolved = {p.name: p for p in topology.processes} if topology else {}
    processes = []
    for p in data["processes"]:
        known: ResolvedProcess | None = resolved.get(p["name"])
        processes.append(
            {
                "name": p["name"],
                "tier": p["tier"],
                "datacenter": p["datacenter"],
                "role": p["role"],
                "pid": p["pid"],
                "address": p["address"],
                "url": process_url(known) if known else None,
                "ports": dict(known.ports) if known else {},
                "state": p["state"],
                "restarts": p["restarts"],
                "note": p.get("reason") or None,
            }
        )
    return {
        "topology": data.get("topology"),
        "running": data["running"],
        "supervisor": data["supervisor"],
        "url": browser_url(topology) if topology else None,
        "processes": processes,
    }


@app.command()
def status(
    as_json: Annotated[
        bool,
        typer.Option("--json", help="Machine-readable, with URLs (credentials included)."),
    ] = False,
    state_dir: StateOption = DEFAULT_STATE_DIR,
) -> None:
    """Show every process of the running topology: pid, address, state, restarts."""
    state = StateDir(state_dir)
    data = live_view(state)
    if as_json:
        print(json.dumps(_status_json(data, _resolved(state)), indent=2))
        return
    if not data["processes"]:
        console.print("nothing has been started here; run 'millionscale up'")
        return
    console.print(_status_records(data))
    sentence = _supervisor_sentence(data)
    if sentence is not None:
        console.print(sentence, markup=False, highlight=False)


def _log_files(state: StateDir, name: str | None) -> dict[str, Path]:
    """The logs to read: NAME's, or every process's and the supervisor's."""
    topology = _resolved(state)
    known = {p.name: Path(p.log_path) for p in topology.processes} if topology else {}
    known["supervisor"] = state.logs / "supervisor.log"
    if name is None:
        return known
    if name not in known:
        raise UnknownProcessError(
            f"unknown process {name!r}",
            hint=f"known: {', '.join(['supervisor', *sorted(set(known) - {'supervisor'})])}"
            if topology
            else "no topology has been started here; run 'millionscale up'",
        )
    return {name: known[name]}


def _follow(paths: dict[str, Path]) -> Iterator[tuple[str, list[str]]]:
    """New complete lines of each log, as they are written (until Ctrl-C)."""
    offsets = {name: path.stat().st_size if path.exists() else 0 for name, path in paths.items()}
    partial = dict.fromkeys(paths, "")
    while True:
        quiet = True
        for name, path in paths.items():
            chunk = _read_from(path, offsets[name])
            if not chunk:
                continue
            quiet = False
            offsets[name] += len(chunk)
            *lines, partial[name] = (partial[name] + chunk.decode("utf-8", "replace")).split("\n")
            if lines:
                yield name, lines
        if quiet:
            time.sleep(0.2)


def _read_from(path: Path, offset: int) -> bytes:
    try:
        with open(path, "rb") as handle:
            handle.seek(offset)
            return handle.read()
    except OSError:
        return b""


def _log_level(text: str) -> str:
    from millionscale.obs.logview import LEVELS

    level = text.lower()
    if level not in LEVELS:
        raise typer.BadParameter(f"{text!r} is not one of {', '.join(LEVELS)}")
    return level


@app.command()
def logs(
    name: Annotated[
        str | None,
        typer.Argument(help="Process name, or 'supervisor' (default: every process, by time)."),
    ] = None,
    follow: Annotated[
        bool, typer.Option("--follow", "-f", help="Keep printing new lines.")
    ] = False,
    lines: Annotated[
        int, typer.Option("--lines", "-n", min=0, max=1_000_000, help="Records to show.")
    ] = 50,
    level: Annotated[
        str,
        typer.Option(
            parser=_log_level,
            metavar="LEVEL",
            help="Show records at this level and above.",
        ),
    ] = "debug",
    as_json: Annotated[
        bool, typer.Option("--json", help="One JSON object a line (ours as written).")
    ] = False,
    state_dir: StateOption = DEFAULT_STATE_DIR,
) -> None:
    """The logs of the topology: level, time, process, message, tracebacks as tracebacks."""
    from millionscale.obs.logview import human_text, interleave, json_line, parse_log, passes

    paths = _log_files(StateDir(state_dir), name)
    width = max(map(len, paths))

    def show(records: list[Any]) -> None:
        for record in records:
            if not passes(record, level):
                continue
            if as_json:
                print(json_line(record), flush=True)
            else:
                console.print(human_text(record, width), markup=False, highlight=False)

    every = [parse_log(_lines_since(path, 0), who) for who, path in paths.items()]
    kept = [r for r in interleave(every) if passes(r, level)]
    if not kept and not follow:
        who = name or "the topology"  # on stderr: --json's stdout holds records only
        if not any(every):
            err_console.print(f"{who} has written no log yet")
        else:
            err_console.print(f"{who}: nothing at level {level} or above")
    show(kept[-lines:] if lines else [])
    if not follow:
        return
    try:
        for who, new in _follow(paths):
            show(parse_log(new, who))
    except KeyboardInterrupt:
        return


@app.command(name="version")
def show_version() -> None:
    """Print millionscale's version."""
    print(f"millionscale {_version()}")


@app.command()
def bench(
    target: Annotated[
        str,
        typer.Option(
            help="Base URL of the photo-sharing service to load, e.g. http://127.0.0.1:8000."
        ),
    ],
    rate: Annotated[
        float,
        typer.Option(
            parser=RATE, help="Requests per second (the first step with --find-capacity)."
        ),
    ] = 100.0,
    duration: Annotated[
        float,
        typer.Option(parser=SECONDS, help="Seconds to run (each step with --find-capacity)."),
    ] = 10.0,
    json_file: Annotated[
        Path | None, typer.Option("--json", help="Also write the result to this JSON file.")
    ] = None,
    mix: Annotated[
        str | None,
        typer.Option(help="Action weights, default timeline=70,photo=15,like=8,post=5,signup=2."),
    ] = None,
    users: Annotated[
        int, typer.Option(min=1, max=1_000_000, help="Seeded users to log in and act as.")
    ] = 100,
    seed: Annotated[int, typer.Option(min=0, help="Seed of the random choices.")] = 0,
    password: Annotated[
        str | None, typer.Option(help="The seeded users' password (default: the seeder's).")
    ] = None,
    find_capacity: Annotated[
        bool, typer.Option("--find-capacity", help="Search the highest rate that meets the SLO.")
    ] = False,
    slo_p99_ms: Annotated[
        float,
        typer.Option(
            parser=number(0, DAY_S * 1000, above=True),
            help="With --find-capacity: the p99 latency a rate must keep.",
        ),
    ] = 100.0,
    connections: Annotated[
        int, typer.Option(min=1, max=65_536, help="Size of the connection pool.")
    ] = 256,
    timeout: Annotated[
        float, typer.Option(parser=SECONDS, help="Seconds each request may take.")
    ] = 10.0,
) -> None:
    """Load a target open-loop at a constant rate (wrk2-style); report latency and errors."""
    import asyncio

    from rich.progress import MofNCompleteColumn

    from millionscale.bench import capacity as cap
    from millionscale.bench import dataset, report, run, scenario, schedule

    schedule.validate_rate_and_duration(rate, duration)
    workload = scenario.Workload.seeded(
        target,
        users,
        password=dataset.DEFAULT_PASSWORD if password is None else password,
        mix=scenario.DEFAULT_MIX if mix is None else scenario.parse_mix(mix),
        seed=seed,
    )
    limits = run.Limits(pool_limit=connections, timeout_s=timeout)
    plan = cap.CapacityPlan(start_rate=rate, slo_p99_ms=slo_p99_ms) if find_capacity else None
    columns = (
        SpinnerColumn(),
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
    )
    if json_file is not None:
        report.check_writable(json_file)  # fail now, not after the run
    quiet = not err_console.is_terminal  # no bar (nor its blank line) in logs and pipes
    with Progress(*columns, console=err_console, transient=True, disable=quiet) as progress:
        task = progress.add_task(f"logging in {users} users", total=None)

        def say(sentence: str) -> None:
            progress.console.print(sentence, markup=False, highlight=False)

        def on_start(step_rate: float) -> None:
            progress.reset(task, description=f"{step_rate:,.0f}/s", total=None)

        def advance(done: int, total: int) -> None:
            progress.update(task, completed=done, total=total)

        if plan is None:
            summary = asyncio.run(
                run.bench_target(
                    workload,
                    rate,
                    duration,
                    limits=limits,
                    say=say,
                    on_start=on_start,
                    progress=advance,
                )
            )
            data, table = summary.to_json(), report.summary_table(summary, title=workload.base_url)
        else:
            capacity = asyncio.run(
                run.find_target_capacity(
                    workload,
                    plan,
                    duration,
                    limits=limits,
                    say=say,
                    on_start=on_start,
                    progress=advance,
                )
            )
            data, table = capacity.to_json(), report.capacity_table(capacity)
    console.print(table)
    if json_file is not None:
        report.write_json(json_file, data)
        console.print(f"result written to {json_file}")


@app.command()
def demo(
    topology: Annotated[Path, typer.Option(help="Topology to run.")] = Path("topologies/demo.toml"),
    users: Annotated[int, typer.Option(min=10, max=1_000_000, help="Users to seed.")] = 2_000,
    rate: Annotated[
        float, typer.Option(parser=number(1, 1_000_000), help="Requests per second.")
    ] = 50.0,
    duration: Annotated[
        float, typer.Option(parser=number(1, DAY_S), help="Seconds of load.")
    ] = 30.0,
    state_dir: StateOption = DEFAULT_STATE_DIR,
) -> None:
    """Bring the whole system up, seed it, load it, report, and stop it."""
    from millionscale.demo import DemoSettings, run_demo

    settings = DemoSettings(
        topology=topology, state_dir=state_dir, users=users, rate=rate, duration_s=duration
    )
    if run_demo(settings, console) is None:
        raise typer.Exit(1)


@app.command()
def estimate(
    scenario: Annotated[
        str | None,
        typer.Argument(
            metavar="[SCENARIO.toml | latency]",
            help="A scenario file (see scenarios/), or the word 'latency' for the latency numbers.",
            show_default=False,
        ),
    ] = None,
    dau: Annotated[str | None, typer.Option(help="Daily active users, e.g. 150M.")] = None,
    mau: Annotated[str | None, typer.Option(help="Monthly active users, e.g. 300M.")] = None,
    daily_active_fraction: Annotated[
        str | None, typer.Option(help="Share of monthly users active on a day, e.g. 0.5 or 50%.")
    ] = None,
    writes_per_user: Annotated[
        str | None, typer.Option(help="Writes per daily user per day.")
    ] = None,
    reads_per_write: Annotated[str | None, typer.Option(help="Reads per write.")] = None,
    peak_factor: Annotated[str | None, typer.Option(help="Peak over average traffic.")] = None,
    text_size: Annotated[
        str | None, typer.Option(help="Text and metadata per write, e.g. 200B.")
    ] = None,
    media_fraction: Annotated[
        str | None, typer.Option(help="Share of writes carrying media, e.g. 10%.")
    ] = None,
    media_size: Annotated[
        str | None, typer.Option(help="Size of one media file, e.g. 1MB.")
    ] = None,
    retention: Annotated[str | None, typer.Option(help="How long data is kept, e.g. 5y.")] = None,
    replication: Annotated[str | None, typer.Option(help="Copies of every byte.")] = None,
    calibrate: Annotated[
        Path | None,
        typer.Option(help="Per-node capacities measured by 'millionscale bench' (JSON)."),
    ] = None,
    binary: Annotated[
        bool, typer.Option("--binary/--decimal", help="Show sizes in KiB, MiB... or KB, MB...")
    ] = False,
    explain: Annotated[
        bool, typer.Option("--explain", help="Print the derivation of every figure.")
    ] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Machine-readable output.")] = False,
    measure: Annotated[
        bool, typer.Option("--measure", help="With 'latency': measure this machine's figures.")
    ] = False,
) -> None:
    """Back-of-the-envelope QPS, storage, bandwidth, cache and servers, derived step by step.

    'millionscale estimate latency [--measure]' prints the latency numbers instead.
    """
    from millionscale.errors import ConfigError
    from millionscale.estimate.command import (
        LATENCY,
        EstimateRequest,
        run_estimate,
        run_latency,
    )
    from millionscale.estimate.units import UnitSystem

    flags = {
        "dau": dau,
        "mau": mau,
        "daily_active_fraction": daily_active_fraction,
        "writes_per_user": writes_per_user,
        "reads_per_write": reads_per_write,
        "peak_factor": peak_factor,
        "text_size": text_size,
        "media_fraction": media_fraction,
        "media_size": media_size,
        "retention": retention,
        "replication": replication,
    }
    if scenario == LATENCY:
        given = [f"--{k.replace('_', '-')}" for k, v in flags.items() if v is not None]
        given += [name for name, on in (("--calibrate", calibrate), ("--explain", explain)) if on]
        if given:
            raise ConfigError(
                f"{', '.join(given)}: not options of 'estimate latency'",
                hint="'estimate latency' takes --measure and --json; "
                "write ./latency for a scenario file called latency",
            )
        run_latency(console, measure=measure, as_json=as_json)
        return
    if measure:
        raise ConfigError(
            "--measure: only with 'latency'", hint="run 'millionscale estimate latency --measure'"
        )
    request = EstimateRequest(
        scenario=Path(scenario) if scenario is not None else None,
        flags=flags,
        calibrate=calibrate,
        system=UnitSystem.BINARY if binary else UnitSystem.DECIMAL,
        explain=explain,
        as_json=as_json,
    )
    run_estimate(request, console)


photos_app = typer.Typer(help="The reference photo-sharing app.", no_args_is_help=True)
app.add_typer(photos_app, name="photos")


@photos_app.command("seed")
def photos_seed(
    users: Annotated[int, typer.Option(min=1, max=1_000_000, help="Users to create.")] = 2_000,
    seed_value: Annotated[int, typer.Option("--seed", min=0, help="Seed of the dataset.")] = 0,
    reset: Annotated[bool, typer.Option(help="Delete all users and photos first.")] = False,
    state_dir: StateOption = DEFAULT_STATE_DIR,
) -> None:
    """Fill the running topology's photo app with a skewed dataset (users user00000...)."""
    from millionscale.bench.dataset import DEFAULT_PASSWORD, generate
    from millionscale.photos.seed import running_app, seed

    target = running_app(_running_topology(state_dir))
    with console.status(f"seeding {users} users") as status:
        result = seed(
            target.database_url,
            target.media_dir,
            generate(users, seed=seed_value),
            seed_value=seed_value,
            reset=reset,
            progress=lambda step: status.update(f"seeding {step}"),
        )
    if result.skipped:
        console.print("already seeded; pass --reset to replace it")
        return
    console.print(
        f"seeded {result.users} users, {result.follows} follows, {result.photos} photos; "
        f"log in as user00000 with password {DEFAULT_PASSWORD!r}; load it with "
        f"'millionscale bench --target {target.base_url}'"
    )


db_app = typer.Typer(help="The data tier: PostgreSQL primary and replicas.", no_args_is_help=True)
app.add_typer(db_app, name="db")


@db_app.command("status")
def db_status(
    as_json: Annotated[bool, typer.Option("--json", help="Machine-readable output.")] = False,
    state_dir: StateOption = DEFAULT_STATE_DIR,
) -> None:
    """Every PostgreSQL node of the running topology: role, LSN, replay lag (asked of the nodes)."""
    from millionscale.db.cluster import read_record
    from millionscale.db.status import NodeAddress, cluster_status, node_records
    from millionscale.servers.engines import PostgresEngine

    topology = _running_topology(state_dir)
    nodes = cluster_status(
        NodeAddress(p.name, p.address, PostgresEngine().url(p.endpoint()))
        for p in topology.processes
        if p.engine == "postgres"
    )
    record = read_record(topology.state().cluster)
    if as_json:
        view = {"nodes": [node.to_json() for node in nodes]}
        print(json.dumps(view | {"monitor": record.to_json() if record else None}, indent=2))
        return
    console.print(node_records(nodes))
    if record is not None:
        console.print(
            f"monitor: primary {record.primary}, epoch {record.epoch}, {record.state}"
            + (f" ({record.reason})" if record.reason else ""),
            markup=False,
            highlight=False,
        )


def _database_node(
    topology: ResolvedTopology, state: StateDir, node: str | None
) -> ResolvedProcess:
    """PostgreSQL node ``node`` of ``topology``; by default the current primary (the failover
    monitor's, else the topology file's)."""
    from millionscale.topology.replication import claimed_primary, cluster_of

    nodes = [p for p in topology.processes if p.engine == "postgres"]
    if not nodes:
        raise UnknownProcessError(
            f"topology {topology.name!r} has no PostgreSQL node",
            hint="start one that has, e.g. 'millionscale up topologies/single-server.toml'",
        )
    if node is None:
        cluster = cluster_of(topology.processes)
        if cluster is not None:
            node = cluster.current_primary(claimed_primary(state.claims()))
        else:
            primaries = [p.name for p in nodes if p.replica_of is None]
            if len(primaries) > 1:
                raise UnknownProcessError(
                    f"topology {topology.name!r} has several primaries: {', '.join(primaries)}",
                    hint="name one, e.g. 'millionscale db url " + primaries[0] + "'",
                )
            node = primaries[0] if primaries else nodes[0].name
    for process in nodes:
        if process.name == node:
            return process
    raise UnknownProcessError(
        f"{node!r} is not a PostgreSQL node of topology {topology.name!r}",
        hint=f"known: {', '.join(p.name for p in nodes)}",
    )


@db_app.command("url")
def db_url(
    node: Annotated[
        str | None, typer.Argument(help="The node (default: the current primary).")
    ] = None,
    state_dir: StateOption = DEFAULT_STATE_DIR,
) -> None:
    """Print a node's connection URL, password included, for your own tools."""
    state = StateDir(state_dir)
    process = _database_node(_running_topology(state_dir), state, node)
    print(process_url(process))


def _psql() -> str:
    """psql of the PostgreSQL installation the topology runs on, else the one on PATH."""
    from millionscale.servers.binaries import find_bindir

    try:
        candidate = find_bindir("postgres") / "psql"
        if os.access(candidate, os.X_OK):
            return str(candidate)
    except BinaryNotFoundError:
        pass
    found = shutil.which("psql")
    if found is None:
        raise BinaryNotFoundError(
            "psql not found",
            hint="install the PostgreSQL client (apt-get install postgresql-client)",
        )
    return found


@db_app.command("psql")
def db_psql(
    node: Annotated[
        str | None, typer.Argument(help="The node (default: the current primary).")
    ] = None,
    command: Annotated[
        str | None, typer.Option("--command", "-c", help="Run this SQL and exit.")
    ] = None,
    state_dir: StateOption = DEFAULT_STATE_DIR,
) -> None:
    """Open psql on a node (the password goes in PGPASSWORD, never on the command line)."""
    state = StateDir(state_dir)
    process = _database_node(_running_topology(state_dir), state, node)
    from millionscale.servers.engines import PostgresEngine

    engine = PostgresEngine()
    target = f"host={process.host} port={process.ports['main']} user={engine.user} dbname=postgres"
    argv = [_psql(), target, *(["-c", command] if command is not None else [])]
    env = os.environ | {"PGPASSWORD": process.secret, "PGAPPNAME": "millionscale db psql"}
    sys.stdout.flush()
    os.execve(argv[0], argv, env)


def _print_record(result: dict[str, object]) -> None:
    record = result.get("record")
    if isinstance(record, dict):
        console.print(
            f"primary {record.get('primary')} (epoch {record.get('epoch')}): {record.get('reason')}",
            markup=False,
            highlight=False,
        )


@db_app.command("switchover")
def db_switchover(
    to: Annotated[
        str | None, typer.Option("--to", help="The standby to promote (default: the best one).")
    ] = None,
    state_dir: StateOption = DEFAULT_STATE_DIR,
) -> None:
    """Planned switchover: drain the primary, let the standby catch up, promote it (no write lost)."""
    _print_record(_monitor_control(state_dir).switchover(to))


@db_app.command("failover")
def db_failover(
    yes: Annotated[bool, typer.Option("--yes", help="Do not ask for confirmation.")] = False,
    state_dir: StateOption = DEFAULT_STATE_DIR,
) -> None:
    """Forced failover: fence the primary now, whatever it answers, and promote a standby."""
    control = _monitor_control(state_dir)
    if not yes:
        typer.confirm("Fence the primary now and promote a standby?", abort=True)
    _print_record(control.failover())


def _monitor_control(state_dir: Path) -> Any:
    """The running topology's failover monitor, over its admin API (the topology's token)."""
    from millionscale.db.control import MonitorControl
    from millionscale.topology.admin import admin_client

    topology = _running_topology(state_dir)
    return MonitorControl(
        admin_client(topology, "millionscale.topology.dbmonitor", "failover monitor")
    )


lb_app = typer.Typer(help="The load balancer: its backends, live.", no_args_is_help=True)
app.add_typer(lb_app, name="lb")


def _lb(state_dir: Path) -> Any:
    from millionscale.topology.admin import admin_client

    return admin_client(_running_topology(state_dir), "millionscale.lb", "load balancer")


def _print_backends(status: dict[str, Any]) -> None:
    columns: list[Column | str] = ["name", "address", "state", "serving", "ejected"]
    columns += [Column("outstanding", right=True), Column("latency", right=True)]
    rows = [
        [
            b["name"],
            b["address"],
            b["state"],
            "yes" if b["serving"] else "no",
            "yes" if b["ejected"] else "no",
            b["outstanding"],
            f"{b['latency_ms']:.1f} ms",
        ]
        for b in status.get("backends", [])
    ]
    console.print(Records.of(columns, rows, title=f"backends ({status.get('policy')})"))


@lb_app.command("status")
def lb_status(
    as_json: Annotated[bool, typer.Option("--json", help="Machine-readable output.")] = False,
    state_dir: StateOption = DEFAULT_STATE_DIR,
) -> None:
    """Every backend: health state, ejection, load, latency (EWMA)."""
    status = _lb(state_dir).call("GET", "/backends")
    if as_json:
        print(json.dumps(status, indent=2))
    else:
        _print_backends(status)


@lb_app.command("add")
def lb_add(
    name: Annotated[str, typer.Argument(help="The backend's name.")],
    address: Annotated[str, typer.Argument(help="host:port")],
    weight: Annotated[int, typer.Option(min=1, max=256, help="Relative weight, 1 to 256.")] = 1,
    state_dir: StateOption = DEFAULT_STATE_DIR,
) -> None:
    """Add a backend: it serves once its health checks pass, with slow start."""
    body = {"name": name, "address": address, "weight": weight}
    _print_backends(_lb(state_dir).call("POST", "/backends", body))


@lb_app.command("drain")
def lb_drain(
    name: Annotated[str, typer.Argument(help="The backend's name.")],
    state_dir: StateOption = DEFAULT_STATE_DIR,
) -> None:
    """Stop sending new requests to a backend; it is removed once its requests are done."""
    console.print(_lb(state_dir).call("POST", f"/backends/{name}/drain")["result"], markup=False)


@lb_app.command("remove")
def lb_remove(
    name: Annotated[str, typer.Argument(help="The backend's name.")],
    state_dir: StateOption = DEFAULT_STATE_DIR,
) -> None:
    """Remove a backend at once (requests in flight to it finish)."""
    _print_backends(_lb(state_dir).call("DELETE", f"/backends/{name}"))


# -- discovery and membership: the supervisor's control endpoint ------------------


def _control(state_dir: Path) -> Any:
    """A client of the running supervisor's control endpoint (an HttpDiscovery)."""
    from millionscale.discovery import HttpDiscovery

    _running_topology(state_dir)
    state = StateDir(state_dir)
    try:
        token = state.admin_token_file.read_text().strip()
    except OSError as error:
        raise SupervisorError(
            f"cannot read the admin token {state.admin_token_file}: {error.strerror}",
            hint="run this as the user that started the topology",
        ) from None
    return HttpDiscovery(state.control_socket(), token)


def _with_control(state_dir: Path, call: Callable[[Any], Awaitable[Any]]) -> Any:
    async def run() -> Any:
        async with _control(state_dir) as control:
            return await call(control)

    return asyncio.run(run())


def _member_row(member: Any) -> list[Cell]:
    ports = " ".join(f"{name}={port}" for name, port in member.ports.items())
    return [member.name, member.tier, member.datacenter, member.role or None, member.host, ports,
            Text(member.health, style=HEALTH_STYLES.get(member.health, ""))]  # fmt: skip


HEALTH_STYLES = {"ready": "green", "starting": "yellow", "unready": "yellow", "failed": "red",
                 "stopping": "dim", "stopped": "dim"}  # fmt: skip
MEMBER_COLUMNS: list[Column | str] = ["name", "tier", "dc", "role", "host", "ports", "health"]


@app.command()
def discovery(
    as_json: Annotated[bool, typer.Option("--json", help="The snapshot as JSON.")] = False,
    state_dir: StateOption = DEFAULT_STATE_DIR,
) -> None:
    """The live snapshot discovery serves: every member, its health, and role claims."""
    snapshot = _with_control(state_dir, lambda control: control.snapshot())
    if as_json:
        print(snapshot.dumps())
        return
    rows = [_member_row(m) for m in snapshot.members]
    console.print(Records.of(MEMBER_COLUMNS, rows, title=f"discovery (version {snapshot.version})"))
    if snapshot.roles:
        roles = [[role, c.holder, c.epoch] for role, c in sorted(snapshot.roles.items())]
        console.print(Records.of(["role", "holder", Column("epoch", right=True)], roles))


process_app = typer.Typer(
    help="Add or remove a process of the running topology.", no_args_is_help=True
)
app.add_typer(process_app, name="process")


@process_app.command("add")
def process_add(
    name: Annotated[str, typer.Argument(help="The new process's name.")],
    like: Annotated[str, typer.Option("--like", help="The running process to copy.")],
    state_dir: StateOption = DEFAULT_STATE_DIR,
) -> None:
    """Start a new process made from a running one's spec, with its own port."""
    member = _with_control(state_dir, lambda control: control.add_process(name, like))
    console.print(Records.of(MEMBER_COLUMNS, [_member_row(member)], title="added"))


@process_app.command("remove")
def process_remove(
    name: Annotated[str, typer.Argument(help="The process to remove.")],
    drain: Annotated[
        float | None,
        typer.Option(min=0, max=600, help="Seconds to drain first (default: the supervisor's)."),
    ] = None,
    state_dir: StateOption = DEFAULT_STATE_DIR,
) -> None:
    """Drain a process (discovery shows it stopping), then stop and remove it."""
    member = _with_control(state_dir, lambda control: control.remove_process(name, drain))
    console.print(Records.of(MEMBER_COLUMNS, [_member_row(member)], title="removing"))


def usage_line(error: UsageError) -> str:
    """A usage error (click's or typer's) as our errors read: ``what (how to fix it)``."""
    where = error.ctx.command_path if error.ctx is not None else PROG
    hint = f"see '{where} --help'"
    if isinstance(error, NoSuchOption):
        message = error.message
        if error.possibilities:
            hint = f"did you mean {', '.join(sorted(error.possibilities))}? {hint}"
    else:
        message = error.format_message()
    message = " ".join(message.split()).rstrip(".")
    return f"{message[:1].lower()}{message[1:]} ({hint})"


def main() -> None:
    """Entry point: run the app, turning our errors and usage errors into one line and
    exit code 2."""
    try:
        code = app(standalone_mode=False, prog_name=PROG)
    except MillionscaleError as error:
        err_console.print(
            f"error: {error.one_line()}", markup=False, highlight=False, soft_wrap=True
        )
        raise SystemExit(2) from None
    except NoArgsIsHelpError as error:
        error.show()  # the help text: `millionscale` or `millionscale db` with nothing more
        raise SystemExit(2) from None
    except UsageError as error:  # unknown option, bad or out-of-range value
        err_console.print(
            f"error: {usage_line(error)}", markup=False, highlight=False, soft_wrap=True
        )
        raise SystemExit(2) from None
    except (typer.Abort, KeyboardInterrupt):
        raise SystemExit(130) from None
    raise SystemExit(code if isinstance(code, int) else 0)


if __name__ == "__main__":
    main()
