"""From a topology file to the exact processes to run.

Resolution happens once, in the command that starts a topology, before any
process runs, so that everything a user can get wrong fails fast with exit
code 2 and nothing left running: a missing engine binary or program, a fixed
port already taken or claimed twice, an unknown placeholder. It fixes every
``"auto"`` port, generates (or reuses) each process's secret and renders
``command`` and ``env``. It places processes with ``network = "private"`` or
``"edge"`` on the private subnet (:mod:`.network`) when this process may make
network namespaces, and on loopback, saying why, when it may not. Each host
(``[hosts.NAME]``) is a member of that subnet of its own, with a cgroup
(:mod:`millionscale.servers.cgroups`) that its processes share; a topology
with hosts is refused where hosts cannot be limited, unless it is resolved
with ``host_limits=False`` (``up --no-host-limits``). The result,
:class:`ResolvedTopology`, is written to
``.millionscale/topology.json`` (owner-only: rendered ``env`` may hold
database URLs) and read by the supervisor.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import shutil
import socket
import sys
from collections.abc import Callable
from pathlib import Path

from pydantic import BaseModel, ConfigDict

from millionscale.discovery import TOKEN_FILE_ENV
from millionscale.errors import (
    HostLimitsError,
    PortInUseError,
    TopologyError,
    UnknownProcessError,
)
from millionscale.servers import cgroups, netns
from millionscale.servers.binaries import find_bindir
from millionscale.servers.engines import Endpoint, engine_for
from millionscale.servers.server import free_port
from millionscale.topology.model import (
    LOOPBACK,
    PLACEHOLDER,
    ProcessSpec,
    Readiness,
    RestartPolicy,
    Topology,
)
from millionscale.topology.network import Member, NetworkPlan, plan, socket_root
from millionscale.topology.order import start_order
from millionscale.topology.replicas import expand
from millionscale.topology.state import StateDir, control_socket_for, write_private

__all__ = [
    "ResolvedHost",
    "ResolvedProcess",
    "ResolvedTopology",
    "clone",
    "port_free",
    "resolve",
]

PICK_ATTEMPTS = 50
SHARED = "@shared"  # the secrets file's key for {shared_secret}
# "off": the private subnet falls back to loopback even as root (as it does without root).
PRIVATE_NETWORK_ENV = "MILLIONSCALE_PRIVATE_NETWORK"


def _network(
    topology: Topology, order: list[str], state_dir: Path, *, host_limits: bool
) -> tuple[NetworkPlan | None, str | None]:
    """The private subnet for ``topology``, or None and why there is none.

    Its members: every host, and every process with a namespace of its own.
    """
    own = [n for n in order if topology.processes[n].host is None]
    private = [n for n in own if topology.processes[n].network == "private"]
    edges = [n for n in own if topology.processes[n].network == "edge"]
    private += [h for h, spec in topology.hosts.items() if spec.network == "private"]
    edges += [h for h, spec in topology.hosts.items() if spec.network == "edge"]
    if not private and not edges:
        return None, None
    why = netns.available()
    if os.environ.get(PRIVATE_NETWORK_ENV) == "off":
        why = f"{PRIVATE_NETWORK_ENV}=off"
    if why is not None:
        if topology.hosts and host_limits:
            raise HostLimitsError(
                f"this topology has hosts, and hosts need network namespaces: {why}",
                hint=NO_HOST_LIMITS_HINT,
            )
        return None, f"no private subnet ({why}): every process listens on loopback"
    sites = {h: spec.datacenter for h, spec in topology.hosts.items()}
    sites |= {n: topology.datacenter_of(n) for n in own}
    wan = topology.wan
    return (
        plan(
            state_dir,
            private,
            edges,
            topology.topology.private_subnet,
            datacenters=sites,
            wan_latency_ms=wan.latency_ms if wan else 0.0,
            wan_jitter_ms=wan.jitter_ms if wan else 0.0,
        ),
        None,
    )


NO_HOST_LIMITS_HINT = (
    "run it as root where cgroups are mounted, or 'millionscale up --no-host-limits' "
    "to run its hosts unlimited (figures are then not per host)"
)


def _cgroup_version(topology: Topology, *, host_limits: bool) -> cgroups.Version | None:
    """The cgroup version the hosts are limited with; None when they are not."""
    if not topology.hosts or not host_limits:
        return None
    found = cgroups.detect()
    if found not in ("v1", "v2"):
        raise HostLimitsError(
            f"this topology has hosts, and hosts need cgroups: {found}", hint=NO_HOST_LIMITS_HINT
        )
    return found  # type: ignore[return-value]


class ResolvedProcess(BaseModel):
    """One process, ready to spawn: every port fixed, every placeholder rendered."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str
    tier: str
    datacenter: str
    role: str
    engine: str | None
    durable: bool
    settings: dict[str, str]
    host: str
    ports: dict[str, int]
    cpus: list[int] | None
    replica_of: str | None  # PostgreSQL: the primary this node streams from
    synchronous: int  # PostgreSQL primary: commits wait for ANY k of its replicas
    durability: str = "strict"  # PostgreSQL primary: "strict" or "available" (failover)
    secret: str  # an engine's password or token; a command's {secret}
    argv: list[str] | None  # commands only; an engine's comes from the engine
    env: dict[str, str]
    depends_on: list[str]
    readiness: Readiness
    restart: RestartPolicy
    data_dir: str | None
    log_path: str
    netns: str | None = None  # the network namespace it runs in; None: the host's
    socket_dir: str | None = None  # an engine's Unix socket directory
    on_host: str | None = None  # the [hosts] entry it runs on
    replica_set: str | None = None  # a replica: the replicated process of the file it is one of
    replica_index: int | None = None  # a replica: its number in that set, from 1

    @property
    def address(self) -> str:
        return f"{self.host}:{self.ports['main']}"

    def endpoint(self) -> Endpoint:
        return Endpoint(
            host=self.host, ports=dict(self.ports), secret=self.secret, socket_dir=self.socket_dir
        )


