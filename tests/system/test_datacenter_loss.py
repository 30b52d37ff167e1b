"""Stage 7 loses a data center under load (topologies/multi-dc.toml, as it runs).

Writers in New York and in Paris, each resolving www.photos.test through the GeoDNS
server with their network as EDNS Client Subnet and keeping the answer for its TTL,
follow users through their data center's edge, every acknowledged follow recorded
(:func:`millionscale.bench.datacenters.loss_drill`). Then us-east, where the primary
is, is lost: cut off from the world and every one of its processes SIGKILLed. Within
the health checks' bound GeoDNS answers New York with eu-west; once their cached
answer has expired New York's writers write again, through eu-west, on a standby the
failover monitor promoted; Paris's never left. Every acknowledged follow is on the
new primary.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import psycopg
import pytest

from conftest import Cli, postgres_urls
from millionscale.bench.datacenters import loss_drill, sign_up, targets
from millionscale.geodns.checker import detection_bound_s
from millionscale.servers import cgroups, netns
from millionscale.testing import read_topology
from millionscale.topology.state import StateDir

pytestmark = [
    pytest.mark.system,
    pytest.mark.skipif(netns.available() is not None, reason="hosts need network namespaces"),
    pytest.mark.skipif(cgroups.detect() not in ("v1", "v2"), reason="hosts need cgroups"),
]

TOPOLOGY = Path(__file__).parents[2] / "topologies" / "multi-dc.toml"
TTL_S = 10  # www's TTL in topologies/multi-dc/photos.zone.toml
SEEDED = 2400  # users to follow, each writer its own share, each one once
SLACK_S = 4.0  # a loaded 2-core machine: checks and failover run late


def test_losing_the_primarys_data_center_moves_users_and_loses_no_acknowledged_write(
    cli: Cli,
):
    started = cli.run("up", str(TOPOLOGY), "--detach")
    assert started.returncode == 0, started.stdout + started.stderr
    assert cli.run("photos", "seed", "--users", str(SEEDED)).returncode == 0
    topology = read_topology(cli.state_dir)
    writers = sign_up(topology, per_city=3)
    follow = targets(postgres_urls(cli)["db"])
    assert len(follow) == SEEDED
    # A person asks as a user in Paris would: the running topology's server, found.
    asked = cli.run("dns", "query", "www.photos.test", "--from", "198.18.1.7")
    assert asked.returncode == 0, asked.stderr
    assert f"IN A {topology.process('edge-2').host}" in asked.stdout

    drill = asyncio.run(
        loss_drill(
            topology, StateDir(cli.state_dir), writers, follow, before_s=4.0, after_s=TTL_S + 20
        )
    )

    assert sorted(drill.killed) == ["cache-1", "db", "edge-1", "lb-1", "web-1"]
    east = next(p.host for p in topology.processes if p.name == "edge-1")
    # Before the loss every city wrote through its own data center.
    for writer in writers:
        before = {a for t, a in writer.via if t < drill.lost_at}
        assert before == {east if writer.city == "new-york" else drill.survivor}, writer.name
        assert any(t < drill.lost_at for t, _ in writer.acked), f"{writer.name} wrote nothing"

    # New resolutions avoid us-east within the checks' bound,
    moved = drill.moved_s()
    assert moved is not None, drill.answers[-5:]
    assert moved <= detection_bound_s() + SLACK_S, drill.summary()
    # and keep avoiding it ("-": a query unanswered in time on this loaded machine).
    later = [(t - drill.lost_at, a) for t, a in drill.answers if t - drill.lost_at > moved + 1.0]
    assert [a for _, a in later].count(drill.survivor) > len(later) // 2, later
    back = [(round(t, 1), a) for t, a in later if a not in (drill.survivor, "-")]
    assert not back, (moved, back, drill.summary())

    # Every writer wrote again through eu-west: New York's once its answer expired.
    for writer in writers:
        resumed = drill.resumed_s(writer)
        assert resumed is not None, f"{writer.name} never wrote again ({len(writer.failed)} failed)"
        bound = TTL_S + detection_bound_s() + SLACK_S if writer.city == "new-york" else 15.0
        assert resumed <= bound, drill.summary()
        settled = drill.lost_at + TTL_S + moved + 1.0
        assert {a for t, a in writer.via if t > settled} == {drill.survivor}, writer.name

    # Not one acknowledged follow lost, on the primary the monitor promoted.
    promoted = next(p["name"] for p in cli.status()["processes"] if p.get("role") == "primary")
    assert promoted in ("db-r1", "db-r2")
    with psycopg.connect(postgres_urls(cli)[promoted], autocommit=True) as conn:
        stored = set(
            conn.execute(
                "SELECT follower_id, followee_id FROM follows WHERE follower_id = ANY(%s)",
                ([w.user_id for w in writers],),
            ).fetchall()
        )
    acked = drill.acked()
    assert len(acked) > 100
    assert acked - stored == set()
