"""The side-by-side benchmarks' wrk harness: runs on a quiet machine, CPU shares, wrk's figures.

``bench/lb_throughput.py`` and ``bench/cdn_hits.py`` lay a 2-core machine out
the same way (the thing measured alone on one CPU, everything else on the
other) and measure it the same way:

- :func:`pin_rest` puts the bench script (and so wrk and whatever else it
  starts unpinned) on the shared CPU, warning when the machine has not the
  :data:`LAID_OUT_CPUS` the layout assumes;
- :func:`run_wrk` runs wrk once (closed loop) and says what it measured
  (:func:`parse_wrk`, pure) and how busy each CPU was meanwhile (from
  ``/proc/stat``);
- :func:`undisturbed` runs a measurement on a quiet machine: it waits (at
  most :attr:`Patience.quiet_wait_s`) for a second in which other processes
  used at most :data:`FOREIGN_CPU_LIMIT` of a CPU, and runs again (at most
  :attr:`Patience.attempts` times) when they used more meanwhile; each run
  records ``foreign_cpu``, ``foreign_top`` and ``disturbed``;
  :func:`undisturbed_values` keeps the figures of the runs that were spared.

Linux only (``/proc``, ``sched_setaffinity``).
"""

from __future__ import annotations

import argparse
import collections
import os
import re
import subprocess
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from millionscale.bench.provenance import at_least
from millionscale.servers.process import descendants

__all__ = [
    "ATTEMPTS",
    "FOREIGN_CPU_LIMIT",
    "LAID_OUT_CPUS",
    "QUIET_WAIT_S",
    "WRK_CONNECTIONS",
    "Patience",
    "WrkOutput",
    "add_patience_flags",
    "cpu_ticks",
    "parse_wrk",
    "pin_rest",
    "run_wrk",
    "undisturbed",
    "undisturbed_values",
]

LAID_OUT_CPUS = 2  # the benches' layout: the measured process on one CPU, the rest on the other
WRK_CONNECTIONS = 50  # wrk's closed loop: enough to saturate one core of a proxy or a cache
# Other processes on the machine (a test suite, say) must not share the cores: a run
# during which they used more than this many CPUs is run again, at most
# Patience.attempts times, each after waiting (at most Patience.quiet_wait_s) for a
# quiet second.
FOREIGN_CPU_LIMIT = 0.05
ATTEMPTS = 3
QUIET_WAIT_S = 120
WRK_SLACK_S = 30  # beyond a run's duration before wrk counts as hung

_UNIT_MS = {"us": 0.001, "ms": 1.0, "s": 1000.0}  # the latency units wrk prints


@dataclass(frozen=True, slots=True)
class Patience:
    """How hard :func:`undisturbed` tries for a run no other process disturbed."""

    attempts: int = ATTEMPTS
    quiet_wait_s: int = QUIET_WAIT_S

    @classmethod
    def from_flags(cls, args: argparse.Namespace) -> Patience:
        """The patience ``--attempts`` and ``--quiet-wait-s`` (:func:`add_patience_flags`) ask for."""
        return cls(args.attempts, args.quiet_wait_s)


def add_patience_flags(parser: argparse.ArgumentParser) -> None:
    """``--attempts`` (at least 1) and ``--quiet-wait-s`` (at least 0), read by
    :meth:`Patience.from_flags`."""
    parser.add_argument("--attempts", type=at_least(1), default=ATTEMPTS)
    parser.add_argument("--quiet-wait-s", type=at_least(0), default=QUIET_WAIT_S)


@dataclass(frozen=True, slots=True)
class WrkOutput:
    """What one wrk run printed: its throughput, its errors (non-2xx/3xx answers and
    socket errors, summed) and, with ``--latency``, its p50 and p99 in milliseconds."""

    requests_per_s: float
    errors: int
    p50_ms: float | None = None
    p99_ms: float | None = None


def _milliseconds(text: str) -> float:
    found = re.fullmatch(r"([\d.]+)(us|ms|s)", text)
    if found is None:
        raise ValueError(f"{text!r} is not a latency wrk prints")
    return float(found.group(1)) * _UNIT_MS[found.group(2)]


def parse_wrk(out: str) -> WrkOutput:
    """wrk's standard output, read; ValueError if it has no ``Requests/sec`` line (or
    a latency it cannot read)."""
    found = re.search(r"Requests/sec:\s+([\d.]+)", out)
    if found is None:
        raise ValueError(f"cannot read wrk's output: {out}")
    non_2xx = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", out)
    socket = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
    errors = (int(non_2xx.group(1)) if non_2xx else 0) + (
        sum(int(n) for n in socket.groups()) if socket else 0
    )
    percentiles = dict(re.findall(r"^\s+(50|99)%\s+(\S+)$", out, re.MULTILINE))
    p50, p99 = percentiles.get("50"), percentiles.get("99")
    return WrkOutput(
        float(found.group(1)),
        errors,
        None if p50 is None else _milliseconds(p50),
        None if p99 is None else _milliseconds(p99),
    )


