"""The private subnet: web servers that only the balancer can reach.

A process with ``network = "private"`` runs in a network namespace of its own,
as if it were a host on a private subnet; one with ``network = "edge"`` (the
balancer) runs in a namespace with a foot on each side: a private address on
that subnet and a public one that the host reaches. The host (the public
side: users, tests, the load generator) has no route into the subnet, so a
web server answers only through the balancer::

      host (public side)                      subnet 10.A.B.0/25 ("lan")
      10.A.B.129 ──veth── 10.A.B.130 [edge: lb] 10.A.B.2 ──┐
                                                   bridge ─┼── 10.A.B.10 [web-1]
      10.A.B.0/25: unreachable                             ├── 10.A.B.11 [web-2]
                                                           └── 10.A.B.12 [web-3]

- The subnet is a bridge in a namespace of its own (``ms-ID-lan``); each
  member's namespace (``ms-ID-NAME``) has one veth on it. ID is a hash of the
  state directory, so two topologies never share names, and the /24 comes
  from the same hash (or ``[topology] private_subnet``).
- The balancer's namespace does not forward packets (``ip_forward = 0``): a
  packet from the public side is answered by the balancer or by nobody.
- The host gets an ``unreachable`` route for the subnet: a connection from
  the public side fails at once with "no route to host", and no packet for
  the subnet ever leaves the machine by its default route.
- The data tier (PostgreSQL, Redis) stays on the host; the processes in the
  namespaces reach it through Unix sockets (a socket file is not bound to a
  network namespace). On separate hosts it would sit on the private subnet.

Without root there are no namespaces: every process listens on loopback, and
the topology says so (:func:`unavailable`). :func:`plan` is pure;
:func:`build` and :func:`teardown` carry a plan out and undo it, idempotently.

**Data centers.** Members in more than one data center (a host's
``datacenter``) are one subnet split in sites: each data center's members are
on a bridge of its own (the first data center's is ``ms-ID-lan``, the others'
``ms-ID-lan-DC``), and each bridge has a port ``wan`` whose other end, in
namespace ``ms-ID-wan``, is a port of the wide-area link
(:mod:`millionscale.chaos.wanlink`: every frame between sites carried after
the topology's ``[wan] latency_ms``). Addresses do not change: a data center
far away is the same subnet, later. :func:`cut` sets a data center's port
down, and its edges' public links: it is lost to the others and to users.

A private member can join or leave while the topology runs (a web server
added by the control endpoint): :func:`with_member` and :func:`without_member`
are pure and give the new plan (a joining member takes the lowest free
address from ``.10`` on); :func:`join` plugs its namespace into the running
bridge and :func:`leave` deletes it (its veth goes with it).
"""

from __future__ import annotations

import hashlib
import ipaddress
import shutil
from collections.abc import Mapping
from pathlib import Path

import structlog
from pydantic import BaseModel, ConfigDict

from millionscale.errors import TopologyError
from millionscale.servers import netns

__all__ = [
    "Member",
    "NetworkPlan",
    "build",
    "cut",
    "is_cut",
    "join",
    "leave",
    "plan",
    "socket_root",
    "teardown",
    "wan_command",
    "with_member",
    "without_member",
]

log = structlog.get_logger()

FIRST_PRIVATE = 10  # web-1 is .10 on the subnet, web-2 .11...
MAX_EDGES = 8  # each edge's private address is .2.., its public /30 in .128-.159
SOCKET_ROOT = Path("/run/millionscale")  # short: a Unix socket path has 107 bytes at most


class Member(BaseModel):
    """One process in a namespace of its own."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str
    namespace: str
    address: str  # on the private subnet
    public_address: str | None  # an edge's address on the public side
    host_address: str | None  # the host's end of an edge's public link
    link: str | None  # an edge's veth on the host (15 bytes at most)
    datacenter: str = "dc1"


class NetworkPlan(BaseModel):
    """Every name and address of one topology's private network."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    id: str
    subnet: str  # the /24 reserved for this topology
    private: str  # the /25 of the private subnet
    switch: str  # the namespace holding the first data center's bridge
    members: list[Member]
    datacenters: list[str] = ["dc1"]  # in the order they first appear
    wan_latency_ms: float = 0.0  # one way, between any two data centers
    wan_jitter_ms: float = 0.0

    def member(self, name: str) -> Member | None:
        return next((m for m in self.members if m.name == name), None)

    @property
    def prefix(self) -> str:
        return f"ms-{self.id}-"

    def switch_of(self, datacenter: str) -> str:
        """The namespace of ``datacenter``'s bridge."""
        if datacenter == self.datacenters[0]:
            return self.switch
        return f"{self.prefix}lan-{datacenter}"

    @property
    def wan(self) -> str | None:
        """The wide-area link's namespace; None with one data center."""
        return f"{self.prefix}wan" if len(self.datacenters) > 1 else None

    def wan_port(self, datacenter: str) -> str:
        """``datacenter``'s port in the link's namespace (15 bytes at most)."""
        return f"site{self.datacenters.index(datacenter)}"


