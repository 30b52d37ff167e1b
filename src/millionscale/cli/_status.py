"""``millionscale status``: every process of the topology, as a table or as JSON.

:func:`status_records` is also what ``up`` prints once everything is ready, and
when it fails.
"""

from __future__ import annotations

import json
from typing import Annotated, Any

import typer
from rich.text import Text

from millionscale.cli._console import console
from millionscale.cli._options import StateOption
from millionscale.cli._running import resolved_topology
from millionscale.render import Column, Records
from millionscale.topology.control import live_view
from millionscale.topology.resolve import ResolvedProcess, ResolvedTopology
from millionscale.topology.state import DEFAULT_STATE_DIR, StateDir
from millionscale.topology.urls import browser_url, process_url

STATE_STYLES = {"ready": "green", "starting": "yellow", "failed": "red", "stopped": "dim"}


def status_records(data: dict[str, Any]) -> Records:
    """Every process of a live view; a note column when one is not ready and says why."""
    processes = data["processes"]
    notes = any(p["state"] != "ready" and p.get("reason") for p in processes)
    on_hosts = any(p.get("on_host") for p in processes)
    columns: list[Column | str] = ["name", "tier", "dc", *(["host"] if on_hosts else [])]
    columns += ["role", Column("pid", right=True)]
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
            *([p.get("on_host")] if on_hosts else []),
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


MIB = 1024 * 1024
UNLIMITED_NOTE = "hosts run unlimited (up --no-host-limits): these figures are not per host"


def host_records(data: dict[str, Any]) -> Records | None:
    """Every host of a live view: its CPU quota and use, memory, throttling, OOM kills."""
    hosts = data.get("hosts") or []
    if not hosts:
        return None
    columns: list[Column | str] = ["host", Column("cpus", right=True)]
    columns += [Column("cpu used", right=True), Column("throttled s", right=True)]
    columns += [Column("memory MiB", right=True), Column("limit MiB", right=True)]
    columns.append(Column("oom kills", right=True))
    rows = []
    for h in hosts:
        used = h.get("cpu_used")
        at_quota = used is not None and used >= 0.9 * h["cpus"]
        rows.append(
            [
                h["name"],
                f"{h['cpus']:g}",
                Text(f"{used:.2f}", style="yellow" if at_quota else "")
                if used is not None
                else None,
                f"{h['throttled_s']:.1f}",
                f"{h['memory_bytes'] / MIB:.0f}",
                f"{h['memory_limit_bytes'] / MIB:.0f}",
                Text(str(h["oom_kills"]), style="red" if h["oom_kills"] else ""),
            ]
        )
    return Records.of(columns, rows, title="hosts")


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
                "host": p.get("on_host"),
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
        "hosts": data.get("hosts") or [],
        "hosts_limited": bool(data.get("hosts_limited")),
    }


def status(
    as_json: Annotated[
        bool,
        typer.Option("--json", help="Machine-readable, with URLs (credentials included)."),
    ] = False,
    state_dir: StateOption = DEFAULT_STATE_DIR,
) -> None:
    """Show every process of the running topology (pid, address, state, restarts) and
    every host (CPU quota and use, throttled time, memory and its limit, OOM kills)."""
    state = StateDir(state_dir)
    data = live_view(state)
    if as_json:
        print(json.dumps(_status_json(data, resolved_topology(state)), indent=2))
        return
    if not data["processes"]:
        console.print("nothing has been started here; run 'millionscale up'")
        return
    console.print(status_records(data))
    hosts = host_records(data)
    if hosts is not None:
        console.print(hosts)
        if not data.get("hosts_limited"):
            console.print(UNLIMITED_NOTE, markup=False, highlight=False)
    sentence = _supervisor_sentence(data)
    if sentence is not None:
        console.print(sentence, markup=False, highlight=False)
