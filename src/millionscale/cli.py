"""The ``millionscale`` command.

    millionscale up [TOPOLOGY] [--detach]    start a topology (default topologies/demo.toml)
    millionscale down                        stop everything it started
    millionscale status [--json]             who runs where, and how they are
    millionscale logs NAME [--follow]        one process's log
    millionscale demo                        up, seed, load, report, down
    millionscale photos seed                 fill the running photo app with data
    millionscale bench --target URL          open-loop load, or --find-capacity
    millionscale db status [--json]          PostgreSQL roles, LSNs, replay lag
    millionscale db switchover [--to NODE]   planned change of primary, no write lost
    millionscale db failover [--yes]         forced: fence the primary, promote a standby
    millionscale lb status|add|drain|remove  the load balancer's backends, live
    millionscale estimate [SCENARIO]         back-of-the-envelope capacity plan, --explain
    millionscale estimate latency --measure  the latency numbers, and this machine's
    millionscale version

Errors a user can cause (a bad topology file, a taken port, a missing engine,
an unknown process name) print one line, ``error: what (how to fix it)``, and
exit with code 2; nothing is left running. A topology that starts but does not
become ready exits with code 1 after stopping what it started.
"""

from __future__ import annotations

import json
import sys
import time
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.progress import BarColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from rich.table import Table

from millionscale.errors import MillionscaleError, SupervisorError, UnknownProcessError
from millionscale.servers.process import log_tail
from millionscale.topology.control import Started, live_view, ours, purge, start, stop
from millionscale.topology.resolve import ResolvedTopology
from millionscale.topology.state import DEFAULT_STATE_DIR, StateDir

__all__ = ["app", "main"]

