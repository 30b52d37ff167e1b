"""The topology file: which processes run, where, and how they are kept alive.

A topology is a TOML file::

    [topology]
    name = "single-server"
    description = "App and PostgreSQL on one host."

    [processes.db]
    tier = "db"
    engine = "postgres"            # a real engine started by millionscale.servers

    [processes.web]
    tier = "web"
    command = ["{python}", "-m", "millionscale.web.placeholder", "--port", "{port}"]
    env = { DATABASE_URL = "{db.url}" }
    port = 8000                    # or "auto" (the default): a free loopback port
    depends_on = ["db"]
    network = "host"               # or "private" (a private subnet), "edge" (faces both)
    readiness = { http = "/readyz", timeout_s = 30 }
    restart = { policy = "on-failure", max_restarts = 5, window_s = 60 }

Each process has exactly one of ``engine`` and ``command``. Placeholders in
``command`` and ``env``: ``{python}`` (this interpreter), ``{name}``,
``{host}``, ``{port}``, ``{NAME_port}`` for each of ``extra_ports``, ``{state_dir}``,
``{topology_dir}`` (this topology's own part of it, for its data: uploads and such),
``{shared_secret}`` (one for the whole topology), ``{secret}`` (generated once per
process and kept in ``.millionscale/topologies/NAME/secrets.json``), ``{datacenter}``
(the data center it stands in), ``{source_dir}`` (the directory of the topology
file, for files that come with it), and for a process it depends on,
``{db.url}``, ``{db.host}``, ``{db.port}``, ``{db.address}``. Unknown keys are
errors: a misspelt key must not be silently ignored.

``network = "private"`` runs a command on a private subnet that only
``network = "edge"`` processes (the balancer) reach; see
:mod:`millionscale.topology.network`. Such a process must listen on ``{host}``,
and a dependency's ``{db.url}`` takes it to the engine through a Unix socket.

**Hosts** simulate a fleet of small machines on one box::

    [hosts.web-1]
    cpus = 0.25                    # a quarter of one core, for all its processes
    memory = "512MiB"              # past it, the OOM killer
    network = "private"            # or "edge": also faces the public side
    datacenter = "dc1"

    [processes.web]
    host = "web-1"                 # runs on that host

A host is a network namespace with its own address on the topology's subnet
and a cgroup that every process on it shares. Its processes listen on
``{host}`` (the host's address); across hosts they meet only by address, an
engine's ``{db.url}`` included (TCP to the other host), as on real machines.

**Replicas** make one process of the file N alike::

    [hosts.web]                    # a template: web-1 and web-2 each get one like it
    cpus = 0.25
    memory = "512MiB"

    [processes.web]
    replicas = 2                   # web-1 on host web-1, web-2 on host web-2
    host = "web"

Each replica is a process of its own (its own ``{name}``, ``{host}``,
``{port}``, ``{secret}``); a process that depends on ``web`` depends on every
replica, and none can use ``{web.address}``: there is no one web server to
address (a balancer follows the tier through discovery). ``millionscale scale
web=N`` changes N while the topology runs (:mod:`.replicas`).
"""

from __future__ import annotations

import ipaddress
import re
from typing import Annotated, Literal

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    field_validator,
    model_validator,
)

__all__ = [
    "ENGINE_NAMES",
    "LOOPBACK",
    "MAX_REPLICAS",
    "PLACEHOLDER",
    "HostSpec",
    "ProcessSpec",
    "Readiness",
    "RestartPolicy",
    "Topology",
    "TopologyMeta",
]

ENGINE_NAMES = ("postgres", "redis", "nats")
NAME_PATTERN = r"^[a-z][a-z0-9-]{0,39}$"
DATACENTER_PATTERN = r"^[a-z][a-z0-9-]{0,15}$"
PLACEHOLDER = re.compile(r"\{([a-z_][a-z0-9_.-]*)\}")
LOOPBACK = "127.0.0.1"  # where a process that is on no host and no subnet listens
MIB = 1024 * 1024
MIN_HOST_MEMORY = 16 * MIB  # ours: below this not even a Python process starts
# Ours: the private subnet has 116 addresses (.10 to .126, network.py), and a
# replicated process may be scaled while others are on it too.
MAX_REPLICAS = 64
_UNITS = {"": 1, "B": 1, "KiB": 1024, "MiB": MIB, "GiB": 1024 * MIB, "TiB": 1024 * 1024 * MIB}
_SIZE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([KMGT]iB|B)?\s*$")


