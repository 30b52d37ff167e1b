"""The stage topologies run on hosts of one size, and each stage fits on the machine
with room left for the load generator and the supervisor (which run on no host)."""

from __future__ import annotations

from pathlib import Path

import pytest

from millionscale.topology.load import load_topology

TOPOLOGIES = Path(__file__).parents[2] / "topologies"
STAGES_ON_HOSTS = ("single-server", "separate-db", "load-balanced", "replicated", "cached")
MACHINE_CORES = 2  # the machine the stages are measured on (bench/results/*.json "cpus")
OUTSIDE_HOSTS_CORES = 0.5  # ours: the load generator and the supervisor, unlimited
HOST_SIZE = (0.25, 1024**3)  # docs/topology.md, "Hosts": the size and why


@pytest.mark.parametrize("stage", STAGES_ON_HOSTS)
def test_every_process_of_a_stage_is_on_a_host_of_the_one_size(stage: str):
    topology = load_topology(TOPOLOGIES / f"{stage}.toml")

    assert {(h.cpus, h.memory) for h in topology.hosts.values()} == {HOST_SIZE}
    assert [n for n, p in topology.processes.items() if p.host is None] == []
    assert sum(h.cpus for h in topology.hosts.values()) <= MACHINE_CORES - OUTSIDE_HOSTS_CORES


def test_the_demo_runs_every_process_on_a_host_of_the_one_size():
    # The whole system: its quotas add up to more than the machine (4.75 cores), as a
    # cloud's do, because its standbys, monitor, sessions' Redis, broker, GeoDNS and
    # eu-west mostly idle. Users come in at the CDN's edges, asking GeoDNS which: the
    # only hosts facing the public side.
    topology = load_topology(TOPOLOGIES / "demo.toml")

    assert {(h.cpus, h.memory) for h in topology.hosts.values()} == {HOST_SIZE}
    assert [n for n, p in topology.processes.items() if p.host is None] == []
    public = [n for n, h in topology.hosts.items() if h.network == "edge"]
    assert public == ["edge-1", "edge-2", "edge-3", "dns"]
    assert topology.processes["lb"].host == "balancer"
    assert [p.role for p in topology.processes.values() if p.tier == "cdn"] == [
        "shield",
        "edge",
        "edge",
        "edge",
    ]
    assert sum(h.cpus for h in topology.hosts.values()) == 4.75  # worker: a template, one
    # Stage 7: every host in a data center; the standbys outside the primary's.
    sites = {n: h.datacenter for n, h in topology.hosts.items()}
    assert set(sites.values()) == {"us-east", "eu-west", "witness"}
    assert (sites["db-1"], sites["db-2"], sites["db-3"]) == ("us-east", "eu-west", "witness")


def test_the_demo_runs_the_queue_tier_as_stage_8_does():
    demo, stage8 = (
        load_topology(TOPOLOGIES / "demo.toml"),
        load_topology(TOPOLOGIES / "queued.toml"),
    )
    broker, worker = demo.processes["queue"], demo.processes["worker"]

    assert (broker.engine, broker.host) == ("nats", "queue")
    assert [n for n, p in demo.processes.items() if p.host == "queue"] == ["queue", "autoscaler"]
    assert (worker.tier, worker.host, worker.replicas) == ("worker", "worker", 1)
    assert (worker.command, worker.env) == (
        stage8.processes["worker"].command,
        stage8.processes["worker"].env,
    )
    for name in ("web-1", "web-2"):
        assert demo.processes[name].env["QUEUE_URL"] == "{queue.url}"
        assert "queue" in demo.processes[name].depends_on
    argv = demo.processes["autoscaler"].command or []
    assert argv[argv.index("--workers") + 1] == "worker"
    assert (argv[argv.index("--min") + 1], argv[argv.index("--max") + 1]) == ("1", "2")


@pytest.mark.parametrize("stage", STAGES_ON_HOSTS)
def test_one_host_faces_the_public_side_and_it_is_where_users_come_in(stage: str):
    topology = load_topology(TOPOLOGIES / f"{stage}.toml")

    edges = [name for name, host in topology.hosts.items() if host.network == "edge"]
    assert len(edges) == 1
    entry = "lb" if "lb" in topology.processes else "web"
    assert topology.processes[entry].host == edges[0]


@pytest.mark.parametrize("stage", STAGES_ON_HOSTS[1:])  # single-server: one host for all
def test_a_database_host_runs_its_database_and_nothing_else(stage: str):
    topology = load_topology(TOPOLOGIES / f"{stage}.toml")
    nodes = [name for name, p in topology.processes.items() if p.engine == "postgres"]

    for node in nodes:
        db_host = topology.processes[node].host
        assert [n for n, p in topology.processes.items() if p.host == db_host] == [node]
        assert topology.hosts[db_host or ""].network == "private"
