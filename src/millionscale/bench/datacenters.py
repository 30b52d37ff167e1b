"""Stage 7 under its users: where GeoDNS sends them, what it saves them, and a data center lost.

Users of ``topologies/multi-dc.toml`` stand in two cities, New York and Paris
(the networks of ``topologies/multi-dc/users.toml``). Each has a
:class:`Writer`: an account, a session cookie, and its own caching resolver
(:class:`~millionscale.geodns.client.UserResolver`, its city's subnet as EDNS
Client Subnet, each answer kept for its TTL).

- :func:`user_latency` is what geo-routing buys: the users' requests go
  through fault proxies that put each city at a distance from each data
  center (:data:`USER_LATENCY_MS`, one way: the kernel here has no netem),
  once to the data center GeoDNS names (``geo``) and once all to us-east, as
  a site in one data center (``one-dc``); each request's time is kept.
- :func:`lose` and :func:`loss_drill` are a data center's death under writes:
  the writers follow users in turn; at a moment the data center is cut off
  (:func:`millionscale.topology.network.cut`) and every one of its processes
  SIGKILLed; a poller asks GeoDNS for New York's answer every 100 ms,
  uncached. The result says when new resolutions avoided the lost data
  center, when each writer wrote again, and every follow acknowledged.

The system test (``tests/system/test_datacenter_loss.py``) asserts on a drill;
``bench/datacenters.py`` stores its figures and the latencies.
"""

from __future__ import annotations

import asyncio
import ipaddress
import signal
import statistics
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import AsyncExitStack
from dataclasses import dataclass, field
from typing import Any

import httpx
import psycopg

from millionscale.chaos.faults import Faults, Link
from millionscale.chaos.proxy import FaultProxy
from millionscale.geodns.client import UserResolver
from millionscale.servers.process import signal_tree
from millionscale.topology.network import cut
from millionscale.topology.resolve import ResolvedTopology
from millionscale.topology.state import StateDir

__all__ = [
    "CITIES",
    "SITE",
    "USER_LATENCY_MS",
    "Drill",
    "Writer",
    "geo_sentence",
    "lose",
    "loss_drill",
    "sign_up",
    "targets",
    "user_latency",
]

SITE = "www.photos.test"
CITIES = {"new-york": "198.18.0.7", "paris": "198.18.1.7"}  # topologies/multi-dc/users.toml
HOME = {"new-york": "us-east", "paris": "eu-west"}  # each city's nearest data center
# One way, from a city's users to a data center: a few ms to the one in their region,
# 40 ms across the Atlantic (New York to Dublin is about 5,100 km: 25 ms at the speed
# of light in fibre, 35 to 45 ms on real routes).
USER_LATENCY_MS = {
    ("new-york", "us-east"): 5.0,
    ("new-york", "eu-west"): 40.0,
    ("paris", "eu-west"): 5.0,
    ("paris", "us-east"): 40.0,
}
PASSWORD = "correct horse 9"
REQUEST_TIMEOUT_S = 2.0
PACE_S = 0.1  # a writer's requests start at least this far apart


@dataclass
class Writer:
    """A user in ``city``, logged in, with its own resolver; what it did and when."""

    city: str
    name: str
    user_id: int
    cookie: str
    resolver: UserResolver
    acked: list[tuple[float, int]] = field(default_factory=list)  # (when, followee id)
    failed: list[float] = field(default_factory=list)
    via: list[tuple[float, str]] = field(default_factory=list)  # (when, edge address)

    def acked_after(self, at: float) -> list[float]:
        return [t for t, _ in self.acked if t > at]


def edges(topology: ResolvedTopology) -> dict[str, str]:
    """Each data center's way in, ``host:port`` by data center: its first CDN edge (the
    address GeoDNS answers for it), else its first balancer."""
    found: dict[str, str] = {}
    for role in ("edge", "balancer"):
        for process in topology.processes:
            if process.role == role and process.netns is not None:
                found.setdefault(process.datacenter, f"{process.host}:{process.ports['main']}")
    return found