def _port(value: object) -> int | str:
    if value == "auto":
        return "auto"
    if isinstance(value, int) and not isinstance(value, bool) and 1 <= value <= 65535:
        return value
    raise ValueError(f"must be a port number from 1 to 65535 or 'auto', not {value!r}")


Port = Annotated[int | Literal["auto"], BeforeValidator(_port)]


def _memory(value: object) -> int:
    """Bytes from ``"512MiB"``, ``"1.5GiB"``, ``"65536B"`` or a whole number of bytes."""
    if isinstance(value, int) and not isinstance(value, bool):
        size = value
    elif isinstance(value, str) and (match := _SIZE.match(value)):
        size = int(float(match[1]) * _UNITS[match[2] or ""])
    else:
        raise ValueError(
            f"must be a size such as '512MiB' or '2GiB' (units B, KiB, MiB, GiB, TiB), "
            f"not {value!r}"
        )
    if size < MIN_HOST_MEMORY:
        raise ValueError(f"must be at least 16MiB, not {size} bytes")
    return size


Memory = Annotated[int, BeforeValidator(_memory)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Readiness(_Strict):
    """How the supervisor knows a process is ready.

    ``http`` GETs that path on the process's port and wants a 2xx; ``tcp``
    (the default for a command) wants the port to accept a connection;
    ``none`` counts the process ready as soon as it runs. Engines are always
    probed their own way (a real query, PING, JetStream health).
    """

    http: str | None = None
    tcp: bool = False
    none: bool = False
    timeout_s: float = Field(default=30.0, gt=0, le=3600)
    interval_s: float = Field(default=0.1, gt=0, le=60)

    @field_validator("http")
    @classmethod
    def _path(cls, value: str | None) -> str | None:
        if value is not None and not value.startswith("/"):
            raise ValueError("must be a path starting with '/', such as '/readyz'")
        return value

    @model_validator(mode="after")
    def _one_kind(self) -> Readiness:
        if sum([self.http is not None, self.tcp, self.none]) > 1:
            raise ValueError("choose one of http, tcp and none")
        return self


class RestartPolicy(_Strict):
    """When a process that exits is started again, and how soon.

    ``on-failure`` restarts after a non-zero exit or a signal; ``always`` after
    any exit; ``never`` leaves it stopped (or failed). The n-th restart within
    ``window_s`` waits ``backoff_initial_s * 2**(n-1)``, at most
    ``backoff_max_s``; more than ``max_restarts`` within ``window_s`` marks the
    process ``failed`` (systemd's StartLimitBurst/StartLimitIntervalSec).
    """

    policy: Literal["on-failure", "always", "never"] = "on-failure"
    max_restarts: int = Field(default=5, ge=0, le=1000)  # systemd's StartLimitBurst
    window_s: float = Field(default=60.0, gt=0)
    backoff_initial_s: float = Field(default=0.5, ge=0)
    backoff_max_s: float = Field(default=30.0, ge=0)
    stop_timeout_s: float = Field(default=10.0, gt=0, le=600)  # docker stop's default


class ProcessSpec(_Strict):
    """One process of the topology, as written in the file."""

    tier: str = Field(pattern=r"^[a-z][a-z0-9-]*$")
    # Its host's when it is on one; "dc1" when neither says.
    datacenter: str | None = Field(default=None, pattern=DATACENTER_PATTERN)
    role: str = Field(default="", pattern=r"^[a-z0-9-]*$")
    engine: Literal["postgres", "redis", "nats"] | None = None
    command: list[str] | None = None
    env: dict[str, str] = Field(default_factory=dict)
    host: str | None = Field(default=None, pattern=NAME_PATTERN)  # a [hosts] entry
    address: str = LOOPBACK  # where it listens when it is on no host and no subnet
    port: Port = "auto"
    # More free ports for a command, by name: ["admin"] gives {admin_port} ({web.admin_port}
    # to processes that depend on it).
    extra_ports: list[Annotated[str, Field(pattern=r"^[a-z][a-z0-9]{0,15}$")]] = Field(
        default_factory=list, max_length=8
    )
    network: Literal["host", "private", "edge"] = "host"
    # N alike processes NAME-1 ... NAME-N (each on a host of its own from ``host``, a template)
    replicas: int | None = Field(default=None, ge=1, le=MAX_REPLICAS)
    durable: bool = True
    settings: dict[str, str] = Field(default_factory=dict)
    cpus: list[Annotated[int, Field(ge=0)]] | None = Field(default=None, min_length=1)
    replica_of: str | None = Field(default=None, pattern=NAME_PATTERN)
    synchronous: int = Field(default=0, ge=0, le=16)
    # With too few standbys to be sure of a lossless promotion, "strict" waits (gives up
    # availability) and "available" promotes the best it can reach (may lose commits).
    durability: Literal["strict", "available"] = "strict"
    depends_on: list[Annotated[str, Field(pattern=NAME_PATTERN)]] = Field(default_factory=list)
    readiness: Readiness = Field(default_factory=Readiness)
    restart: RestartPolicy = Field(default_factory=RestartPolicy)

    @field_validator("command")
    @classmethod
    def _nonempty(cls, value: list[str] | None) -> list[str] | None:
        if value is not None and (not value or not value[0].strip()):
            raise ValueError("must name a program, such as ['{python}', '-m', 'module']")
        return value

    @model_validator(mode="after")
    def _engine_or_command(self) -> ProcessSpec:
        if (self.engine is None) == (self.command is None):
            raise ValueError("set exactly one of 'engine' (postgres, redis, nats) and 'command'")
        if self.engine is not None and (
            self.readiness.http is not None or self.readiness.tcp or self.readiness.none
        ):
            raise ValueError("an engine is probed its own way: keep only timeout_s in readiness")
        if self.engine is not None and self.extra_ports:
            raise ValueError("an engine opens its own ports: 'extra_ports' is for commands")
        if len(set(self.extra_ports)) != len(self.extra_ports) or "main" in self.extra_ports:
            raise ValueError("'extra_ports' names must be unique and not 'main'")
        if self.engine is not None and self.network != "host":
            raise ValueError(
                "engines stay on the host network (the private subnet reaches them through "
                "Unix sockets): 'network' is for commands; put an engine on a [hosts] "
                "entry to give it an address of its own"
            )
        if self.host is not None and self.network != "host":
            raise ValueError(
                f"a process on host {self.host!r} takes its network from the host: "
                f"set 'network' on [hosts.{self.host}], not on the process"
            )
        if self.address != LOOPBACK and (self.host is not None or self.network != "host"):
            raise ValueError(
                "'address' is for a process on no host and no subnet: on one, it listens "
                "on its host's (or its namespace's) address"
            )
        if self.engine is not None and self.replicas is not None:
            raise ValueError(
                f"'replicas' is for commands: {self.engine} has data of its own, and a "
                "replicated database is made with 'replica_of' (one process per node)"
            )
        if (
            self.replicas is not None
            and self.port != "auto"
            and self.host is None
            and self.network == "host"
        ):
            raise ValueError(
                f"replicas on the host's network cannot share port {self.port}: set "
                "port = 'auto', or put them on a host or a subnet (each replica gets its own)"
            )
        if self.engine is None and self.settings:
            raise ValueError("'settings' are engine settings; a command takes 'env' instead")
        if self.engine != "postgres" and (
            self.replica_of is not None or self.synchronous or self.durability != "strict"
        ):
            raise ValueError(
                "'replica_of', 'synchronous' and 'durability' are for PostgreSQL engines"
            )
        if self.replica_of is not None and self.durability != "strict":
            raise ValueError("set 'durability' on the primary: it is the cluster's setting")
        if self.replica_of is not None and self.synchronous:
            raise ValueError(
                "a replica cannot have synchronous standbys: set 'synchronous' on the primary"
            )
        return self


class HostSpec(_Strict):
    """A simulated machine of a fixed size (see the module docstring)."""

    cpus: float = Field(ge=0.01, le=1024)  # cores' worth of CPU time, shared by its processes
    memory: Memory
    network: Literal["private", "edge"] = "private"
    datacenter: str = Field(default="dc1", pattern=DATACENTER_PATTERN)


class WanSpec(_Strict):
    """``[wan]``: the wide-area link between the data centers (docs/geodns.md)."""

    latency_ms: float = Field(default=0.0, ge=0, le=5000)  # one way, any two data centers
    jitter_ms: float = Field(default=0.0, ge=0, le=5000)

    @model_validator(mode="after")
    def _bounded(self) -> WanSpec:
        if self.jitter_ms > self.latency_ms:
            raise ValueError(
                f"jitter_ms = {self.jitter_ms:g} is more than latency_ms = "
                f"{self.latency_ms:g}: a frame cannot arrive before it was sent"
            )
        return self


class TopologyMeta(_Strict):
    name: str = Field(pattern=r"^[a-z0-9][a-z0-9-]*$")
    description: str = ""
    stage: int | None = Field(default=None, ge=1)
    # The /24 for the private subnet; by default one derived from the state directory.
    private_subnet: str | None = None

    @field_validator("private_subnet")
    @classmethod
    def _subnet(cls, value: str | None) -> str | None:
        if value is None:
            return None
        try:
            network = ipaddress.IPv4Network(value)
        except ValueError as error:
            raise ValueError(f"{value!r} is not an IPv4 network: {error}") from None
        if network.prefixlen != 24 or not network.is_private:
            raise ValueError(f"{value!r} must be a private /24, such as '10.77.0.0/24'")
        return str(network)


class Topology(_Strict):
    """A whole topology file: its ``[topology]`` table and its ``[processes.*]``."""

    topology: TopologyMeta
    hosts: dict[Annotated[str, Field(pattern=NAME_PATTERN)], HostSpec] = Field(default_factory=dict)
    processes: dict[Annotated[str, Field(pattern=NAME_PATTERN)], ProcessSpec] = Field(min_length=1)
    wan: WanSpec | None = None

    def datacenter_of(self, name: str) -> str:
        """Where process ``name`` stands: its own ``datacenter``, else its host's, else dc1."""
        spec = self.processes[name]
        if spec.datacenter is not None:
            return spec.datacenter
        return self.hosts[spec.host].datacenter if spec.host is not None else "dc1"

    @property
    def datacenters(self) -> list[str]:
        """Every data center named, hosts' first, in the file's order."""
        named = [h.datacenter for h in self.hosts.values()]
        named += [self.datacenter_of(n) for n in self.processes]
        return list(dict.fromkeys(named))

    def network_of(self, name: str) -> Literal["host", "private", "edge"]:
        """Where process ``name`` is: its host's network if it is on one, else its own."""
        spec = self.processes[name]
        return self.hosts[spec.host].network if spec.host is not None else spec.network

    @model_validator(mode="after")
    def _hosts(self) -> Topology:
        for name, spec in self.processes.items():
            if spec.host is not None and spec.host not in self.hosts:
                known = ", ".join(self.hosts) or "none"
                raise ValueError(
                    f"processes.{name}.host names {spec.host!r}, which is not a [hosts] entry "
                    f"(hosts: {known})"
                )
            if spec.host is None and spec.network != "host" and name in self.hosts:
                raise ValueError(
                    f"processes.{name} has a namespace of its own and so does host {name!r}: "
                    "give one of them another name"
                )
            if spec.host is not None and spec.datacenter not in (
                None,
                self.hosts[spec.host].datacenter,
            ):
                raise ValueError(
                    f"processes.{name}.datacenter = {spec.datacenter!r}, but its host "
                    f"{spec.host!r} stands in {self.hosts[spec.host].datacenter!r}: a process "
                    "is where its host is; drop the key or move the host"
                )
        if self.wan is not None and len(self.datacenters) < 2:
            raise ValueError(
                "[wan] joins data centers, and every host here stands in "
                f"{self.datacenters[0]!r}: give hosts a datacenter, or drop [wan]"
            )
        return self

    @model_validator(mode="after")
    def _replicas(self) -> Topology:
        templates: dict[str, str] = {}  # template host -> the replicated process on it
        for name, spec in self.processes.items():
            if spec.replicas is None:
                continue
            for replica in _numbered(
                name, spec.replicas, f"processes.{name}.replicas", "its replicas"
            ):
                if replica in self.processes:
                    raise ValueError(
                        f"processes.{name}.replicas = {spec.replicas} makes {replica}, and "
                        f"processes.{replica} is a process of its own: rename one of them"
                    )
                if spec.host is None and spec.network != "host" and replica in self.hosts:
                    raise ValueError(
                        f"processes.{name}.replicas = {spec.replicas} makes {replica}, with a "
                        f"namespace of its own, and so has host {replica!r}: rename one of them"
                    )
            if spec.host is None:
                continue
            if spec.host in templates:
                raise ValueError(
                    f"processes.{name}.host: {spec.host!r} is already the template of "
                    f"{templates[spec.host]}'s replicas: give each replicated process a "
                    "template host of its own"
                )
            templates[spec.host] = name
            key = f"processes.{name}.host"
            for host in _numbered(spec.host, spec.replicas, key, "the replicas' hosts"):
                if host in self.hosts:
                    raise ValueError(
                        f"processes.{name}.replicas = {spec.replicas} makes host {host} from "
                        f"the template {spec.host!r}, and hosts.{host} is a host of its own: "
                        "rename one of them"
                    )
        for name, spec in self.processes.items():
            if spec.host in templates and spec.replicas is None:
                raise ValueError(
                    f"processes.{name}.host names {spec.host!r}, the template of "
                    f"{templates[spec.host]}'s replicas' hosts, which is not a host of its own: "
                    "give it another host"
                )
        return self

    @model_validator(mode="after")
    def _replication(self) -> Topology:
        for name, spec in self.processes.items():
            primary = spec.replica_of
            if primary is None:
                continue
            if primary == name:
                raise ValueError(f"processes.{name}.replica_of names the process itself")
            if primary not in self.processes or self.processes[primary].engine != "postgres":
                raise ValueError(
                    f"processes.{name}.replica_of names {primary!r}, which is not a "
                    "PostgreSQL process of this topology"
                )
            if self.processes[primary].replica_of is not None:
                raise ValueError(
                    f"processes.{name}.replica_of names {primary!r}, itself a replica: "
                    "point every replica at the primary"
                )
            if primary not in spec.depends_on:
                raise ValueError(
                    f"processes.{name} is a replica of {primary!r} but does not depend on it: "
                    "add it to depends_on"
                )
        for name, spec in self.processes.items():
            replicas = [n for n, s in self.processes.items() if s.replica_of == name]
            if spec.synchronous > len(replicas):
                raise ValueError(
                    f"processes.{name}.synchronous = {spec.synchronous} needs at least "
                    f"{spec.synchronous} replicas of {name!r}; it has {len(replicas)}: add "
                    "replicas or lower it (0 is asynchronous); nothing is downgraded silently"
                )
        return self

    @model_validator(mode="after")
    def _references(self) -> Topology:
        for name, spec in self.processes.items():
            for dep in spec.depends_on:
                if dep not in self.processes:
                    raise ValueError(
                        f"processes.{name}.depends_on names {dep!r}, which is not a process"
                    )
                if dep == name:
                    raise ValueError(f"processes.{name}.depends_on names the process itself")
            texts = [*(spec.command or []), *spec.env.values()]
            for text in texts:
                for ref in PLACEHOLDER.findall(text):
                    head, _, attr = ref.partition(".")
                    if attr and head in self.processes and self.processes[head].replicas:
                        raise ValueError(
                            f"processes.{name} uses {{{ref}}}, but {head} has replicas: there "
                            f"is no one {head} to address; follow the tier through discovery "
                            f"instead (--discovery {{discovery}} --tier "
                            f"{self.processes[head].tier}), as a balancer does"
                        )
                    if attr and head not in spec.depends_on:
                        raise ValueError(
                            f"processes.{name} uses {{{ref}}} but does not depend on {head!r}: "
                            f"add it to depends_on"
                        )
                    if not attr:
                        continue
                    user, used = self.network_of(name), self.network_of(head)
                    engine = self.processes[head].engine is not None
                    if not _reaches(user, used, engine=engine, attr=attr):
                        raise ValueError(
                            f"processes.{name} (network = {user!r}) uses {{{ref}}}, "
                            f"which it cannot reach ({head!r} has network = {used!r}); only "
                            "'edge' and 'private' processes reach 'private' ones, and across "
                            "the subnet's edge an engine is reached only by {dep.url}"
                        )
        return self


def _numbered(name: str, count: int, key: str, what: str) -> list[str]:
    """``name-1`` ... ``name-count``; a ValueError at ``key`` when ``name`` is too long for
    the highest number a set may reach (``name-64`` must be a name too)."""
    longest = f"{name}-{MAX_REPLICAS}"
    if not re.fullmatch(NAME_PATTERN, longest):
        raise ValueError(
            f"{key}: {name!r} is too long a name to number {what} ({longest!r} has more "
            "than 40 characters): shorten it"
        )
    return [f"{name}-{index}" for index in range(1, count + 1)]


def _reaches(user: str, used: str, *, engine: bool, attr: str) -> bool:
    """Whether a process on network ``user`` can connect to what ``{used.attr}`` names
    on network ``used``: a namespace and the host's network meet only through an
    engine's Unix socket (``{dep.url}``)."""
    if user == "host" and used == "edge":
        return True  # by its public address
    if (user == "host") != (used == "host"):
        return engine and attr == "url"
    return True