def cpu_ticks() -> dict[int, tuple[int, int]]:
    """(busy, total) clock ticks since boot per CPU, from /proc/stat."""
    ticks = {}
    for line in Path("/proc/stat").read_text().splitlines():
        name, *fields = line.split()
        if name.startswith("cpu") and name != "cpu":
            values = [int(v) for v in fields[:8]]
            idle = values[3] + values[4]  # idle + iowait
            ticks[int(name[3:])] = (sum(values) - idle, sum(values))
    return ticks


def run_wrk(
    url: str,
    seconds: int,
    busy: Mapping[str, int],
    *,
    threads: int = 1,
    connections: int = WRK_CONNECTIONS,
    latency: bool = False,
) -> dict[str, Any]:
    """One wrk run at ``url`` for ``seconds``: ``requests_per_s``, ``errors`` (with
    ``latency``: ``p50_ms`` and ``p99_ms`` too), and for each name of ``busy`` the
    busy share of its CPU meanwhile. SystemExit if wrk's output cannot be read."""
    before = cpu_ticks()
    out = subprocess.run(
        ["wrk", f"-t{threads}", f"-c{connections}", f"-d{seconds}s"]
        + (["--latency"] if latency else [])
        + [url],
        capture_output=True,
        text=True,
        check=True,
        timeout=seconds + WRK_SLACK_S,
    ).stdout
    after = cpu_ticks()
    try:
        figures = parse_wrk(out)
    except ValueError as error:
        raise SystemExit(str(error)) from None
    result: dict[str, Any] = {"requests_per_s": figures.requests_per_s}
    if latency:
        if figures.p50_ms is None or figures.p99_ms is None:
            raise SystemExit(f"wrk printed no latency distribution: {out}")
        result |= {"p50_ms": figures.p50_ms, "p99_ms": figures.p99_ms}
    result["errors"] = figures.errors
    for name, cpu in busy.items():
        result[name] = (after[cpu][0] - before[cpu][0]) / max(1, after[cpu][1] - before[cpu][1])
    return result


def pin_rest(cpu: int, say: Callable[[str], None]) -> None:
    """This process (and what it starts unpinned) on ``cpu``; ``say``s so if the
    machine has not :data:`LAID_OUT_CPUS` CPUs."""
    if os.cpu_count() != LAID_OUT_CPUS:
        say(
            f"[yellow]this bench is laid out for {LAID_OUT_CPUS} CPUs; "
            f"this machine has {os.cpu_count()}"
        )
    os.sched_setaffinity(0, {cpu})


def _process_ticks() -> dict[int, tuple[str, int]]:
    """Name and CPU clock ticks (its own and its reaped children's) of every user process."""
    ticks = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit() or entry == "2":
            continue
        try:
            name, _, rest = Path(f"/proc/{entry}/stat").read_bytes().rpartition(b")")
            fields = rest.split()
        except (OSError, IndexError):
            continue
        if fields[1] == b"2":  # a kernel thread (child of kthreadd): softirqs are ours too
            continue
        # proc(5) fields 14-17 (utime, stime, cutime, cstime), counted after the name.
        command = name.partition(b"(")[2].decode("ascii", "replace")
        ticks[int(entry)] = (command, sum(int(f) for f in fields[11:15]))
    return ticks


def _foreign_cpu(before: dict[int, tuple[str, int]], seconds: float) -> tuple[float, str]:
    """CPUs used by processes other than this script and its children since ``before``,
    and which used the most."""
    after = _process_ticks()
    ours = {os.getpid(), *descendants(os.getpid())}
    used: collections.Counter[str] = collections.Counter()
    for pid, (command, ticks) in after.items():
        if pid not in ours:
            used[f"{command}[{pid}]"] += ticks - before.get(pid, ("", 0))[1]
    scale = os.sysconf("SC_CLK_TCK") * max(seconds, 1e-3)
    top = ", ".join(f"{name} {n / scale:.2f}" for name, n in used.most_common(3) if n > 0)
    return sum(used.values()) / scale, top


def undisturbed(
    run: Callable[[], dict[str, Any]], say: Callable[[str], None], patience: Patience
) -> dict[str, Any]:
    """``run()`` on a quiet machine: waits for one, and runs again when others used the CPUs."""
    result: dict[str, Any] = {}
    for attempt in range(patience.attempts):
        for _ in range(patience.quiet_wait_s):
            before, started = _process_ticks(), time.monotonic()
            time.sleep(1)
            if _foreign_cpu(before, time.monotonic() - started)[0] <= FOREIGN_CPU_LIMIT:
                break
        before, started = _process_ticks(), time.monotonic()
        result = run()
        result["foreign_cpu"], result["foreign_top"] = _foreign_cpu(
            before, time.monotonic() - started
        )
        result["disturbed"] = result["foreign_cpu"] > FOREIGN_CPU_LIMIT
        if not result["disturbed"]:
            break
        say(
            f"  other processes used {result['foreign_cpu']:.2f} CPU meanwhile "
            f"({result['foreign_top']}; attempt {attempt + 1} of {patience.attempts})"
        )
    return result


def undisturbed_values(runs: list[dict[str, Any]], key: str) -> list[float]:
    """``key`` of the runs no other process disturbed; of all of them if none was spared."""
    clean = [run[key] for run in runs if not run["disturbed"]]
    return clean or [run[key] for run in runs]
