"""The supervisor process: carries out what :class:`Supervision` decides.

    python -m millionscale.topology.supervisor .millionscale

It reads ``topology.json`` from the state directory, takes the directory's
lock, then loops: reap exited children, collect probe answers, ask the
decision core for actions, carry them out, publish ``state.json`` when
anything changed, and sleep until the next deadline (at most 50 ms, the
reaping interval). SIGTERM, SIGINT or SIGHUP start an orderly stop; the loop
ends when every process has exited.

Children are spawned from this process's main thread with a parent-death
signal, so if the supervisor itself is killed, the kernel kills them.
Readiness probes run in a small thread pool, so a slow probe delays nothing.
"""

from __future__ import annotations

import http.client
import json
import os
import queue
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path
from types import FrameType
from typing import Any

import structlog

from millionscale.discovery import Member, Scaled
from millionscale.errors import (
    MembershipError,
    MillionscaleError,
    SupervisorError,
    UnknownProcessError,
)
from millionscale.obs.admin import read_token
from millionscale.obs.logging import configure_logging
from millionscale.servers import netns
from millionscale.servers.engines import Engine, PostgresEngine, engine_for, prepare_owned_dir
from millionscale.servers.process import signal_group, spawn, start_ticks
from millionscale.topology.cause import crash_cause
from millionscale.topology.endpoint import ControlEndpoint, control_app
from millionscale.topology.hosts import Fleet
from millionscale.topology.lifecycle import Phase
from millionscale.topology.live import LiveView, members
from millionscale.topology.load import load_topology
from millionscale.topology.model import LOOPBACK, ProcessSpec, Topology
from millionscale.topology.network import (
    build,
    join,
    leave,
    teardown,
    wan_command,
    with_member,
    without_member,
)
from millionscale.topology.replicas import replica, replica_name
from millionscale.topology.replication import claimed_primary, cluster_of
from millionscale.topology.resolve import ResolvedHost, ResolvedProcess, ResolvedTopology, clone
from millionscale.topology.scaling import plan_scale, replica_set
from millionscale.topology.state import StateDir, control_socket_for, read_claims, write_private
from millionscale.topology.supervision import Kill, Plan, Probe, Spawn, Supervision, Terminate

__all__ = ["Supervisor", "engine_for_process", "main", "probe"]

REAP_INTERVAL_S = 0.05
WAN_RESTART_S = 1.0  # the wide-area link is started again at most this often
HOST_FIGURES_S = 1.0  # how often the hosts' figures are read and published (status' CPU use)
DRAIN_S = 5.0  # a removed process is drained this long: a few balancer health checks
CAUSE_SCAN_BYTES = 65536  # of a crashed process's log: enough for a traceback's end
PROBE_TIMEOUT_S = 1.0

log = structlog.get_logger()


def _connect(process: ResolvedProcess) -> socket.socket:
    """A connection to ``process``'s main port, from inside its namespace if it has one."""
    address = (process.host, process.ports["main"])
    if process.netns is None:
        return socket.create_connection(address, timeout=PROBE_TIMEOUT_S)
    sock = netns.socket_in(process.netns)
    try:
        sock.settimeout(PROBE_TIMEOUT_S)
        sock.connect(address)
    except OSError:
        sock.close()
        raise
    return sock


class _ProbeConnection(http.client.HTTPConnection):
    def __init__(self, process: ResolvedProcess) -> None:
        super().__init__(process.host, process.ports["main"], timeout=PROBE_TIMEOUT_S)
        self.process = process

    def connect(self) -> None:
        self.sock = _connect(self.process)


def probe(process: ResolvedProcess, engine: Engine | None) -> bool:
    """One readiness check of ``process``, from inside its namespace; never raises."""
    if engine is not None:
        if process.netns is None:
            return engine.probe(process.endpoint())
        try:
            return netns.run_in(process.netns, lambda: engine.probe(process.endpoint()))
        except OSError:  # the namespace is gone
            return False
    try:
        if process.readiness.http is not None:
            conn = _ProbeConnection(process)
            try:
                conn.request("GET", process.readiness.http)
                return 200 <= conn.getresponse().status < 300
            finally:
                conn.close()
        _connect(process).close()
        return True
    except (OSError, http.client.HTTPException):
        return False