def socket_root(plan_id: str) -> Path:
    """Where the engines of topology ``plan_id`` put their Unix sockets."""
    return SOCKET_ROOT / plan_id


def plan(
    state_dir: Path,
    private: list[str],
    edges: list[str],
    subnet: str | None = None,
    *,
    datacenters: Mapping[str, str] | None = None,
    wan_latency_ms: float = 0.0,
    wan_jitter_ms: float = 0.0,
) -> NetworkPlan:
    """Names and addresses for ``private`` and ``edges`` processes, in that order;
    ``datacenters`` maps a member to its data center (``dc1`` when it has none)."""
    sites = dict(datacenters or {})
    digest = hashlib.sha256(str(state_dir.resolve()).encode()).digest()
    plan_id = digest[:4].hex()
    if subnet is None:  # 10.200.0.0 to 10.239.255.0: clear of Docker's and most LANs'
        subnet = f"10.{200 + digest[4] % 40}.{digest[5]}.0/24"
    network = ipaddress.ip_network(subnet)
    if len(edges) > MAX_EDGES:
        raise TopologyError(
            f"{len(edges)} processes have network = 'edge'; at most {MAX_EDGES}",
            hint="one balancer usually faces the public side",
        )
    if FIRST_PRIVATE + len(private) > 126:
        raise TopologyError(
            f"{len(private)} processes on the private subnet; at most {126 - FIRST_PRIVATE}"
        )
    hosts = list(network.hosts())  # .1 to .254
    members = [
        Member(
            name=name,
            namespace=f"ms-{plan_id}-{name}",
            address=str(hosts[FIRST_PRIVATE - 1 + i]),
            public_address=None,
            host_address=None,
            link=None,
            datacenter=sites.get(name, "dc1"),
        )
        for i, name in enumerate(private)
    ]
    members += [
        Member(
            name=name,
            namespace=f"ms-{plan_id}-{name}",
            address=str(hosts[1 + k]),  # .2, .3...
            public_address=str(hosts[128 + 4 * k + 1]),  # .130 of the /30 .128-.131
            host_address=str(hosts[128 + 4 * k]),
            link=f"ms{plan_id[:6]}e{k}",
            datacenter=sites.get(name, "dc1"),
        )
        for k, name in enumerate(edges)
    ]
    return NetworkPlan(
        id=plan_id,
        subnet=str(network),
        private=str(next(network.subnets(new_prefix=25))),
        switch=f"ms-{plan_id}-lan",
        members=members,
        datacenters=list(dict.fromkeys(m.datacenter for m in members)) or ["dc1"],
        wan_latency_ms=wan_latency_ms,
        wan_jitter_ms=wan_jitter_ms,
    )


def _in(namespace: str, *args: str) -> None:
    netns.ip("-n", namespace, *args)


def build(network: NetworkPlan) -> None:
    """Create the namespaces, the bridge, the links and the host's routes."""
    teardown(network)
    for datacenter in network.datacenters:
        switch = network.switch_of(datacenter)
        netns.ip("netns", "add", switch)
        _in(switch, "link", "set", "lo", "up")
        _in(switch, "link", "add", "lan", "type", "bridge")
        _in(switch, "link", "set", "lan", "up")
    if network.wan is not None:
        netns.ip("netns", "add", network.wan)
        _in(network.wan, "link", "set", "lo", "up")
        for datacenter in network.datacenters:
            switch, port = network.switch_of(datacenter), network.wan_port(datacenter)
            _in(network.wan, "link", "add", port, "type", "veth", "peer", "name", "wan")
            _in(network.wan, "link", "set", "wan", "netns", switch)
            _in(switch, "link", "set", "wan", "master", "lan", "up")
            _in(network.wan, "link", "set", port, "up")
    mask = ipaddress.ip_network(network.private).prefixlen
    for index, member in enumerate(network.members):
        ns, switch = member.namespace, network.switch_of(member.datacenter)
        netns.ip("netns", "add", ns)
        _in(ns, "link", "set", "lo", "up")
        _in(ns, "link", "add", "lan0", "type", "veth", "peer", "name", f"port{index}")
        _in(ns, "link", "set", f"port{index}", "netns", switch)
        _in(switch, "link", "set", f"port{index}", "master", "lan", "up")
        _in(ns, "addr", "add", f"{member.address}/{mask}", "dev", "lan0")
        _in(ns, "link", "set", "lan0", "up")
        if member.link is None:
            continue
        # The edge's public link: its end in the namespace, the other on the host.
        netns.ip("link", "add", member.link, "type", "veth", "peer", "name", "pub0")
        netns.ip("link", "set", "pub0", "netns", ns)
        netns.ip("addr", "add", f"{member.host_address}/30", "dev", member.link)
        netns.ip("link", "set", member.link, "up")
        _in(ns, "addr", "add", f"{member.public_address}/30", "dev", "pub0")
        _in(ns, "link", "set", "pub0", "up")
        netns.set_sysctl(ns, "net/ipv4/ip_forward", "0")
    netns.ip("route", "add", "unreachable", network.private)
    log.info(
        "private network up",
        subnet=network.private,
        members=len(network.members),
        datacenters=network.datacenters,
    )