class ResolvedHost(BaseModel):
    """One simulated machine, as it runs: its limits, its place, its cgroup."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str
    cpus: float
    memory_bytes: int
    datacenter: str
    network: str  # "private" or "edge"
    address: str  # where its processes listen (its public address, for an edge)
    namespace: str | None  # None: no namespaces here (unlimited, on loopback)
    cgroup: str | None  # its cgroup's name; None: run unlimited (--no-host-limits)

    def limits(self) -> cgroups.Limits:
        return cgroups.Limits(cpus=self.cpus, memory_bytes=self.memory_bytes)


class ResolvedTopology(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str
    source: str
    state_dir: str
    home: str  # the topology's own part of the state directory (data, secrets, media)
    processes: list[ResolvedProcess]  # in start order
    network: NetworkPlan | None = None  # the private subnet, when there is one
    network_note: str | None = None  # why the private subnet fell back to loopback
    hosts: list[ResolvedHost] = []
    cgroup_version: str | None = None  # "v1" or "v2" when the hosts are limited

    def host(self, name: str) -> ResolvedHost:
        for host in self.hosts:
            if host.name == name:
                return host
        raise KeyError(name)

    @property
    def hosts_limited(self) -> bool:
        """Whether the hosts' figures are per host (each held to its quota)."""
        return self.cgroup_version is not None

    def state(self) -> StateDir:
        """The state directory this topology runs from, viewing this topology's home."""
        return StateDir(Path(self.state_dir), self.name)

    def process(self, name: str) -> ResolvedProcess:
        for process in self.processes:
            if process.name == name:
                return process
        raise KeyError(name)

    def network_summary(self) -> str | None:
        """One sentence on the private subnet, or on why there is none (None: no private
        processes at all)."""
        network = self.network
        if network is None:
            return self.network_note
        private = [m.name for m in network.members if m.public_address is None]
        edges = [f"{m.name} ({m.public_address})" for m in network.members if m.public_address]
        if private and edges:
            sentence = (
                f"private subnet {network.private}: {', '.join(private)}, "
                f"reachable only through {', '.join(edges)}"
            )
        elif private:
            sentence = (
                f"private subnet {network.private}: {', '.join(private)}, "
                "with nothing facing the public side"
            )
        else:
            sentence = f"private subnet {network.private}: only {', '.join(edges)}, facing both"
        if self.hosts:
            limits = (
                f"each held to its CPU quota and memory limit (cgroups {self.cgroup_version})"
                if self.hosts_limited
                else "unlimited (--no-host-limits): figures are not per host"
            )
            count = f"{len(self.hosts)} host" + ("s" if len(self.hosts) != 1 else "")
            sentence += f"; {count}, {limits}"
        return sentence

    def save(self, path: Path) -> None:
        """Write atomically with owner-only permissions."""
        write_private(path, self.model_dump_json(indent=2))

    @classmethod
    def read(cls, path: Path) -> ResolvedTopology:
        return cls.model_validate_json(path.read_text())


