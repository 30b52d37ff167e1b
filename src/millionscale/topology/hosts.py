"""A topology's simulated hosts while it runs: their cgroups, their figures, their OOMs.

The network namespace of each host is the private network's business
(:mod:`.network`: a host is one member of the subnet). This module owns the
other half, the share of the machine: :class:`Fleet` makes one
:class:`~millionscale.servers.cgroups.Cgroup` per limited host when the
supervisor starts, tells :func:`~millionscale.servers.process.spawn` which
``cgroup.procs`` files a process of a host joins, reads each host's figures
for ``status`` (:class:`HostFigures`: the quota and the CPU share used since
the last reading, memory now and its limit, throttled time, OOM kills), says
whether a process that died by SIGKILL was the OOM killer's doing, and
removes the groups when the topology stops. Outside the supervisor, a Fleet
that is never created (:meth:`Fleet.observing`) only reads: a benchmark or the demo takes two readings
and :func:`host_use` says what each host used between them. A host can join (:meth:`Fleet.add`)
and leave (:meth:`Fleet.discard`) while the topology runs: a replica scaled up
gets a host of its own, and its host goes once its processes have.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import cast

import structlog
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.registry import Collector

from millionscale.errors import MembershipError, MillionscaleError
from millionscale.servers.cgroups import ROOT, Cgroup, Usage, Version
from millionscale.topology.resolve import ResolvedHost, ResolvedProcess, ResolvedTopology

__all__ = ["Fleet", "HostFigures", "host_metrics", "host_use"]

log = structlog.get_logger()
MIB = 1024 * 1024


@dataclass(frozen=True, slots=True)
class HostFigures:
    """One host as ``status`` shows it."""

    name: str
    cpus: float  # its quota, in cores
    cpu_used: float | None  # cores' worth used since the last reading (None: first one)
    cpu_s: float  # CPU time used since it started
    throttled_s: float  # time its processes waited at the quota
    throttled_periods: int
    memory_bytes: int
    memory_limit_bytes: int
    oom_kills: int
    limited: bool  # False: run unlimited (--no-host-limits), the figures are not per host

    def to_json(self) -> dict[str, object]:
        return {
            "name": self.name,
            "cpus": self.cpus,
            "cpu_used": self.cpu_used,
            "cpu_s": round(self.cpu_s, 3),
            "throttled_s": round(self.throttled_s, 3),
            "throttled_periods": self.throttled_periods,
            "memory_bytes": self.memory_bytes,
            "memory_limit_bytes": self.memory_limit_bytes,
            "oom_kills": self.oom_kills,
            "limited": self.limited,
        }


class Fleet:
    """The hosts of one running topology (see the module docstring)."""

    def __init__(
        self,
        hosts: Iterable[ResolvedHost],
        version: str | None,
        *,
        clock: Callable[[], float] = time.monotonic,
        root: Path = ROOT,
    ) -> None:
        self.hosts = {host.name: host for host in hosts}
        self._root = root
        self.version = cast("Version | None", version)
        self.groups = {
            host.name: Cgroup(host.cgroup, host.limits(), version=cast(Version, version), root=root)
            for host in self.hosts.values()
            if host.cgroup is not None and version is not None
        }
        self._clock = clock
        self._last: dict[str, tuple[float, float]] = {}  # host -> (when, cpu_s) last read
        self._ooms_seen = dict.fromkeys(self.groups, 0)

    @classmethod
    def observing(cls, topology: ResolvedTopology) -> Fleet:
        """A fleet that only reads ``topology``'s hosts while their supervisor runs them:
        never :meth:`create` it (the supervisor owns the groups); take two
        :meth:`figures` readings and :func:`host_use` says what each host used."""
        return cls(topology.hosts, topology.cgroup_version)

    def create(self) -> None:
        """Make every limited host's cgroup (MillionscaleError if one cannot be made)."""
        for group in self.groups.values():
            group.create()
        if self.groups:
            log.info("hosts limited", hosts=len(self.groups))

    def remove(self) -> None:
        """Every host leaves (:meth:`discard`): its cgroup removed, what is left in it killed."""
        for name in list(self.hosts):
            self.discard(name)

    def add(self, host: ResolvedHost) -> None:
        """``host`` joins the running fleet: its cgroup is made now (MillionscaleError if
        it cannot be; nothing is changed then)."""
        if host.name in self.hosts:
            raise MembershipError(f"a host named {host.name} already runs")
        if host.cgroup is not None and self.version is not None:
            group = Cgroup(host.cgroup, host.limits(), version=self.version, root=self._root)
            try:
                group.create()
            except MillionscaleError:
                group.remove()  # what was made of it
                raise
            self.groups[host.name] = group
            self._ooms_seen[host.name] = 0
        self.hosts[host.name] = host
        log.info("host added", host=host.name, limited=host.name in self.groups)

    def discard(self, name: str) -> None:
        """Host ``name`` leaves the fleet: its cgroup is removed (what is left in it is
        killed first); nothing if it is not there."""
        self.hosts.pop(name, None)
        self._last.pop(name, None)
        self._ooms_seen.pop(name, None)
        group = self.groups.pop(name, None)
        if group is None:
            return
        try:
            group.remove()
        except OSError as error:
            log.warning("could not remove a host's cgroup", host=name, error=str(error))

    def procs_files(self, process: ResolvedProcess) -> tuple[Path, ...]:
        """What ``process`` writes its pid into to run on its host (nothing: no limits)."""
        group = self.groups.get(process.on_host or "")
        return group.procs_files if group is not None else ()

    def oom_killed(self, process: ResolvedProcess, exit_code: int) -> str | None:
        """Why ``process`` died, if its host's OOM killer killed it: the sentence to say."""
        name = process.on_host or ""
        group = self.groups.get(name)
        if group is None or exit_code != -9:
            return None
        try:
            kills = group.usage().oom_kills
        except MillionscaleError:
            return None
        if kills <= self._ooms_seen[name]:
            return None
        self._ooms_seen[name] = kills
        return (
            f"killed by the OOM killer: host {name} is limited to "
            f"{self.hosts[name].memory_bytes // MIB} MiB of memory"
        )

    def figures(self) -> list[HostFigures]:
        """Every host's figures now (unlimited hosts: their limits, no accounting)."""
        out = []
        now = self._clock()
        for name, host in self.hosts.items():
            group = self.groups.get(name)
            usage: Usage | None = None
            if group is not None:
                try:
                    usage = group.usage()
                except MillionscaleError:
                    usage = None
            cpu_used = None
            if usage is not None:
                last = self._last.get(name)
                if last is not None and now > last[0]:
                    cpu_used = round((usage.cpu_s - last[1]) / (now - last[0]), 3)
                self._last[name] = (now, usage.cpu_s)
            out.append(
                HostFigures(
                    name=name,
                    cpus=host.cpus,
                    cpu_used=cpu_used,
                    cpu_s=usage.cpu_s if usage else 0.0,
                    throttled_s=usage.throttled_s if usage else 0.0,
                    throttled_periods=usage.throttled_periods if usage else 0,
                    memory_bytes=usage.memory_bytes if usage else 0,
                    memory_limit_bytes=host.memory_bytes,
                    oom_kills=usage.oom_kills if usage else 0,
                    limited=group is not None,
                )
            )
        return out


