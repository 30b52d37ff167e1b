"""``millionscale logs``: every process's log, readable, interleaved by time, followed.

Also what a run wrote: :func:`log_sizes` before it, :func:`lines_since` after
(``up`` shows a failing process's lines of this run only).
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Annotated, Any

import typer

from millionscale.cli._console import console, err_console
from millionscale.cli._options import StateOption
from millionscale.cli._running import resolved_topology
from millionscale.errors import UnknownProcessError
from millionscale.topology.state import DEFAULT_STATE_DIR, StateDir


def log_sizes(state: StateDir) -> dict[Path, int]:
    """How long every log is now: what a run writes comes after."""
    sizes = {}
    for path in state.logs.glob("*.log") if state.logs.is_dir() else []:
        try:
            sizes[path.resolve()] = path.stat().st_size
        except OSError:
            continue
    return sizes


def lines_since(path: Path, offset: int) -> list[str]:
    """What ``path`` gained after ``offset`` bytes (all of it if it was replaced since)."""
    try:
        with open(path, "rb") as handle:
            size = handle.seek(0, os.SEEK_END)
            handle.seek(offset if offset <= size else 0)
            return handle.read().decode("utf-8", "replace").splitlines()
    except OSError:
        return []


def _log_files(state: StateDir, name: str | None) -> dict[str, Path]:
    """The logs to read: NAME's, or every process's and the supervisor's."""
    topology = resolved_topology(state)
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

    every = [parse_log(lines_since(path, 0), who) for who, path in paths.items()]
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
