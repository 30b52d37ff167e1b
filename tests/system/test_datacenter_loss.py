"""Stage 7 loses a data center under load (topologies/multi-dc.toml, as it runs).

Writers in New York and in Paris, each resolving www.photos.test through the GeoDNS
server with their network as EDNS Client Subnet and keeping the answer for its TTL,
follow users through their data center's edge, every acknowledged follow recorded.
Then us-east, where the primary is, is lost: cut off from the world (`millionscale dc
cut`) and every one of its processes SIGKILLed. Within the health checks' bound
GeoDNS answers New York with eu-west; once their cached answer has expired New York's
writers write again, through eu-west, on a standby the failover monitor promoted;
Paris's never left. Every acknowledged follow is on the new primary.
"""

from __future__ import annotations

import asyncio
import ipaddress
import signal
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import psycopg
import pytest

from conftest import Cli, postgres_urls
from millionscale.geodns.checker import detection_bound_s
from millionscale.geodns.client import UserResolver
from millionscale.servers import cgroups, netns
from millionscale.servers.process import signal_tree
from millionscale.testing import read_topology

pytestmark = [
    pytest.mark.system,
    pytest.mark.skipif(netns.available() is not None, reason="hosts need network namespaces"),
    pytest.mark.skipif(cgroups.detect() not in ("v1", "v2"), reason="hosts need cgroups"),
]

TOPOLOGY = Path(__file__).parents[2] / "topologies" / "multi-dc.toml"
SITE = "www.photos.test"
TTL_S = 10  # www's TTL in topologies/multi-dc/photos.zone.toml
CITIES = {"new-york": "198.18.0.7", "paris": "198.18.1.7"}  # topologies/multi-dc/users.toml
WRITERS_PER_CITY = 3
TARGETS = 2400  # seeded users the writers follow, each one once
PACE_S = 0.1  # each writer writes at most ten times a second
BEFORE_S, AFTER_S = 4.0, TTL_S + 20.0  # load before the loss, and after it
REQUEST_TIMEOUT_S = 2.0
SLACK_S = 4.0  # a loaded 2-core machine: checks and failover run late


@dataclass
class Writer:
    city: str
    name: str
    user_id: int
    cookie: str
    resolver: UserResolver
    acked: list[tuple[float, int]] = field(default_factory=list)  # (when, followee id)
    failed: list[float] = field(default_factory=list)
    via: list[tuple[float, str]] = field(default_factory=list)  # (when, edge address)


def session_cookie(response: httpx.Response) -> str:
    return response.headers["set-cookie"].split(";", 1)[0]


async def write_until(writer: Writer, targets: list[tuple[int, str]], deadline: float) -> None:
    """Follow ``targets`` in turn until ``deadline`` (or they run out); bounded."""
    async with httpx.AsyncClient(timeout=REQUEST_TIMEOUT_S) as client:
        for followee_id, username in targets:
            now = time.monotonic()
            if now >= deadline:
                return
            address = await writer.resolver.address()
            if address is None:
                writer.failed.append(now)
                await asyncio.sleep(0.2)
                continue
            writer.via.append((now, address))
            try:
                response = await client.post(
                    f"http://{address}:8080/api/users/{username}/follow",
                    headers={"Cookie": writer.cookie},
                )
            except httpx.HTTPError:
                writer.failed.append(now)
                continue
            if response.status_code == 204:
                writer.acked.append((time.monotonic(), followee_id))
            else:
                writer.failed.append(now)
            await asyncio.sleep(max(0.0, now + PACE_S - time.monotonic()))


async def poll_answers(resolver: UserResolver, deadline: float) -> list[tuple[float, str]]:
    """A fresh answer for New York every 100 ms (no cache): what new resolutions get."""
    answers = []
    while time.monotonic() < deadline:
        resolver.expires_at = float("-inf")
        address = await resolver.address()
        answers.append((time.monotonic(), address or "-"))
        await asyncio.sleep(0.1)
    return answers