def host_use(
    before: Sequence[HostFigures], after: Sequence[HostFigures]
) -> dict[str, dict[str, float]]:
    """What each limited host used from one :meth:`Fleet.figures` reading to the next:
    CPU seconds, cores (on average), that as a share of its quota, throttled seconds."""
    first = {host.name: host for host in before}
    use = {}
    for host in after:
        earlier = first.get(host.name)
        if not host.limited or earlier is None or host.cpu_used is None:
            continue
        use[host.name] = {
            "cpu_s": round(host.cpu_s - earlier.cpu_s, 3),
            "cores": host.cpu_used,
            "quota_share": round(host.cpu_used / host.cpus, 3),
            "throttled_s": round(host.throttled_s - earlier.throttled_s, 3),
        }
    return use


# Per-host series the supervisor exports: (name, kind, help, the figure's key). The one
# label is the host's name, from the topology file: a bounded set.
_SERIES = (
    ("millionscale_host_cpu_quota_cores", "gauge", "The host's CPU quota, in cores", "cpus"),
    ("millionscale_host_cpu_seconds", "counter", "CPU time its processes used", "cpu_s"),
    ("millionscale_host_cpu_throttled_seconds", "counter",
     "Time its processes waited at the quota", "throttled_s"),
    ("millionscale_host_cpu_throttled_periods", "counter",
     "CFS periods in which it hit its quota", "throttled_periods"),
    ("millionscale_host_memory_bytes", "gauge", "Memory charged to it now", "memory_bytes"),
    ("millionscale_host_memory_limit_bytes", "gauge", "Its memory limit", "memory_limit_bytes"),
    ("millionscale_host_oom_kills", "counter", "Processes its OOM killer killed", "oom_kills"),
)  # fmt: skip


class _HostCollector(Collector):
    def __init__(self, figures: Sequence[Mapping[str, object]]) -> None:
        self.figures = figures

    def collect(self) -> Iterator[GaugeMetricFamily | CounterMetricFamily]:
        for name, kind, text, key in _SERIES:
            family = (GaugeMetricFamily if kind == "gauge" else CounterMetricFamily)(
                name, text, labels=["host"]
            )
            for host in self.figures:
                if host.get("limited") or key in ("cpus", "memory_limit_bytes"):
                    family.add_metric([str(host["name"])], float(host[key]))  # type: ignore[arg-type]
            yield family


def host_metrics(figures: Sequence[Mapping[str, object]]) -> bytes:
    """The hosts' figures (:meth:`HostFigures.to_json` records) as Prometheus text; an
    unlimited host exports only its nominal quota and limit (its use is not its own)."""
    registry = CollectorRegistry(auto_describe=False)
    registry.register(_HostCollector(figures))
    return generate_latest(registry)
