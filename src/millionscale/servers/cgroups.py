"""A fixed share of the machine for a group of processes: cgroups, v1 or v2.

A simulated host (``[hosts.NAME]`` in a topology) is a network namespace plus
one :class:`Cgroup`: every process on the host runs in it and they share its
CPU quota and memory limit, as processes on a real machine share its cores
and RAM.

- **CPU**: a CFS bandwidth quota, ``cpus`` times the period (100 ms, the kernel's
  default) of CPU time per period, over all of the group's processes together;
  past it they wait for the next period (*throttled*), so a host of
  ``cpus = 0.25`` never uses more than a quarter of a core, however many
  processes or threads it runs.
- **Memory**: a hard limit on the group's memory (swap included, where the
  kernel accounts it: a real host that runs out of RAM without swap gets its
  OOM killer, not a disk). Past it the kernel's OOM killer kills a process of
  the group, and the group's OOM count grows: :meth:`Cgroup.usage` reports it,
  so the supervisor can say "killed by the OOM killer" rather than "crashed".

v1 (one hierarchy per controller: ``cpu``, ``cpuacct``, ``memory``) and v2
(one unified hierarchy with the ``cpu`` and ``memory`` controllers) give the
same :class:`Usage`. :func:`detect` picks the one whose controllers are
usable, or says in one line why there is none. The file parsers
(:func:`parse_flat_keyed`) are pure.

Groups live under ``millionscale/`` in each hierarchy, named by the caller
(the supervisor names them after the state directory and the host, so two
topologies never share one). Making and removing them needs root.
"""

from __future__ import annotations

import contextlib
import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from millionscale.errors import ServerError

__all__ = [
    "PERIOD_US",
    "Cgroup",
    "Limits",
    "Usage",
    "Version",
    "detect",
    "parse_flat_keyed",
]

ROOT = Path("/sys/fs/cgroup")
# The CFS period a host's quota is given in: 200 ms, twice the kernel's default, so
# that a quarter of a core may run 50 ms at a core's full speed in one period. The
# photo app's dearest request, a sign-up's argon2 hash (21 ms or more of a core), then
# fits in one period's quota instead of spilling over into the next 75 ms later
# (docs/topology.md, "Hosts").
PERIOD_US = 200_000
PARENT = "millionscale"
Version = Literal["v1", "v2"]


@dataclass(frozen=True, slots=True)
class Limits:
    """What a host may use: ``cpus`` cores' worth of CPU time, ``memory_bytes`` of RAM."""

    cpus: float
    memory_bytes: int

    def __post_init__(self) -> None:
        if not 0.01 <= self.cpus <= 1024:
            raise ValueError(f"cpus must be between 0.01 and 1024, not {self.cpus}")
        if self.memory_bytes < 4 * 1024 * 1024:
            raise ValueError(f"memory must be at least 4 MiB, not {self.memory_bytes} bytes")

    @property
    def quota_us(self) -> int:
        """CPU time per :data:`PERIOD_US`, in microseconds."""
        return max(1000, round(self.cpus * PERIOD_US))  # the kernel's floor is 1 ms


@dataclass(frozen=True, slots=True)
class Usage:
    """A group's accounting since it was made, as the kernel keeps it."""

    cpu_s: float  # CPU time used by all its processes
    periods: int  # CFS periods in which it ran
    throttled_periods: int  # periods in which it hit its quota
    throttled_s: float  # time its processes waited for the next period
    memory_bytes: int  # memory charged to it now
    memory_peak_bytes: int  # the most ever charged (0 where the kernel does not say)
    oom_kills: int  # processes the OOM killer killed in it


def parse_flat_keyed(text: str) -> dict[str, int]:
    """A cgroup "flat keyed" file (``cpu.stat``, ``memory.events``, ``memory.oom_control``):
    one ``key value`` per line; lines that are not are skipped."""
    values: dict[str, int] = {}
    for line in text.splitlines():
        key, _, value = line.partition(" ")
        with contextlib.suppress(ValueError):
            values[key] = int(value.strip())
    return values


def _write(path: Path, value: str) -> None:
    try:
        path.write_text(value)
    except OSError as error:
        raise ServerError(
            f"cannot write {value.strip()!r} to {path}: {error.strerror or error}",
            hint="hosts need root and writable cgroup controllers (cpu, memory)",
        ) from None