def test_losing_the_primarys_data_center_moves_users_and_loses_no_acknowledged_write(
    cli: Cli,
):
    started = cli.run("up", str(TOPOLOGY), "--detach")
    assert started.returncode == 0, started.stdout + started.stderr
    seeded = cli.run("photos", "seed", "--users", str(TARGETS))
    assert seeded.returncode == 0, seeded.stderr
    topology = read_topology(cli.state_dir)
    dns = topology.process("dns")
    east, west = (topology.process(n).host for n in ("edge-1", "edge-2"))
    us_east = [p for p in topology.processes if p.datacenter == "us-east"]
    assert {p.name for p in us_east} == {"db", "cache-1", "web-1", "lb-1", "edge-1"}

    def resolver(city: str) -> UserResolver:
        return UserResolver(dns.host, dns.ports["main"], ipaddress.ip_address(CITIES[city]), SITE)

    with psycopg.connect(postgres_urls(cli)["db"], autocommit=True) as conn:
        targets = conn.execute(
            "SELECT id, username FROM users WHERE username LIKE 'user%' ORDER BY id"
        ).fetchall()
    assert len(targets) == TARGETS

    writers = []
    for city in CITIES:
        for n in range(WRITERS_PER_CITY):
            home = east if city == "new-york" else west
            name = f"{city.replace('-', '')}{n}"
            signup = httpx.post(
                f"http://{home}:8080/api/signup",
                json={"username": name, "password": "correct horse 9"},
                timeout=30,
            )
            assert signup.status_code == 201, signup.text
            writers.append(
                Writer(city, name, signup.json()["id"], session_cookie(signup), resolver(city))
            )

    async def run() -> tuple[float, list[tuple[float, str]]]:
        began = time.monotonic()
        deadline = began + BEFORE_S + AFTER_S
        share = len(targets) // len(writers)
        load = [
            asyncio.create_task(write_until(w, targets[i * share : (i + 1) * share], deadline))
            for i, w in enumerate(writers)
        ]
        await asyncio.sleep(BEFORE_S)
        lost_at = time.monotonic()
        polling = asyncio.create_task(poll_answers(resolver("new-york"), deadline))
        cut = await asyncio.to_thread(cli.run, "dc", "cut", "us-east")
        assert cut.returncode == 0, cut.stderr
        for process in us_east:
            pid = cli.process(process.name)["pid"]
            if pid:
                signal_tree(pid, signal.SIGKILL)
        await asyncio.gather(*load)
        return lost_at, await polling

    lost_at, answers = asyncio.run(run())

    # Before the loss every city wrote through its own data center.
    for writer in writers:
        before = {a for t, a in writer.via if t < lost_at}
        assert before == {east if writer.city == "new-york" else west}, writer.name
        assert any(t < lost_at for t, _ in writer.acked), f"{writer.name} wrote nothing before"

    # New resolutions avoid us-east within the checks' bound, and keep avoiding it.
    moved = next(t for t, a in answers if a == west) - lost_at
    assert moved <= detection_bound_s() + SLACK_S, answers[:60]
    assert all(a == west for t, a in answers if t - lost_at > moved + 1.0), answers

    # Every writer wrote again through eu-west: New York's once its answer expired.
    for writer in writers:
        again = [t for t, _ in writer.acked if t > lost_at]
        assert again, f"{writer.name} never wrote again ({len(writer.failed)} failed)"
        resumed = again[0] - lost_at
        bound = TTL_S + detection_bound_s() + SLACK_S if writer.city == "new-york" else 15.0
        assert resumed <= bound, (writer.name, resumed)
        assert {a for t, a in writer.via if t > lost_at + TTL_S + moved + 1.0} == {west}

    # Not one acknowledged follow lost, on the primary the monitor promoted.
    primary = cli.status()["processes"]
    promoted = next(p["name"] for p in primary if p.get("role") == "primary")
    assert promoted in ("db-r1", "db-r2")
    acked = {(w.user_id, followee) for w in writers for _, followee in w.acked}
    with psycopg.connect(postgres_urls(cli)[promoted], autocommit=True) as conn:
        stored = set(
            conn.execute(
                "SELECT follower_id, followee_id FROM follows WHERE follower_id = ANY(%s)",
                ([w.user_id for w in writers],),
            ).fetchall()
        )
    assert len(acked) > 100
    assert acked - stored == set()