def _host(address: str) -> str:
    return address.rsplit(":", 1)[0]


def resolver_for(topology: ResolvedTopology, city: str) -> UserResolver:
    dns = topology.process("dns")
    return UserResolver(dns.host, dns.ports["main"], ipaddress.ip_address(CITIES[city]), SITE)


def sign_up(topology: ResolvedTopology, per_city: int, suffix: str = "") -> list[Writer]:
    """``per_city`` new users in each city (``newyork0``..., ``paris0``..., then
    ``suffix``), signed up at their home data center's edge."""
    at = edges(topology)
    writers = []
    for city in CITIES:
        for n in range(per_city):
            name = f"{city.replace('-', '')}{n}{suffix}"
            response = httpx.post(
                f"http://{at[HOME[city]]}/api/signup",
                json={"username": name, "password": PASSWORD},
                timeout=30,
            )
            if response.status_code != 201:
                raise RuntimeError(f"signing up {name}: {response.status_code} {response.text}")
            cookie = response.headers["set-cookie"].split(";", 1)[0]
            writers.append(
                Writer(city, name, response.json()["id"], cookie, resolver_for(topology, city))
            )
    return writers


def targets(database_url: str) -> list[tuple[int, str]]:
    """The seeded users (``user00000``...), to be followed: ``(id, username)``."""
    with psycopg.connect(database_url, autocommit=True) as conn:
        rows = conn.execute(
            "SELECT id, username FROM users WHERE username LIKE 'user%' ORDER BY id"
        ).fetchall()
    return [(int(i), str(u)) for i, u in rows]


# -- what geo-routing buys -----------------------------------------------------------


async def _timed(client: httpx.AsyncClient, method: str, url: str, cookie: str) -> float | None:
    started = time.perf_counter()
    try:
        response = await client.request(method, url, headers={"Cookie": cookie})
    except httpx.HTTPError:
        return None
    if response.status_code >= 400:
        return None
    return (time.perf_counter() - started) * 1000


async def user_latency(
    topology: ResolvedTopology,
    writers: Sequence[Writer],
    follow: Sequence[tuple[int, str]],
    *,
    seconds: float,
    say: Callable[[str], None] = lambda _s: None,
) -> dict[str, Any]:
    """Each city's read and write latencies (ms), ``geo`` and ``one-dc``; see the module."""
    at = edges(topology)
    by_address = {_host(address): dc for dc, address in at.items()}
    figures: dict[str, Any] = {}
    async with AsyncExitStack() as stack:
        proxies: dict[tuple[str, str], FaultProxy] = {}
        for (city, dc), one_way in USER_LATENCY_MS.items():
            link = Link(latency_s=one_way / 1000)
            host, port = at[dc].rsplit(":", 1)
            proxy = FaultProxy(
                (host, int(port)), faults=Faults.both_ways(link), name=f"{city}-{dc}"
            )
            await proxy.start()
            stack.push_async_callback(proxy.stop)
            proxies[(city, dc)] = proxy
        queue = iter(follow)
        for mode in ("geo", "one-dc"):
            samples: dict[tuple[str, str], list[float]] = {}
            deadline = time.monotonic() + seconds
            failed = await asyncio.gather(
                *(_browse(w, mode, proxies, by_address, queue, samples, deadline) for w in writers)
            )
            figures[mode] = {
                "failures": sum(failed),
                **{
                    f"{city}.{kind}": _percentiles(values)
                    for (city, kind), values in sorted(samples.items())
                },
            }
            say(f"{mode}: {_line(figures[mode])}")
    return figures