def port_free(host: str, port: int) -> bool:
    """Whether nothing listens on ``host:port`` right now."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError:
            return False
    return True


def _load_secrets(path: Path) -> dict[str, str]:
    try:
        data = json.loads(path.read_text())
    except (FileNotFoundError, json.JSONDecodeError):
        return {}
    return {str(k): str(v) for k, v in data.items()} if isinstance(data, dict) else {}


def _render(text: str, where: str, own: dict[str, str], deps: dict[str, dict[str, str]]) -> str:
    """``text`` with every placeholder replaced; unknown ones are a TopologyError."""

    def replace(match: re.Match[str]) -> str:
        ref = match.group(1)
        head, _, attr = ref.partition(".")
        value = deps.get(head, {}).get(attr) if attr else own.get(ref)
        if value is None:
            raise TopologyError(
                f"{where}: unknown placeholder {{{ref}}}",
                hint="use {python}, {name}, {host}, {port}, {address}, {state_dir}, "
                "{topology_dir}, {discovery}, {secret}, "
                "{shared_secret}, or {dep.url}, {dep.host}, {dep.port}, {dep.address} of a "
                "dependency",
            )
        return value

    return PLACEHOLDER.sub(replace, text)


def _values(
    name: str, engine_name: str | None, endpoint: Endpoint, *, user: str, via_socket: bool
) -> dict[str, str]:
    """Process ``name``'s placeholders as process ``user`` sees them: across the
    edge of the subnet (one of them in a namespace, the other not: ``via_socket``),
    an engine's URL is its Unix socket; otherwise its address."""
    host, ports = endpoint.host, endpoint.ports
    values = {"host": host, "port": str(ports["main"]), "address": f"{host}:{ports['main']}"}
    values |= {f"{extra}_port": str(port) for extra, port in ports.items() if extra != "main"}
    if engine_name is not None:
        engine = engine_for(engine_name)
        url = engine.socket_url(endpoint) if via_socket else engine.url(endpoint)
        if url is None:
            raise TopologyError(
                f"processes.{user} runs on the private subnet and cannot reach {name} "
                f"({engine_name} has no Unix socket)",
                hint=f"put {user} on network = 'host', or drop its use of {{{name}.url}}",
            )
        values["url"] = url
    return values


def _rendered(
    name: str, spec: ProcessSpec, own: dict[str, str], deps: dict[str, dict[str, str]]
) -> tuple[list[str], dict[str, str]]:
    """``spec``'s argv and env rendered; a process that reads discovery learns
    where the admin token is (:data:`~millionscale.discovery.TOKEN_FILE_ENV`)."""
    argv = [_render(arg, f"processes.{name}.command", own, deps) for arg in spec.command or ()]
    if argv and not shutil.which(argv[0]):
        raise TopologyError(
            f"processes.{name}.command: program {argv[0]!r} not found",
            hint="install it, give its full path, or fix the name",
        )
    env = {
        key: _render(value, f"processes.{name}.env.{key}", own, deps)
        for key, value in spec.env.items()
    }
    if any("{discovery}" in text for text in [*(spec.command or []), *spec.env.values()]):
        env.setdefault(TOKEN_FILE_ENV, str(StateDir(Path(own["state_dir"])).admin_token_file))
    return argv, env