app = typer.Typer(
    name="millionscale",
    help="Scale a web service from one server to millions of users, for real.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
console = Console()
err_console = Console(stderr=True)

StateOption = Annotated[
    Path,
    typer.Option(
        "--state-dir",
        envvar="MILLIONSCALE_STATE_DIR",
        help="Where the running topology keeps its state.",
    ),
]


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


def _status_table(data: dict[str, Any]) -> Table:
    table = Table(title=f"topology {data.get('topology', '?')}", title_justify="left")
    for column in ("name", "tier", "dc", "role", "pid", "address", "state", "restarts"):
        table.add_column(column, no_wrap=True)
    notes = any(p["state"] != "ready" and p.get("reason") for p in data["processes"])
    if notes:
        table.add_column("note", overflow="fold")
    colours = {"ready": "green", "starting": "yellow", "failed": "red", "stopped": "dim"}
    for p in data["processes"]:
        state = p["state"]
        row = [
            p["name"],
            p["tier"],
            p["datacenter"],
            p["role"] or "-",
            str(p["pid"] or "-"),
            p["address"],
            f"[{colours.get(state, 'white')}]{state}[/]",
            str(p["restarts"]),
        ]
        if notes:
            row.append(p.get("reason", "") if state != "ready" else "")
        table.add_row(*row)
    return table


@app.command()
def up(
    topology: Annotated[Path, typer.Argument(help="Topology file to start.")] = Path(
        "topologies/demo.toml"
    ),
    detach: Annotated[
        bool, typer.Option("--detach", "-d", help="Return once everything is ready.")
    ] = False,
    timeout: Annotated[float, typer.Option(help="Seconds to wait for readiness.")] = 300.0,
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


def _start(topology: Path, state_dir: Path, *, detach: bool, timeout: float) -> Started:
    """Start with a progress bar; on failure show why, stop everything and exit 1."""
    columns = (
        SpinnerColumn(),
        TextColumn("{task.description}"),
        BarColumn(),
        TextColumn("{task.completed}/{task.total} ready"),
        TimeElapsedColumn(),
    )
    with Progress(*columns, console=err_console, transient=True) as progress:
        task = progress.add_task("starting", total=None)

        def show(data: dict[str, Any]) -> None:
            processes = data["processes"]
            waiting = [p["name"] for p in processes if p["state"] == "starting"]
            progress.update(
                task,
                total=len(processes),
                completed=sum(p["state"] == "ready" for p in processes),
                description=f"starting {', '.join(waiting[:3])}" if waiting else "starting",
            )

        started = start(topology, state_dir, detach=detach, timeout=timeout, on_state=show)
    state = StateDir(state_dir)
    if started.problem is not None:
        err_console.print(f"[red]error:[/] {started.problem}")
        view = live_view(state)
        if view["processes"]:
            err_console.print(_status_table(view))
        for p in view["processes"]:
            if p["state"] in ("failed", "starting"):
                tail = log_tail(state.logs / f"{p['name']}.log")
                if tail:
                    err_console.print(f"[bold]{p['name']}[/] log: {tail}", markup=False)
        if started.supervisor.poll() is not None:
            tail = log_tail(state.logs / "supervisor.log")
            err_console.print(f"[bold]supervisor[/] log: {tail}", markup=False)
        stop(state)
        raise typer.Exit(1)
    console.print(_status_table(live_view(state)))
    network = started.topology.network_summary()
    if network is not None:
        console.print(network, markup=False, highlight=False)
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


@app.command()
def status(
    as_json: Annotated[bool, typer.Option("--json", help="Machine-readable output.")] = False,
    state_dir: StateOption = DEFAULT_STATE_DIR,
) -> None:
    """Show every process of the running topology: pid, address, state, restarts."""
    state = StateDir(state_dir)
    data = live_view(state)
    if as_json:
        keys = ("name", "tier", "datacenter", "role", "pid", "address", "state", "restarts")
        out = {
            "topology": data.get("topology"),
            "running": data["running"],
            "processes": [{k: p[k] for k in keys} for p in data["processes"]],
        }
        print(json.dumps(out, indent=2))
        return
    if not data["processes"]:
        console.print("nothing has been started here; run 'millionscale up'")
        return
    console.print(_status_table(data))


@app.command()
def logs(
    name: Annotated[str, typer.Argument(help="Process name, or 'supervisor'.")],
    follow: Annotated[
        bool, typer.Option("--follow", "-f", help="Keep printing new lines.")
    ] = False,
    lines: Annotated[int, typer.Option("--lines", "-n", min=0, help="Lines to show.")] = 50,
    state_dir: StateOption = DEFAULT_STATE_DIR,
) -> None:
    """Print the log of process NAME."""
    state = StateDir(state_dir)
    try:
        known = [p.name for p in ResolvedTopology.read(state.topology).processes]
    except (OSError, ValueError):
        known = []
    if name != "supervisor" and name not in known:
        raise UnknownProcessError(
            f"unknown process {name!r}",
            hint=f"known: {', '.join(['supervisor', *known])}"
            if known
            else "no topology has been started here; run 'millionscale up'",
        )
    path = state.logs / f"{name}.log"
    if not path.exists():
        console.print(f"{name} has written no log yet")
        if not follow:
            return
        path.touch()
    with open(path, "rb") as handle:
        text = handle.read().decode("utf-8", "replace")
        for line in text.splitlines()[-lines:] if lines else []:
            print(line)
        sys.stdout.flush()
        if not follow:
            return
        try:
            while True:
                chunk = handle.read()
                if chunk:
                    sys.stdout.write(chunk.decode("utf-8", "replace"))
                    sys.stdout.flush()
                else:
                    time.sleep(0.2)
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
        float, typer.Option(help="Requests per second (the first step with --find-capacity).")
    ] = 100.0,
    duration: Annotated[
        float, typer.Option(help="Seconds to run (each step with --find-capacity).")
    ] = 10.0,
    json_file: Annotated[
        Path | None, typer.Option("--json", help="Also write the result to this JSON file.")
    ] = None,
    mix: Annotated[
        str | None,
        typer.Option(help="Action weights, default timeline=70,photo=15,like=8,post=5,signup=2."),
    ] = None,
    users: Annotated[int, typer.Option(help="Seeded users to log in and act as.")] = 100,
    seed: Annotated[int, typer.Option(help="Seed of the random choices.")] = 0,
    password: Annotated[
        str | None, typer.Option(help="The seeded users' password (default: the seeder's).")
    ] = None,
    find_capacity: Annotated[
        bool, typer.Option("--find-capacity", help="Search the highest rate that meets the SLO.")
    ] = False,
    slo_p99_ms: Annotated[
        float, typer.Option(help="With --find-capacity: the p99 latency a rate must keep.")
    ] = 100.0,
    connections: Annotated[int, typer.Option(help="Size of the connection pool.")] = 256,
    timeout: Annotated[float, typer.Option(help="Seconds each request may take.")] = 10.0,
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
    rate: Annotated[float, typer.Option(min=1, help="Requests per second.")] = 50.0,
    duration: Annotated[float, typer.Option(min=1, help="Seconds of load.")] = 30.0,
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
    seed_value: Annotated[int, typer.Option("--seed", help="Seed of the dataset.")] = 0,
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
    from millionscale.db.status import cluster_status

    nodes = cluster_status(_running_topology(state_dir))
    record = read_record(StateDir(state_dir))
    if as_json:
        view = {"nodes": [node.to_json() for node in nodes]}
        print(json.dumps(view | {"monitor": record.to_json() if record else None}, indent=2))
        return
    table = Table(title="PostgreSQL nodes", title_justify="left")
    for column in ("name", "address", "role", "lsn", "lag", "sync"):
        table.add_column(column, no_wrap=True)
    for node in nodes:
        lag = "-"
        if node.lag_bytes is not None:
            lag = f"{node.lag_bytes:,} B" + (f", {node.lag_s:.1f} s" if node.lag_bytes else "")
        role = node.role if node.error is None else f"[red]{node.role}[/]: {node.error}"
        table.add_row(node.name, node.address, role, node.lsn or "-", lag, node.sync_state or "-")
    console.print(table)
    if record is not None:
        console.print(
            f"monitor: primary {record.primary}, epoch {record.epoch}, {record.state}"
            + (f" ({record.reason})" if record.reason else ""),
            markup=False,
            highlight=False,
        )


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
    from millionscale.db.control import monitor_control

    _print_record(monitor_control(_running_topology(state_dir)).switchover(to))


@db_app.command("failover")
def db_failover(
    yes: Annotated[bool, typer.Option("--yes", help="Do not ask for confirmation.")] = False,
    state_dir: StateOption = DEFAULT_STATE_DIR,
) -> None:
    """Forced failover: fence the primary now, whatever it answers, and promote a standby."""
    from millionscale.db.control import monitor_control

    control = monitor_control(_running_topology(state_dir))
    if not yes:
        typer.confirm("Fence the primary now and promote a standby?", abort=True)
    _print_record(control.failover())


lb_app = typer.Typer(help="The load balancer: its backends, live.", no_args_is_help=True)
app.add_typer(lb_app, name="lb")


def _lb(state_dir: Path) -> Any:
    from millionscale.topology.admin import admin_client

    return admin_client(_running_topology(state_dir), "millionscale.lb", "load balancer")


def _print_backends(status: dict[str, Any]) -> None:
    table = Table(title=f"backends ({status.get('policy')})", title_justify="left")
    for column in ("name", "address", "state", "serving", "ejected", "outstanding", "latency"):
        table.add_column(column, no_wrap=True)
    for b in status.get("backends", []):
        table.add_row(
            b["name"],
            b["address"],
            b["state"],
            "yes" if b["serving"] else "no",
            "yes" if b["ejected"] else "no",
            str(b["outstanding"]),
            f"{b['latency_ms']:.1f} ms",
        )
    console.print(table)


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
    weight: Annotated[int, typer.Option(help="Relative weight, 1 to 256.")] = 1,
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


def main() -> None:
    """Entry point: run the app, turning our errors into one line and exit code 2."""
    try:
        code = app(standalone_mode=False)
    except MillionscaleError as error:
        err_console.print(
            f"error: {error.one_line()}", markup=False, highlight=False, soft_wrap=True
        )
        raise SystemExit(2) from None
    except typer.Abort:
        raise SystemExit(130) from None
    except typer.TyperException as error:  # usage errors: unknown option, bad value
        show = getattr(error, "show", None)
        if show is not None:
            show()
        else:
            err_console.print(f"error: {error}", markup=False)
        raise SystemExit(2) from None
    except KeyboardInterrupt:
        raise SystemExit(130) from None
    raise SystemExit(code if isinstance(code, int) else 0)


if __name__ == "__main__":
    main()