async def _browse(
    writer: Writer,
    mode: str,
    proxies: dict[tuple[str, str], FaultProxy],
    by_address: dict[str, str],
    follow: Iterator[tuple[int, str]],
    samples: dict[tuple[str, str], list[float]],
    deadline: float,
) -> int:
    """One user's requests until ``deadline``: three timeline reads, then a follow, in
    turn; each one's time into ``samples`` by (city, read or write). The failures."""
    failures = count = 0
    async with httpx.AsyncClient(timeout=REQUEST_TIMEOUT_S) as client:
        while time.monotonic() < deadline:
            began = time.monotonic()
            dc = "us-east"  # one-dc: every user to the one data center
            if mode == "geo":
                dc = by_address.get(await writer.resolver.address() or "", dc)
            base = f"http://{proxies[(writer.city, dc)].address}"
            count += 1
            target = next(follow, None) if count % 4 == 0 else None
            if target is None:
                kind, method, path = "read", "GET", "/api/timeline"
            else:
                kind, method, path = "write", "POST", f"/api/users/{target[1]}/follow"
            took = await _timed(client, method, base + path, writer.cookie)
            if took is None:
                failures += 1
            else:
                samples.setdefault((writer.city, kind), []).append(took)
            await asyncio.sleep(max(0.0, began + 2 * PACE_S - time.monotonic()))
    return failures


def _percentiles(values: list[float]) -> dict[str, float | int]:
    ordered = sorted(values)
    return {
        "count": len(ordered),
        "p50": round(statistics.median(ordered), 2),
        "p99": round(ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))], 2),
    }


def _line(mode: dict[str, Any]) -> str:
    parts = [
        f"{key} p50 {value['p50']:.1f} ms, p99 {value['p99']:.1f} ms"
        for key, value in mode.items()
        if isinstance(value, dict)
    ]
    return "; ".join(parts) + f"; {mode['failures']} failed"


# -- a data center lost under writes ------------------------------------------------


def lose(topology: ResolvedTopology, state: StateDir, datacenter: str) -> list[str]:
    """Cut ``datacenter`` off and SIGKILL every process standing there; the names killed."""
    if topology.network is None:
        raise RuntimeError("this topology has no network to cut")
    cut(topology.network, datacenter)
    published = state.read_state() or {"processes": []}
    pids = {p["name"]: p.get("pid") for p in published["processes"]}
    killed = []
    for process in topology.processes:
        pid = pids.get(process.name)
        if process.datacenter == datacenter and pid:
            signal_tree(pid, signal.SIGKILL)
            killed.append(process.name)
    return killed


@dataclass
class Drill:
    """What a :func:`loss_drill` saw; times are ``time.monotonic()``."""

    lost: str
    lost_at: float
    killed: list[str]
    writers: list[Writer]
    answers: list[tuple[float, str]]  # New York's fresh answers, every 100 ms
    survivor: str  # the edge address of the data center that remains

    def moved_s(self) -> float | None:
        """From the loss to the first fresh answer naming the survivor."""
        first = next((t for t, a in self.answers if a == self.survivor), None)
        return None if first is None else first - self.lost_at

    def resumed_s(self, writer: Writer) -> float | None:
        """From the loss to the writer's first acknowledged write after it."""
        again = writer.acked_after(self.lost_at)
        return None if not again else again[0] - self.lost_at

    def acked(self) -> set[tuple[int, int]]:
        """Every acknowledged follow: (follower id, followee id)."""
        return {(w.user_id, followee) for w in self.writers for _, followee in w.acked}

    def summary(self) -> dict[str, Any]:
        by_city: dict[str, list[float]] = {}
        for writer in self.writers:
            resumed = self.resumed_s(writer)
            if resumed is not None:
                by_city.setdefault(writer.city, []).append(resumed)
        return {
            "lost": self.lost,
            "killed": self.killed,
            "moved_s": None if (m := self.moved_s()) is None else round(m, 3),
            "resumed_s": {
                city: {"first": round(min(v), 3), "last": round(max(v), 3)}
                for city, v in by_city.items()
            },
            "writers_resumed": sum(1 for w in self.writers if self.resumed_s(w) is not None),
            "writers": len(self.writers),
            "acked": len(self.acked()),
            "failed": sum(len(w.failed) for w in self.writers),
        }