def resolve(
    topology: Topology,
    *,
    source: Path,
    state_dir: Path,
    pick_port: Callable[[str], int] = free_port,
    is_port_free: Callable[[str, int], bool] = port_free,
    host_limits: bool = True,
) -> ResolvedTopology:
    """Resolve ``topology`` for a run whose state lives in ``state_dir``.

    Raises :class:`~millionscale.errors.ConfigError` subclasses for what the
    user must fix, and :class:`~millionscale.errors.BinaryNotFoundError` for a
    missing engine. Writes only the secrets file, in the topology's home under
    ``state_dir`` (:class:`~millionscale.topology.state.TopologyHome`).
    """
    expansion = expand(topology)  # a replicated process runs as its replicas
    topology = expansion.topology
    order = start_order(topology)
    state_dir = state_dir.resolve()
    home = StateDir(state_dir).home(topology.topology.name)
    secrets_path = home.secrets
    stored = _load_secrets(secrets_path)

    network, network_note = _network(topology, order, state_dir, host_limits=host_limits)
    member = {m.name: m for m in network.members} if network else {}
    cgroup_version = _cgroup_version(topology, host_limits=host_limits)

    def member_of(name: str) -> Member | None:
        """The subnet member process ``name`` is on: its host, or its own namespace."""
        on = topology.processes[name].host
        return member.get(on if on is not None else name)

    def host_of(name: str) -> str:
        """Where a process listens: its place on the private subnet, if it has one (an
        edge's public address, but for an engine: a database faces the subnet only)."""
        place = member_of(name)
        if place is None:
            return topology.processes[name].address
        if topology.processes[name].engine is not None:
            return place.address
        return place.public_address or place.address

    claimed: dict[tuple[str, int], str] = {}  # (host, port) -> the process holding it
    for name in order:  # fixed ports first, so that no "auto" pick can take one
        spec = topology.processes[name]
        if spec.engine is not None:
            find_bindir(spec.engine)
        available = os.sched_getaffinity(0)
        if spec.cpus and not set(spec.cpus) <= available:
            raise TopologyError(
                f"processes.{name}.cpus: {sorted(set(spec.cpus) - available)} not available here",
                hint=f"this machine offers CPUs {sorted(available)}; pin to those or drop 'cpus'",
            )
        if spec.port == "auto":
            continue
        where = host_of(name)
        other = claimed.get((where, spec.port))
        if other is not None:
            raise PortInUseError(
                f"processes.{name}.port: {where}:{spec.port} is also the port of {other}",
                hint="give each process its own port, or 'auto'",
            )
        if member_of(name) is None and not is_port_free(where, spec.port):
            # (in a namespace of the topology's own, nothing else listens)
            raise PortInUseError(
                f"processes.{name}.port: {where}:{spec.port} is already in use",
                hint="stop what listens there, or choose another port or 'auto'",
            )
        claimed[(where, spec.port)] = name

    def pick(host: str, owner: str) -> int:
        # The kernel may hand out the same free port twice in a row: skip claimed ones.
        # In a namespace every port is free; a loopback pick still gives a fresh number.
        for _ in range(PICK_ATTEMPTS):
            port = pick_port(LOOPBACK if member_of(owner) is not None else host)
            if (host, port) not in claimed:
                claimed[(host, port)] = owner
                return port
        raise PortInUseError(
            f"processes.{owner}: no free port found on {host} in {PICK_ATTEMPTS} tries",
            hint="free some ports, or give fixed ones",
        )

    ports: dict[str, dict[str, int]] = {}
    for name in order:
        spec = topology.processes[name]
        host = host_of(name)
        main = pick(host, name) if spec.port == "auto" else spec.port
        extra = engine_for(spec.engine).extra_ports if spec.engine else tuple(spec.extra_ports)
        ports[name] = {"main": main} | {port: pick(host, name) for port in extra}

    # Every process gets a secret, kept across runs: an engine's password or
    # token, a command's {secret} (the photo app signs its cookies with it).
    secrets_by_name = {name: stored.get(name) or secrets.token_urlsafe(32) for name in order}
    # One secret for every process that must share it (the web servers behind a
    # balancer sign cookies with the same key); no process is named with an '@'.
    texts = [
        t
        for spec in topology.processes.values()
        for t in [*(spec.command or []), *spec.env.values()]
    ]
    if any("{shared_secret}" in text for text in texts):
        secrets_by_name[SHARED] = stored.get(SHARED) or secrets.token_urlsafe(32)
    for name in order:  # a replica's clone copies its primary's roles, password included
        primary = topology.processes[name].replica_of
        if primary is not None:
            secrets_by_name[name] = secrets_by_name[primary]

    def socket_dir(name: str) -> str | None:
        if network is None or topology.processes[name].engine is None:
            return None
        return str(socket_root(network.id) / name)

    def values_for(name: str, user: str) -> dict[str, str]:
        endpoint = Endpoint(host_of(name), ports[name], secrets_by_name[name], socket_dir(name))
        engine = topology.processes[name].engine
        across = (member_of(user) is None) != (member_of(name) is None)
        return _values(name, engine, endpoint, user=user, via_socket=across)

    processes: list[ResolvedProcess] = []
    for name in order:
        spec = topology.processes[name]
        own = {
            "python": sys.executable,
            "name": name,
            "state_dir": str(state_dir),
            "topology_dir": str(home.root),
            "discovery": f"unix:{control_socket_for(state_dir)}",
            "secret": secrets_by_name[name],
            "datacenter": topology.datacenter_of(name),
            "source_dir": str(source.resolve().parent),
        }
        if SHARED in secrets_by_name:
            own["shared_secret"] = secrets_by_name[SHARED]
        own |= {k: v for k, v in values_for(name, name).items() if k != "url"}
        deps = {dep: values_for(dep, name) for dep in spec.depends_on}

        argv, env = _rendered(name, spec, own, deps)
        processes.append(
            ResolvedProcess(
                name=name,
                tier=spec.tier,
                datacenter=topology.datacenter_of(name),
                role=spec.role,
                engine=spec.engine,
                durable=spec.durable,
                settings=dict(spec.settings),
                host=host_of(name),
                ports=ports[name],
                cpus=list(spec.cpus) if spec.cpus else None,
                replica_of=spec.replica_of,
                synchronous=spec.synchronous,
                durability=spec.durability,
                secret=secrets_by_name[name],
                argv=argv or None,
                env=env,
                depends_on=list(spec.depends_on),
                readiness=spec.readiness,
                restart=spec.restart,
                data_dir=str(home.data / name) if spec.engine else None,
                log_path=str(state_dir / "logs" / f"{name}.log"),
                netns=place.namespace if (place := member_of(name)) is not None else None,
                socket_dir=socket_dir(name),
                on_host=spec.host,
                replica_set=one.of if (one := expansion.replicas.get(name)) else None,
                replica_index=one.index if one else None,
            )
        )
    hosts = [
        ResolvedHost(
            name=name,
            cpus=spec.cpus,
            memory_bytes=spec.memory,
            datacenter=spec.datacenter,
            network=spec.network,
            address=(place.public_address or place.address) if place else LOOPBACK,
            namespace=place.namespace if place else None,
            cgroup=f"ms-{network.id}-{name}" if network and cgroup_version else None,
        )
        for name, spec in topology.hosts.items()
        for place in [member.get(name)]
    ]
    state_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    home.root.mkdir(parents=True, exist_ok=True, mode=0o700)
    if secrets_by_name != stored:
        write_private(secrets_path, json.dumps(stored | secrets_by_name, indent=2))
    return ResolvedTopology(
        name=topology.topology.name,
        source=str(source),
        state_dir=str(state_dir),
        home=str(home.root),
        processes=processes,
        network=network,
        network_note=network_note,
        hosts=hosts,
        cgroup_version=cgroup_version,
    )