def _plan(process: ResolvedProcess, depends_on: list[str] | None = None) -> Plan:
    """What the decision core needs: a command without ``http`` or ``none`` is probed by
    TCP; ``depends_on`` over the process's own (a replicated cluster's, by its claim)."""
    return Plan(
        depends_on=tuple(process.depends_on if depends_on is None else depends_on),
        readiness=process.readiness,
        restart=process.restart,
        probed=not process.readiness.none,
    )


def engine_for_process(
    process: ResolvedProcess,
    processes: dict[str, ResolvedProcess],
    claimed: str | None = None,
) -> Engine:
    """The engine a process runs; a PostgreSQL node knows its place in replication.

    Members of a replicated cluster take their role from the primary the failover
    monitor ``claimed`` when there is one (after a failover, the topology file's
    ``replica_of`` is history), and all carry the same ``ANY k`` rule over the
    other members, ready for the day they are promoted.
    """
    assert process.engine is not None
    if process.engine != "postgres":
        return engine_for(process.engine, durable=process.durable, settings=process.settings)
    settings = dict(process.settings)
    cluster = cluster_of(processes.values(), process.name)
    primary_name = process.replica_of
    if cluster is not None:
        primary_name = cluster.current_primary(claimed)
        if primary_name == process.name:
            primary_name = None
        names = cluster.synchronous_standby_names(process.name)
        if names is not None:
            settings.setdefault("synchronous_standby_names", names)
    primary = processes[primary_name].endpoint() if primary_name else None
    return PostgresEngine(
        durable=process.durable, settings=settings, primary=primary, node_name=process.name
    )