async def _write_until(
    writer: Writer, ports: dict[str, str], follow: Sequence[tuple[int, str]], deadline: float
) -> None:
    async with httpx.AsyncClient(timeout=REQUEST_TIMEOUT_S) as client:
        for followee_id, username in follow:
            now = time.monotonic()
            if now >= deadline:
                return
            address = await writer.resolver.address()
            if address is None:
                writer.failed.append(now)
            else:
                writer.via.append((now, address))
                try:
                    response = await client.post(
                        f"http://{address}:{ports.get(address, '80')}/api/users/{username}/follow",
                        headers={"Cookie": writer.cookie},
                    )
                    if response.status_code == 204:
                        writer.acked.append((time.monotonic(), followee_id))
                    else:
                        writer.failed.append(now)
                except httpx.HTTPError:
                    writer.failed.append(now)
            await asyncio.sleep(max(0.0, now + PACE_S - time.monotonic()))


async def _fresh_answers(resolver: UserResolver, deadline: float) -> list[tuple[float, str]]:
    answers = []
    while time.monotonic() < deadline:
        resolver.expires_at = float("-inf")  # never from the cache: what a new resolver gets
        failures = resolver.failures
        address = await resolver.address()
        # A query unanswered is "-", not the stale address the resolver would keep.
        answers.append((time.monotonic(), "-" if resolver.failures > failures else address or "-"))
        await asyncio.sleep(0.1)
    return answers


async def loss_drill(
    topology: ResolvedTopology,
    state: StateDir,
    writers: list[Writer],
    follow: Sequence[tuple[int, str]],
    *,
    before_s: float,
    after_s: float,
    datacenter: str = "us-east",
) -> Drill:
    """Write for ``before_s``, lose ``datacenter``, write on for ``after_s``; see the module."""
    share = len(follow) // len(writers)
    at = edges(topology)
    ports = {_host(a): a.rsplit(":", 1)[1] for a in at.values()}
    began = time.monotonic()
    deadline = began + before_s + after_s
    load = [
        asyncio.create_task(_write_until(w, ports, follow[i * share : (i + 1) * share], deadline))
        for i, w in enumerate(writers)
    ]
    await asyncio.sleep(before_s)
    lost_at = time.monotonic()
    polling = asyncio.create_task(_fresh_answers(resolver_for(topology, "new-york"), deadline))
    killed = await asyncio.to_thread(lose, topology, state, datacenter)
    await asyncio.gather(*load)
    survivor = next(_host(a) for dc, a in at.items() if dc != datacenter)
    return Drill(datacenter, lost_at, killed, writers, await polling, survivor)


def geo_sentence(
    topology: ResolvedTopology, writers: Sequence[Writer], figures: dict[str, Any]
) -> str:
    """One line for a report: where each city was sent, and its reads' medians both ways."""
    names = {f"{p.host}": p.name for p in topology.processes if p.role == "edge"}
    sent = " and ".join(
        f"users in {w.city} to {names.get(w.resolver.cached or '', w.resolver.cached)}"
        for w in {w.city: w for w in writers}.values()
    )
    reads = ", ".join(
        f"{city} {figures['geo'][f'{city}.read']['p50']:.0f} ms "
        f"(all in us-east: {figures['one-dc'][f'{city}.read']['p50']:.0f} ms)"
        for city in CITIES
        if f"{city}.read" in figures["geo"] and f"{city}.read" in figures["one-dc"]
    )
    near, far = USER_LATENCY_MS[("paris", "eu-west")], USER_LATENCY_MS[("paris", "us-east")]
    return (
        f"GeoDNS sent {sent}; timeline reads, median: {reads} "
        f"(users {near:g} ms one way from the data center of their region, "
        f"{far:g} ms from the other)"
    )