class Cgroup:
    """One group in the v1 or v2 hierarchy: :meth:`create`, :meth:`join`, :meth:`usage`,
    :meth:`remove`. Use :func:`detect` to learn which version this machine has."""

    def __init__(self, name: str, limits: Limits, *, version: Version, root: Path = ROOT) -> None:
        if not name or "/" in name or name.startswith("."):
            raise ValueError(f"{name!r} is not a cgroup name")
        self.name, self.limits, self.version = name, limits, version
        if version == "v1":
            self._dirs = {c: root / c / PARENT / name for c in ("cpu", "cpuacct", "memory")}
        else:
            self._dirs = {"unified": _v2_root(root) / PARENT / name}

    @property
    def paths(self) -> tuple[Path, ...]:
        """The group's directories (one per v1 hierarchy, one in v2)."""
        return tuple(self._dirs.values())

    @property
    def procs_files(self) -> tuple[Path, ...]:
        """The files a process writes its pid into to join the group (:meth:`join`)."""
        return tuple(path / "cgroup.procs" for path in self.paths)

    def create(self) -> None:
        """Make the group (again, if it is left over) and set its limits; ServerError if not."""
        for path in self.paths:
            try:
                path.mkdir(parents=True, exist_ok=True)
            except OSError as error:
                raise ServerError(
                    f"cannot make the cgroup {path}: {error.strerror or error}",
                    hint="hosts need root and writable cgroup controllers (cpu, memory)",
                ) from None
        if self.version == "v2":  # a child group gets only the controllers its parent hands down
            unified = self._dirs["unified"]
            for parent in (unified.parent.parent, unified.parent):
                _write(parent / "cgroup.subtree_control", "+cpu +memory\n")
        quota, memory = self.limits.quota_us, self.limits.memory_bytes
        if self.version == "v1":
            cpu, mem = self._dirs["cpu"], self._dirs["memory"]
            _write(cpu / "cpu.cfs_period_us", f"{PERIOD_US}\n")
            _write(cpu / "cpu.cfs_quota_us", f"{quota}\n")
            _write(mem / "memory.limit_in_bytes", f"{memory}\n")
            if (mem / "memory.memsw.limit_in_bytes").exists():  # swap counts: no swapping past it
                _write(mem / "memory.memsw.limit_in_bytes", f"{memory}\n")
        else:
            group = self._dirs["unified"]
            _write(group / "cpu.max", f"{quota} {PERIOD_US}\n")
            _write(group / "memory.max", f"{memory}\n")
            if (group / "memory.swap.max").exists():
                _write(group / "memory.swap.max", "0\n")

    def join(self, pid: int | None = None) -> None:
        """Move ``pid`` (None: the calling process) into the group, in every hierarchy.

        Called in a child between fork and exec (``preexec_fn``), before it
        drops root, so that everything it then starts is charged to the host.
        """
        who = f"{os.getpid() if pid is None else pid}\n"
        for procs in self.procs_files:
            _write(procs, who)

    def pids(self) -> list[int]:
        """The processes in the group now."""
        try:
            text = self.procs_files[0].read_text()
        except OSError:
            return []
        return [int(line) for line in text.split()]

    def usage(self) -> Usage:
        """The group's accounting now (ServerError if the group is gone)."""
        try:
            if self.version == "v1":
                return self._usage_v1()
            return self._usage_v2()
        except (OSError, ValueError) as error:
            raise ServerError(
                f"cannot read the accounting of cgroup {self.name}: {error}",
                hint="the host's cgroup is gone: restart the topology",
            ) from None

    def _usage_v1(self) -> Usage:
        cpu, acct, mem = self._dirs["cpu"], self._dirs["cpuacct"], self._dirs["memory"]
        stat = parse_flat_keyed((cpu / "cpu.stat").read_text())
        oom = parse_flat_keyed((mem / "memory.oom_control").read_text())
        return Usage(
            cpu_s=int((acct / "cpuacct.usage").read_text()) / 1e9,
            periods=stat.get("nr_periods", 0),
            throttled_periods=stat.get("nr_throttled", 0),
            throttled_s=stat.get("throttled_time", 0) / 1e9,
            memory_bytes=int((mem / "memory.usage_in_bytes").read_text()),
            memory_peak_bytes=int((mem / "memory.max_usage_in_bytes").read_text()),
            oom_kills=oom.get("oom_kill", 0),
        )

    def _usage_v2(self) -> Usage:
        group = self._dirs["unified"]
        stat = parse_flat_keyed((group / "cpu.stat").read_text())
        events = parse_flat_keyed((group / "memory.events").read_text())
        peak = group / "memory.peak"
        return Usage(
            cpu_s=stat.get("usage_usec", 0) / 1e6,
            periods=stat.get("nr_periods", 0),
            throttled_periods=stat.get("nr_throttled", 0),
            throttled_s=stat.get("throttled_usec", 0) / 1e6,
            memory_bytes=int((group / "memory.current").read_text()),
            memory_peak_bytes=int(peak.read_text()) if peak.exists() else 0,
            oom_kills=events.get("oom_kill", 0),
        )

    def remove(self) -> None:
        """Kill whatever is left in the group and remove it; idempotent."""
        for pid in self.pids():
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.kill(pid, 9)
        for path in self.paths:
            for _ in range(50):  # a killed process leaves its group once it is reaped
                try:
                    path.rmdir()
                    break
                except FileNotFoundError:
                    break
                except OSError:
                    time.sleep(0.02)


def _v2_root(root: Path) -> Path:
    """Where the unified hierarchy is: ``root`` itself on a v2-only machine, else
    ``root/unified`` (the hybrid layout)."""
    return root if (root / "cgroup.controllers").exists() else root / "unified"


def _v1_usable(root: Path) -> bool:
    return all(
        (root / controller / file).exists()
        for controller, file in (
            ("cpu", "cpu.cfs_quota_us"),
            ("cpuacct", "cpuacct.usage"),
            ("memory", "memory.limit_in_bytes"),
        )
    )


def _v2_controllers(root: Path) -> set[str]:
    try:
        return set((_v2_root(root) / "cgroup.controllers").read_text().split())
    except OSError:
        return set()


def detect(root: Path = ROOT) -> Version | str:
    """``"v1"`` or ``"v2"``: the cgroup version whose cpu and memory controllers this
    machine lets us use; otherwise one line saying why hosts cannot be limited here."""
    if os.geteuid() != 0:
        return "hosts need root (cgroups and network namespaces): run as root"
    if (
        _v1_usable(root)
        and os.access(root / "cpu", os.W_OK)
        and os.access(root / "memory", os.W_OK)
    ):
        return "v1"
    if {"cpu", "memory"} <= _v2_controllers(root) and os.access(_v2_root(root), os.W_OK):
        return "v2"
    return (
        f"no writable cgroup cpu and memory controllers under {root} "
        "(neither v1's cpu, cpuacct and memory hierarchies nor v2's unified one with both)"
    )