class Supervisor:
    """Runs one resolved topology until asked to stop."""

    def __init__(
        self,
        topology: ResolvedTopology,
        *,
        clock: Callable[[], float] = time.monotonic,
        drain_s: float = DRAIN_S,
    ) -> None:
        self.topology = topology
        self.state = topology.state()
        self.processes = {p.name: p for p in topology.processes}
        self.engines: dict[str, Engine] = {
            p.name: engine_for_process(p, self.processes)
            for p in topology.processes
            if p.engine is not None
        }
        cluster = cluster_of(topology.processes)
        claimed = claimed_primary(read_claims(self.state.roles))
        self.core = Supervision(
            {
                p.name: _plan(p, cluster.depends_on(p, claimed) if cluster else p.depends_on)
                for p in topology.processes
            },
            clock,
        )
        self.children: dict[str, subprocess.Popen[bytes]] = {}
        self.log_offsets: dict[str, int] = {}  # where each process's log of this run begins
        self.probes: dict[str, Future[bool]] = {}
        self.pool = ThreadPoolExecutor(max_workers=4, thread_name_prefix="probe")
        self._published: list[Any] | None = None
        self.cluster = cluster
        if (
            self.cluster is not None
            and self.state.cluster.exists()
            and not self.state.roles.exists()
        ):
            # A home from before claims were kept: who the primary is now is unknown here,
            # and starting the topology file's could start two primaries.
            raise SupervisorError(
                f"{self.state.cluster.parent} has a failover record and no role claims "
                f"({self.state.roles.name}): it was written by an older millionscale",
                hint="write roles.json naming the record's primary, "
                "or start afresh: 'millionscale down --purge'",
            )
        self.view = LiveView(roles_file=self.state.roles)
        self.fleet = Fleet(topology.hosts, topology.cgroup_version)
        self.wan: subprocess.Popen[bytes] | None = None  # the link between data centers
        self._wan_started = 0.0
        self._hosts_read_at = -HOST_FIGURES_S
        self._host_figures: list[dict[str, object]] = []
        self.drain_s = drain_s
        # Where each process's spec is in the file: a process's name, or a replica's set and number.
        self.origins: dict[str, str | tuple[str, int]] = {
            p.name: (p.replica_set, p.replica_index)
            if p.replica_set is not None and p.replica_index is not None
            else p.name
            for p in topology.processes
        }
        self._orders: queue.SimpleQueue[tuple[Callable[[], Any], Future[Any]]] = queue.SimpleQueue()

    # -- membership at run time (asked from the control endpoint's thread) ----

    def add(self, name: str, like: str) -> Future[Member]:
        """Order a process ``name`` made like ``like``; carried out by the loop."""
        return self._order(lambda: self._add(name, like))

    def remove(self, name: str, drain_s: float | None) -> Future[Member]:
        """Order ``name`` drained (``drain_s``, default :attr:`drain_s`) and removed."""
        return self._order(lambda: self._retire(name, drain_s))

    def scale(self, name: str, replicas: int) -> Future[Scaled]:
        """Order the replicated process (or tier) ``name`` to run ``replicas``."""
        return self._order(lambda: self._scale(name, replicas))

    def _order(self, order: Callable[[], Any]) -> Future[Any]:
        future: Future[Any] = Future()
        self._orders.put((order, future))
        return future

    def _queued_orders(self) -> Iterator[tuple[Callable[[], Any], Future[Any]]]:
        """Every order queued so far, taken off the queue one by one."""
        while True:
            try:
                yield self._orders.get_nowait()
            except queue.Empty:
                return

    def _take_orders(self) -> None:
        for order, future in self._queued_orders():
            try:
                future.set_result(order())
            except MillionscaleError as error:
                future.set_exception(error)

    def _refuse_orders(self) -> None:
        """Answer every order still queued: the supervisor stops."""
        for _order, future in self._queued_orders():
            future.set_exception(MembershipError("the topology has stopped"))

    def _member(self, name: str) -> Member:
        status = next(s for s in self.core.status() if s.name == name)
        return members(self.processes, [status])[0]

    def _file(self) -> Topology:
        """The topology file as it is now (the specs that processes are made from)."""
        return load_topology(Path(self.topology.source))

    def _spec_of(self, name: str, topology: Topology) -> ProcessSpec:
        """The spec process ``name`` runs from in ``topology``: its own, or its
        replicated process's."""
        origin = self.origins[name]
        if isinstance(origin, tuple):
            spec = topology.processes.get(origin[0])
            if spec is not None and spec.replicas is not None:
                return replica(topology, *origin).spec
        else:
            spec = topology.processes.get(origin)
            if spec is not None and spec.replicas is None:
                return spec
        what = origin if isinstance(origin, str) else f"{origin[0]} (with replicas)"
        raise UnknownProcessError(
            f"{what} is no longer in {self.topology.source}",
            hint="add a process made like one the topology file still has",
        )

    def _add(self, name: str, like: str) -> Member:
        if like not in self.processes:
            raise UnknownProcessError(
                f"no process named {like} runs here", hint=f"running: {', '.join(self.processes)}"
            )
        if name in self.processes:
            raise MembershipError(
                f"a process named {name} already runs", hint="choose a name of its own"
            )
        on_host = self.processes[like].on_host  # a copy runs on its original's host
        network = self.topology.network
        on_subnet = network.member(like) if network is not None and on_host is None else None
        edge = on_subnet is not None and on_subnet.public_address is not None
        if on_host is not None:
            edge = self.fleet.hosts[on_host].network == "edge"
        if edge:
            where = f"its host {on_host} has network = 'edge'" if on_host else "network = 'edge'"
            raise MembershipError(
                f"{like} faces the public side ({where}): it cannot be copied",
                hint="add a process made like one on the private subnet or the host",
            )
        spec = self._spec_of(like, self._file())
        self._start(name, spec, like=like, own_namespace=on_subnet is not None)
        self.origins[name] = self.origins[like]
        return self._member(name)

    def _retire(self, name: str, drain_s: float | None) -> Member:
        self.core.retire(name, self.drain_s if drain_s is None else drain_s)
        return self._member(name)

    def _scale(self, target: str, replicas: int) -> Scaled:
        topology = self._file()
        name = replica_set(target, topology, self.processes.values())
        spec = topology.processes[name]
        statuses = self.core.status()
        draining = {s.name for s in statuses if s.draining}
        # A replica that failed (its restarts spent) is no replica: it does not count,
        # and the order drops it with its host, as it drains what it has too many of.
        failed = sorted(
            s.name
            for s in statuses
            if s.phase is Phase.FAILED
            and not s.draining
            and self.processes[s.name].replica_set == name
        )
        live = {
            p.replica_index: p.name
            for p in self.processes.values()
            if p.replica_set == name
            and p.replica_index is not None
            and p.name not in draining
            and p.name not in failed
        }
        network = self.topology.network

        def taken(index: int) -> bool:
            names = [replica_name(name, index)]
            if spec.host is not None:
                names.append(replica_name(spec.host, index))
            return any(
                n in self.processes
                or n in self.fleet.hosts
                or (network is not None and network.member(n) is not None)
                for n in names
            )

        plan = plan_scale(name, live, taken, replicas)
        for leaving in (*plan.drain, *failed):  # refused before anything changes
            self.core.check_retire(leaving)
        if plan.start and (
            spec.network == "edge"
            or (spec.host is not None and topology.hosts[spec.host].network == "edge")
        ):
            raise MembershipError(
                f"{name} faces the public side (network = 'edge'): only replicas on the "
                "private subnet or the host's network are started while the topology runs",
                hint="scale a replicated process of the private subnet, such as web servers",
            )
        started: list[Member] = []
        for index in plan.start:
            one = replica(topology, name, index)
            host = None
            if one.host is not None and one.host_spec is not None:
                template = one.host_spec
                host = ResolvedHost(
                    name=one.host,
                    cpus=template.cpus,
                    memory_bytes=template.memory,
                    datacenter=template.datacenter,
                    network=template.network,
                    address=LOOPBACK,
                    namespace=None,
                    cgroup=None,
                )
            try:
                self._start(
                    one.name,
                    one.spec,
                    new_host=host,
                    own_namespace=spec.network == "private",
                    replica_of=(name, index),
                )
            except MillionscaleError as error:
                if not started:
                    raise
                raise MembershipError(
                    f"{name}: started {', '.join(m.name for m in started)}, then "
                    f"{one.name} could not start: {error.one_line()}",
                    hint="scale again once the cause is fixed",
                ) from None
            self.origins[one.name] = (name, index)
            started.append(self._member(one.name))
        drained = [self._retire(leaving, None) for leaving in plan.drain]
        drained += [self._retire(gone, 0.0) for gone in failed]
        log.info(plan.sentence() + (f"; dropping {', '.join(failed)}, failed" if failed else ""))
        return Scaled(name, plan.replicas, tuple(started), tuple(drained))

    def _start(
        self,
        name: str,
        spec: ProcessSpec,
        *,
        like: str | None = None,
        new_host: ResolvedHost | None = None,
        own_namespace: bool = False,
        replica_of: tuple[str, int] | None = None,
    ) -> None:
        """Start process ``name`` of ``spec``: on ``new_host`` (its namespace and cgroup
        made first), in a namespace of its own on the subnet (``own_namespace``), on
        ``like``'s host if it has one, or on the host's network; undone if it cannot be
        added."""
        network = self.topology.network
        made: ResolvedHost | None = None
        joined = None
        if new_host is not None:
            made = self._open_host(new_host)
            place = (made.address, made.namespace) if made.namespace is not None else None
            if spec.datacenter is None:  # a process is where its host is
                spec = spec.model_copy(update={"datacenter": made.datacenter})
        elif own_namespace and network is not None:
            grown = with_member(network, name, spec.datacenter or "dc1")
            joined = grown.member(name)
            assert joined is not None
            join(grown, joined)
            self.topology = self.topology.model_copy(update={"network": grown})
            place = (joined.address, joined.namespace)
        else:
            place = None
        try:
            process = clone(
                self.topology,
                spec,
                name,
                like,
                place=place,
                on_host=made.name if made is not None else None,
                replica=replica_of,
            )
            self.core.add(name, _plan(process))
        except MillionscaleError:
            if made is not None:
                self._close_host(made.name)
            if joined is not None:
                self._leave(joined.name)
            raise
        self.processes[name] = process
        self._save_topology()

    def _open_host(self, like: ResolvedHost) -> ResolvedHost:
        """A new private host of ``like``'s name and size: on the subnet, with its cgroup."""
        name = like.name
        if like.network != "private":
            raise MembershipError(
                f"host {name} would face the public side (network = 'edge'): only private "
                "hosts are added while the topology runs",
                hint="add a process made like one on a private host",
            )
        network = self.topology.network
        if name in self.fleet.hosts or (network is not None and network.member(name)):
            raise MembershipError(
                f"a host named {name} already runs", hint="choose a name of its own"
            )
        member = None
        if network is not None:
            grown = with_member(network, name, like.datacenter)
            member = grown.member(name)
            assert member is not None
            join(grown, member)
            self.topology = self.topology.model_copy(update={"network": grown})
        host = like.model_copy(
            update={
                "network": "private",
                "address": member.address if member is not None else LOOPBACK,
                "namespace": member.namespace if member is not None else None,
                "cgroup": (
                    f"{network.prefix}{name}"
                    if network is not None and self.topology.cgroup_version
                    else None
                ),
            }
        )
        try:
            self.fleet.add(host)
        except MillionscaleError:
            if member is not None:
                self._leave(name)
            raise
        self._hosts_read_at = -HOST_FIGURES_S  # status shows it at the next publication
        return host

    def _close_host(self, name: str) -> None:
        """Host ``name`` goes: off the subnet, its cgroup removed."""
        self._leave(name)
        self.fleet.discard(name)
        self._hosts_read_at = -HOST_FIGURES_S
        log.info("host removed", host=name)

    def _leave(self, name: str) -> None:
        """Member ``name`` (a host, or a process's own namespace) leaves the subnet."""
        network = self.topology.network
        member = network.member(name) if network is not None else None
        if network is None or member is None:
            return
        try:
            leave(member)
        except MillionscaleError as error:
            log.warning("could not remove its namespace", member=name, error=error.one_line())
        self.topology = self.topology.model_copy(update={"network": without_member(network, name)})

    def _forget(self) -> None:
        """Drop the processes the core has removed, and the hosts they leave empty."""
        if not self.core.gone:
            return
        for name in self.core.gone:
            process = self.processes.pop(name, None)
            self.origins.pop(name, None)
            self.log_offsets.pop(name, None)
            if process is None:
                continue
            if process.on_host is None:
                self._leave(name)
            elif not any(p.on_host == process.on_host for p in self.processes.values()):
                self._close_host(process.on_host)
        self.core.gone.clear()
        self._save_topology()

    def _save_topology(self) -> None:
        """``topology.json`` as it runs now, for the commands that read it (logs, status)."""
        update: dict[str, Any] = {
            "processes": list(self.processes.values()),
            "hosts": list(self.fleet.hosts.values()),
        }
        self.topology = self.topology.model_copy(update=update)
        self.topology.save(self.state.topology)

    # -- carrying out actions ------------------------------------------------

    def _spawn(self, name: str) -> None:
        process = self.processes[name]
        log_path = Path(process.log_path)
        log_path.parent.mkdir(parents=True, exist_ok=True)
        stamp = datetime.now(UTC).isoformat(timespec="seconds")
        with open(log_path, "a") as handle:
            handle.write(f"--- millionscale: starting {name} at {stamp} ---\n")
            self.log_offsets[name] = handle.tell()
        try:
            engine = self.engines.get(name)
            if isinstance(engine, PostgresEngine):  # its role may have changed since
                engine = self.engines[name] = engine_for_process(
                    process, self.processes, claimed_primary(self.view.snapshot().roles)
                )
            if engine is not None:
                assert process.data_dir is not None
                data_dir = prepare_owned_dir(Path(process.data_dir), engine.run_as())
                child = engine.launch(
                    data_dir,
                    process.endpoint(),
                    log_path,
                    cpus=process.cpus,
                    netns=process.netns,
                    cgroup_procs=self.fleet.procs_files(process),
                )
            else:
                assert process.argv is not None
                env = {**os.environ, "PYTHONUNBUFFERED": "1", **process.env}
                child = spawn(
                    process.argv,
                    log_path=log_path,
                    env=env,
                    cpus=process.cpus,
                    netns=process.netns,
                    cgroup_procs=self.fleet.procs_files(process),
                )
        except (MillionscaleError, OSError, subprocess.SubprocessError) as error:
            reason = error.one_line() if isinstance(error, MillionscaleError) else str(error)
            self.core.spawn_failed(name, reason)
            return
        self.children[name] = child
        self.core.spawned(name, child.pid)

    def _signal(self, name: str, sig: signal.Signals) -> None:
        child = self.children.get(name)
        if child is None or child.poll() is not None:
            return
        signal_group(child.pid, sig)

    def _graceful_signal(self, name: str, *, drain: bool = True) -> signal.Signals:
        """An engine's own graceful signal; for a command process SIGTERM (drain,
        then stop), or SIGINT when it need not drain (the whole topology stops)."""
        engine = self.engines.get(name)
        if engine is not None:
            return engine.graceful_signal
        return signal.SIGTERM if drain else signal.SIGINT

    def _carry_out(self) -> None:
        for action in self.core.step():
            match action:
                case Spawn(name):
                    self._spawn(name)
                case Probe(name):
                    self.probes[name] = self.pool.submit(
                        probe, self.processes[name], self.engines.get(name)
                    )
                case Terminate(name, drain):
                    self._signal(name, self._graceful_signal(name, drain=drain))
                case Kill(name):
                    self._signal(name, signal.SIGKILL)

    # -- gathering facts -------------------------------------------------------

    def _reap(self) -> None:
        for name, child in list(self.children.items()):
            code = child.poll()
            if code is not None:
                del self.children[name]
                # The leader is gone; whatever it left in its group goes too.
                signal_group(child.pid, signal.SIGKILL)
                oom = self.fleet.oom_killed(self.processes[name], code)
                if oom is not None:
                    log.warning(oom, process=name)
                self.core.exited(name, code, cause=self._cause(name), killer=oom or "")

    def _cause(self, name: str) -> str:
        """The last error line ``name`` logged since it was last started."""
        start = self.log_offsets.get(name, 0)
        try:
            with open(self.processes[name].log_path, "rb") as log:
                log.seek(0, os.SEEK_END)
                log.seek(max(start, log.tell() - CAUSE_SCAN_BYTES))
                text = log.read().decode("utf-8", "replace")
        except OSError:
            return ""
        return crash_cause(text)

    def _collect_probes(self) -> None:
        for name, future in list(self.probes.items()):
            if future.done():
                del self.probes[name]
                self.core.probed(name, bool(future.result()))

    # -- publishing ----------------------------------------------------------

    def _roles(self) -> dict[str, str]:
        """Database members' roles as the failover monitor last claimed them."""
        if self.cluster is None:
            return {}
        claimed = claimed_primary(self.view.snapshot().roles)
        return self.cluster.roles(claimed) if claimed is not None else {}

    def snapshot(self) -> dict[str, Any]:
        processes = []
        roles = self._roles()
        for status in self.core.status():
            process = self.processes[status.name]
            processes.append(
                {
                    "name": status.name,
                    "tier": process.tier,
                    "datacenter": process.datacenter,
                    "on_host": process.on_host,
                    "role": roles.get(status.name, process.role),
                    "pid": status.pid,
                    "started": start_ticks(status.pid) if status.pid else None,
                    "address": process.address,
                    "state": status.state,
                    "phase": str(status.phase),
                    "restarts": status.restarts,
                    "reason": status.reason,
                }
            )
        return {
            "topology": self.topology.name,
            "source": self.topology.source,
            "supervisor_pid": os.getpid(),
            "supervisor_started": start_ticks(os.getpid()),
            "stopping": self.core.stop_requested,
            "finished": self.core.finished,
            "processes": processes,
            "hosts": self._host_figures,
            "hosts_limited": self.topology.hosts_limited,
        }

    def _read_hosts(self) -> None:
        """The hosts' figures, read every :data:`HOST_FIGURES_S` (CPU use over that time)."""
        now = time.monotonic()
        if not self.fleet.hosts or now - self._hosts_read_at < HOST_FIGURES_S:
            return
        self._hosts_read_at = now
        self._host_figures = [figures.to_json() for figures in self.fleet.figures()]

    def _publish(self) -> None:
        self.view.publish(members(self.processes, self.core.status(), self._roles()))
        self._read_hosts()
        snapshot = self.snapshot()
        published = [snapshot["processes"], snapshot["hosts"]]
        if published == self._published and not snapshot["finished"]:
            return
        self._published = published
        snapshot["updated"] = datetime.now(UTC).isoformat()
        write_private(self.state.state, json.dumps(snapshot, indent=2), 0o644)

    def _flush_journal(self) -> None:
        for sentence in self.core.journal:
            log.info(sentence)
        self.core.journal.clear()

    # -- the loop ------------------------------------------------------------

    # -- the wide-area link ----------------------------------------------------

    def _start_wan(self) -> None:
        """Start the link between the data centers' bridges, when there are several."""
        network = self.topology.network
        argv = wan_command(network, sys.executable) if network is not None else None
        if network is None or argv is None:
            return
        self.wan = spawn(argv, log_path=self.state.logs / "wanlink.log")
        self._wan_started = time.monotonic()
        log.info("wide-area link started", pid=self.wan.pid, latency_ms=network.wan_latency_ms)

    def _keep_wan(self) -> None:
        """Start the link again if it died (at most once a second): while it is down
        the data centers cannot reach each other."""
        if self.wan is None or self.wan.poll() is None:
            return
        if time.monotonic() - self._wan_started < WAN_RESTART_S:
            return
        log.error("the wide-area link exited; starting it again", code=self.wan.returncode)
        self._start_wan()

    def request_stop(self, signum: int = 0, _frame: FrameType | None = None) -> None:
        self.core.request_stop()

    def run(self) -> int:
        """Supervise until stopped; return 0, or 1 if a process ended failed."""
        for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
            signal.signal(sig, self.request_stop)
        log.info("supervising", topology=self.topology.name, processes=len(self.processes))
        if self.topology.network_note:
            log.warning(self.topology.network_note)
        network = self.topology.network
        endpoint = ControlEndpoint(
            control_app(
                self.view,
                self,
                read_token(self.state.admin_token_file),
                hosts=lambda: self._host_figures,
            ),
            control_socket_for(self.state.root),
        )
        try:
            if network is not None:
                build(network)
                self._start_wan()
            self.fleet.create()
            self._publish()
            endpoint.start()
            write_private(self.state.control_pointer, f"{endpoint.path}\n", 0o644)
            log.info("control endpoint", socket=str(endpoint.path))
            while True:
                self._keep_wan()
                self._reap()
                self._collect_probes()
                self._take_orders()
                self._carry_out()
                self._forget()
                self._flush_journal()
                self._publish()
                if self.core.finished:
                    break
                deadline = self.core.next_deadline()
                pause = REAP_INTERVAL_S
                if deadline is not None:
                    pause = max(0.0, min(pause, deadline - time.monotonic()))
                time.sleep(pause)
        finally:
            endpoint.stop()
            self._refuse_orders()
            self.state.control_pointer.unlink(missing_ok=True)
            for name in list(self.children):
                self._signal(name, signal.SIGKILL)
            self.pool.shutdown(wait=False, cancel_futures=True)
            self.fleet.remove()
            if self.wan is not None:
                self.wan.kill()
                self.wan.wait()
            if network is not None:
                teardown(network)
        log.info("stopped", failed=self.core.any_failed)
        return 1 if self.core.any_failed else 0


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 1:
        print("usage: python -m millionscale.topology.supervisor STATE_DIR", file=sys.stderr)
        return 2
    state = StateDir(Path(args[0]))
    configure_logging("supervisor")
    lock = state.acquire()
    if lock is None:
        error = SupervisorError(
            f"a supervisor already runs on {state.root}", hint="run 'millionscale down' first"
        )
        print(f"error: {error.one_line()}", file=sys.stderr)
        return 2
    topology = ResolvedTopology.read(state.topology)
    try:
        return Supervisor(topology).run()
    except MillionscaleError as error:  # the role claims or the private network
        print(f"error: {error.one_line()}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    raise SystemExit(main())
