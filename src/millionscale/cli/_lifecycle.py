"""``millionscale up`` and ``down``: start a topology, showing progress, and stop it.

``up`` waits until every process is ready; when one is not, it says why (the
problem, the processes, what each one that is not ready wrote during this run),
stops everything and exits 1. ``down`` leaves no process it started alive.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.progress import BarColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from rich.text import Text

from millionscale.cli._console import console, err_console
from millionscale.cli._logs import lines_since, log_sizes
from millionscale.cli._options import SECONDS, NoHostLimitsOption, StateOption
from millionscale.cli._status import status_records
from millionscale.topology.control import Started, live_view, ours, purge, start, stop
from millionscale.topology.state import DEFAULT_STATE_DIR, StateDir
from millionscale.topology.urls import browser_url

LOG_TAIL_LINES = 8  # of each failing process's log, after a failed `up`


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
    no_host_limits: NoHostLimitsOption = False,
    state_dir: StateOption = DEFAULT_STATE_DIR,
) -> None:
    """Start every process of TOPOLOGY in dependency order and wait until all are ready."""
    started = _start(
        topology, state_dir, detach=detach, timeout=timeout, host_limits=not no_host_limits
    )
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


def _explain_failure(state: StateDir, started: Started, sizes: dict[Path, int]) -> None:
    """Why `up` failed: the problem, the processes, and what each one that is not ready
    wrote during this run (never lines of an earlier run)."""
    from millionscale.obs.logview import human_text, parse_log

    err_console.print(Text.assemble(("error: ", "red"), started.problem or ""))
    view = live_view(state)
    if view["processes"]:
        err_console.print(status_records(view))
    logs = {p.name: Path(p.log_path) for p in started.topology.processes}
    names = [p["name"] for p in view["processes"] if p["state"] != "ready"]
    if started.supervisor.poll() is not None:
        names.append("supervisor")
        logs["supervisor"] = state.logs / "supervisor.log"
    for name in names:
        path = logs.get(name, state.logs / f"{name}.log")
        records = parse_log(lines_since(path, sizes.get(path.resolve(), 0)), name)
        if not records:
            continue
        err_console.print(Text(f"{name}'s log during this run:", style="bold"))
        for record in records[-LOG_TAIL_LINES:]:
            err_console.print(human_text(record, len(name)))


def _start(
    topology: Path, state_dir: Path, *, detach: bool, timeout: float, host_limits: bool
) -> Started:
    """Start, showing progress; on failure show why, stop everything and exit 1."""
    state = StateDir(state_dir)
    sizes = log_sizes(state)
    with _Waiting(err_console) as waiting:
        started = start(
            topology,
            state_dir,
            detach=detach,
            timeout=timeout,
            on_state=waiting.show,
            host_limits=host_limits,
        )
    if started.problem is not None:
        _explain_failure(state, started, sizes)
        stop(state)
        raise typer.Exit(1)
    console.print(status_records(live_view(state)))
    network = started.topology.network_summary()
    if network is not None:
        console.print(network, markup=False, highlight=False)
    url = browser_url(started.topology)
    if url is not None:
        console.print(f"open {url} in a browser", markup=False, highlight=False)
    count = len(started.topology.processes)
    console.print(f"all {count} processes ready in {started.elapsed_s:.2f} s")
    return started


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
