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
from pathlib import Path

import structlog
from pydantic import BaseModel, ConfigDict

from millionscale.errors import TopologyError
from millionscale.servers import netns

__all__ = [
    "Member",
    "NetworkPlan",
    "build",
    "join",
    "leave",
    "plan",
    "socket_root",
    "teardown",
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


class NetworkPlan(BaseModel):
    """Every name and address of one topology's private network."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    id: str
    subnet: str  # the /24 reserved for this topology
    private: str  # the /25 of the private subnet
    switch: str  # the namespace holding the bridge
    members: list[Member]

    def member(self, name: str) -> Member | None:
        return next((m for m in self.members if m.name == name), None)

    @property
    def prefix(self) -> str:
        return f"ms-{self.id}-"


def socket_root(plan_id: str) -> Path:
    """Where the engines of topology ``plan_id`` put their Unix sockets."""
    return SOCKET_ROOT / plan_id


def plan(
    state_dir: Path, private: list[str], edges: list[str], subnet: str | None = None
) -> NetworkPlan:
    """Names and addresses for ``private`` and ``edges`` processes, in that order."""
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
        )
        for k, name in enumerate(edges)
    ]
    return NetworkPlan(
        id=plan_id,
        subnet=str(network),
        private=str(next(network.subnets(new_prefix=25))),
        switch=f"ms-{plan_id}-lan",
        members=members,
    )


def _in(namespace: str, *args: str) -> None:
    netns.ip("-n", namespace, *args)


def build(network: NetworkPlan) -> None:
    """Create the namespaces, the bridge, the links and the host's routes."""
    teardown(network)
    netns.ip("netns", "add", network.switch)
    _in(network.switch, "link", "set", "lo", "up")
    _in(network.switch, "link", "add", "lan", "type", "bridge")
    _in(network.switch, "link", "set", "lan", "up")
    mask = ipaddress.ip_network(network.private).prefixlen
    for index, member in enumerate(network.members):
        ns = member.namespace
        netns.ip("netns", "add", ns)
        _in(ns, "link", "set", "lo", "up")
        _in(ns, "link", "add", "lan0", "type", "veth", "peer", "name", f"port{index}")
        _in(ns, "link", "set", f"port{index}", "netns", network.switch)
        _in(network.switch, "link", "set", f"port{index}", "master", "lan", "up")
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
    log.info("private network up", subnet=network.private, members=len(network.members))


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


def with_member(network: NetworkPlan, name: str) -> NetworkPlan:
    """``network`` with one more private member ``name``, at the lowest free address."""
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
    mask = ipaddress.ip_network(network.private).prefixlen
    leave(member)
    netns.ip("netns", "add", ns)
    _in(ns, "link", "set", "lo", "up")
    _in(ns, "link", "add", "lan0", "type", "veth", "peer", "name", port)
    _in(ns, "link", "set", port, "netns", network.switch)
    _in(network.switch, "link", "set", port, "master", "lan", "up")
    _in(ns, "addr", "add", f"{member.address}/{mask}", "dev", "lan0")
    _in(ns, "link", "set", "lan0", "up")
    log.info("joined the private network", member=member.name, address=member.address)


def leave(member: Member) -> None:
    """Delete ``member``'s namespace (and with it its veth); nothing if it is gone."""
    if netns.exists(member.namespace):
        netns.ip("netns", "del", member.namespace)