def clone(
    topology: ResolvedTopology,
    spec: ProcessSpec,
    name: str,
    like: str | None = None,
    *,
    place: tuple[str, str] | None = None,
    on_host: str | None = None,
    replica: tuple[str, int] | None = None,
    pick_port: Callable[[str], int] = free_port,
) -> ResolvedProcess:
    """A new process ``name`` made from ``spec`` for a running ``topology``: the spec
    of the running process ``like`` (``process add``), or of a replica (``scale``).

    Its placeholders are rendered as the topology's were (its dependencies'
    URLs, the shared secret), with its own ``{name}``, ``{secret}`` and ports.
    Where it runs: at ``place`` (its address and namespace on the private
    subnet) on host ``on_host`` if given; else a copy of a process on a host
    runs on that host (its address, namespace and cgroup); else on loopback.
    In a namespace no running process shares (its own, or a new host's) it
    keeps ``like``'s ports (or ``spec``'s fixed one); elsewhere every port is
    picked afresh. ``replica`` is the replicated process and the number it is
    in that set. Only commands are cloned: an engine has data. A dependency
    that does not run is an :class:`~millionscale.errors.UnknownProcessError`.
    """
    if spec.engine is not None:
        raise TopologyError(
            f"{like or name} runs {spec.engine}: only command processes can be added at run time",
            hint="add a process made like a web server or a worker",
        )
    running = {p.name for p in topology.processes}
    for dep in spec.depends_on:
        if dep not in running:
            raise UnknownProcessError(
                f"{name} depends on {dep}, which does not run here",
                hint=f"running: {', '.join(sorted(running))}",
            )
    original = topology.process(like) if like is not None else None
    if place is None and on_host is None and original is not None and original.on_host:
        on_host = original.on_host  # a copy of a process on a host runs on that host
        if original.netns is not None:
            place = (original.host, original.netns)
    if place is not None:
        host, namespace = place
    else:
        host, namespace = spec.address, None
    in_namespace = namespace is not None
    alone = in_namespace and all(p.netns != namespace for p in topology.processes)
    names = list(original.ports) if original is not None else ["main", *spec.extra_ports]
    ports: dict[str, int] = {}
    if alone:  # in a namespace of its own every port is free
        if original is not None:
            ports = dict(original.ports)
        elif spec.port != "auto":
            ports["main"] = spec.port
    taken = {(p.host, port) for p in topology.processes for port in p.ports.values()}
    for port_name in names:
        if port_name in ports:
            continue
        for _ in range(PICK_ATTEMPTS):
            # (a pick on loopback gives a fresh number for a namespace too)
            port = pick_port(LOOPBACK if in_namespace else host)
            if (host, port) not in taken and port not in ports.values():
                ports[port_name] = port
                break
        else:
            raise PortInUseError(
                f"{name}: no free port found on {host} in {PICK_ATTEMPTS} tries",
                hint="free some ports",
            )
    secret = secrets.token_urlsafe(32)
    state_dir = Path(topology.state_dir)
    datacenter = spec.datacenter or (original.datacenter if original is not None else "dc1")
    own = {
        "python": sys.executable,
        "name": name,
        "state_dir": str(state_dir),
        "topology_dir": topology.home,
        "discovery": f"unix:{control_socket_for(state_dir)}",
        "secret": secret,
        "datacenter": datacenter,
        "source_dir": str(Path(topology.source).resolve().parent),
    }
    shared = _load_secrets(Path(topology.home) / "secrets.json").get(SHARED)
    if shared is not None:
        own["shared_secret"] = shared
    endpoint = Endpoint(host=host, ports=ports, secret=secret, socket_dir=None)
    own |= _values(name, None, endpoint, user=name, via_socket=False)
    deps = {}
    for dep in spec.depends_on:
        process = topology.process(dep)
        across = in_namespace != (process.netns is not None)
        deps[dep] = _values(dep, process.engine, process.endpoint(), user=name, via_socket=across)
    argv, env = _rendered(name, spec, own, deps)
    return ResolvedProcess(
        name=name,
        tier=spec.tier,
        datacenter=datacenter,
        role=spec.role,
        engine=None,
        durable=spec.durable,
        settings={},
        host=host,
        ports=ports,
        cpus=list(spec.cpus) if spec.cpus else None,
        replica_of=None,
        synchronous=0,
        durability=spec.durability,
        secret=secret,
        argv=argv or None,
        env=env,
        depends_on=list(spec.depends_on),
        readiness=spec.readiness,
        restart=spec.restart,
        data_dir=None,
        log_path=str(state_dir / "logs" / f"{name}.log"),
        netns=namespace,
        socket_dir=None,
        on_host=on_host,
        replica_set=replica[0] if replica else None,
        replica_index=replica[1] if replica else None,
    )