def wan_command(network: NetworkPlan, python: str) -> list[str] | None:
    """The wide-area link's command line (:mod:`millionscale.chaos.wanlink`), or None
    when the network has one data center."""
    if network.wan is None:
        return None
    return [
        python,
        "-m",
        "millionscale.chaos.wanlink",
        "--namespace",
        network.wan,
        "--latency-ms",
        f"{network.wan_latency_ms:g}",
        "--jitter-ms",
        f"{network.wan_jitter_ms:g}",
        *(network.wan_port(dc) for dc in network.datacenters),
    ]


def cut(network: NetworkPlan, datacenter: str, *, down: bool = True) -> list[str]:
    """Cut ``datacenter`` off (or join it again): its wide-area port, and its edges'
    public links, down (up). The names of the links it set, for a report."""
    if datacenter not in network.datacenters:
        raise TopologyError(
            f"{datacenter!r} is not a data center of this topology "
            f"(data centers: {', '.join(network.datacenters)})"
        )
    if network.wan is None:
        raise TopologyError(
            "this topology has one data center: there is no other side to cut it off from"
        )
    state = "down" if down else "up"
    _in(network.switch_of(datacenter), "link", "set", "wan", state)
    links = [f"{datacenter}:wan"]
    for member in network.members:
        if member.datacenter == datacenter and member.link is not None:
            netns.ip("link", "set", member.link, state)
            links.append(member.link)
    return links


def teardown(network: NetworkPlan) -> None:
    """Remove everything :func:`build` made; what is already gone is skipped."""
    for member in network.members:
        # Deleted with its namespace, but only once nothing refers to that namespace
        # any more, and a socket in TIME_WAIT does for a minute: delete it now.
        if member.link is not None and Path("/sys/class/net", member.link).exists():
            netns.ip("link", "del", member.link)
    for name in netns.namespaces():
        if name.startswith(network.prefix):
            netns.ip("netns", "del", name)
    routes = netns.ip("route", "show", "type", "unreachable", network.private)
    if routes.strip():
        netns.ip("route", "del", "unreachable", network.private)
    shutil.rmtree(socket_root(network.id), ignore_errors=True)  # the engines' socket dirs


def is_cut(network: NetworkPlan, datacenter: str) -> bool:
    """Whether ``datacenter`` is cut off (its wide-area port down), as the kernel says."""
    if network.wan is None or datacenter not in network.datacenters:
        return False
    shown = netns.ip("-n", network.switch_of(datacenter), "-o", "link", "show", "wan")
    flags = shown.partition("<")[2].partition(">")[0].split(",")
    return "UP" not in flags


def with_member(network: NetworkPlan, name: str, datacenter: str = "dc1") -> NetworkPlan:
    """``network`` with one more private member ``name`` in ``datacenter``, at the
    lowest free address."""
    if datacenter not in network.datacenters:
        raise TopologyError(
            f"{datacenter!r} is not a data center of this topology's network",
            hint=f"its data centers: {', '.join(network.datacenters)}",
        )
    if network.member(name) is not None:
        raise TopologyError(f"{name} is already on the private subnet")
    hosts = list(ipaddress.ip_network(network.private).hosts())  # .1 to .126
    used = {m.address for m in network.members}
    free = next((str(h) for h in hosts[FIRST_PRIVATE - 1 :] if str(h) not in used), None)
    if free is None:
        raise TopologyError(
            f"the private subnet {network.private} has no free address left",
            hint="remove a process from it first",
        )
    member = Member(
        name=name,
        namespace=f"{network.prefix}{name}",
        address=free,
        public_address=None,
        host_address=None,
        link=None,
        datacenter=datacenter,
    )
    return network.model_copy(update={"members": [*network.members, member]})


def without_member(network: NetworkPlan, name: str) -> NetworkPlan:
    """``network`` without member ``name`` (unchanged if it has none)."""
    return network.model_copy(update={"members": [m for m in network.members if m.name != name]})


def _switch_port(member: Member) -> str:
    """The bridge's end of a joined member's veth: named by its address (15 bytes at most)."""
    return "join" + member.address.rsplit(".", 1)[1]


def join(network: NetworkPlan, member: Member) -> None:
    """Plug private ``member`` (from :func:`with_member`) into the running subnet."""
    ns, port = member.namespace, _switch_port(member)
    switch = network.switch_of(member.datacenter)
    mask = ipaddress.ip_network(network.private).prefixlen
    leave(member)
    netns.ip("netns", "add", ns)
    _in(ns, "link", "set", "lo", "up")
    _in(ns, "link", "add", "lan0", "type", "veth", "peer", "name", port)
    _in(ns, "link", "set", port, "netns", switch)
    _in(switch, "link", "set", port, "master", "lan", "up")
    _in(ns, "addr", "add", f"{member.address}/{mask}", "dev", "lan0")
    _in(ns, "link", "set", "lan0", "up")
    log.info("joined the private network", member=member.name, address=member.address)


def leave(member: Member) -> None:
    """Delete ``member``'s namespace (and with it its veth); nothing if it is gone."""
    if netns.exists(member.namespace):
        netns.ip("netns", "del", member.namespace)
