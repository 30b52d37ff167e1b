"""Stage 8 (topologies/queued.toml) is stage 6 with a NATS broker and two workers, each on
a host of the one size; the broker sits alone on a private host, and its URL (its token)
is given to the web server and the workers only."""

from __future__ import annotations

from pathlib import Path

import pytest
from factories import resolved

from millionscale.topology.load import load_topology

TOPOLOGIES = Path(__file__).parents[2] / "topologies"
QUEUED = TOPOLOGIES / "queued.toml"
HOST_SIZE = (0.25, 1024**3)  # docs/topology.md, "Hosts"
WORKER_COMMAND = [
    "{python}", "-m", "millionscale.queue", "--tasks", "millionscale.photos.jobs:tasks",
    "--host", "{host}", "--port", "{port}", "--name", "{name}",
]  # fmt: skip


def test_it_is_stage_6_with_a_broker_and_workers_added():
    stage6, stage8 = load_topology(TOPOLOGIES / "cdn.toml"), load_topology(QUEUED)

    assert (stage6.topology.stage, stage8.topology.stage) == (6, 8)
    assert set(stage8.processes) - set(stage6.processes) == {"queue", "worker", "autoscaler"}
    assert set(stage8.hosts) - set(stage6.hosts) == {"queue", "worker"}
    for name, process in stage6.processes.items():
        if name != "web":
            assert stage8.processes[name] == process, name
    assert stage8.hosts.items() >= stage6.hosts.items()


def test_the_web_server_gets_the_queue_and_its_queued_mode_on_top_of_stage_6():
    stage6, stage8 = load_topology(TOPOLOGIES / "cdn.toml"), load_topology(QUEUED)
    before, web = stage6.processes["web"], stage8.processes["web"]

    assert web.env == before.env | {"QUEUE_URL": "{queue.url}"}
    assert web.depends_on == [*before.depends_on, "queue"]
    assert web.command == before.command


def test_the_broker_is_nats_in_tier_queue_alone_on_a_private_host():
    topology = load_topology(QUEUED)
    broker = topology.processes["queue"]

    assert (broker.engine, broker.tier, broker.host) == ("nats", "queue", "queue")
    assert [n for n, p in topology.processes.items() if p.host == "queue"] == [
        "queue",
        "autoscaler",
    ]
    assert topology.hosts["queue"].network == "private"


def test_two_workers_run_the_photo_tasks_with_what_the_web_server_gets():
    topology = load_topology(QUEUED)
    worker, web = topology.processes["worker"], topology.processes["web"]

    assert (worker.tier, worker.replicas, worker.command) == ("worker", 2, WORKER_COMMAND)
    assert worker.env["QUEUE_URL"] == "{queue.url}"
    for name in ("DATABASE_URL", "DATABASE_DISCOVERY", "MEDIA_DIR", "CACHE_URL"):
        assert worker.env[name] == web.env[name], name  # the primary wherever it moves
    assert worker.readiness.http == "/readyz"
    assert "queue" in worker.depends_on
    assert worker.restart.stop_timeout_s > 10  # past the worker's own 10 s shutdown


def test_every_host_is_of_the_one_size_and_only_the_edges_face_the_public_side(
    tmp_path, monkeypatch
):
    topology = resolved(load_topology(QUEUED), tmp_path / "state", hosts=monkeypatch)

    assert {(h.cpus, h.memory_bytes) for h in topology.hosts} == {HOST_SIZE}
    assert len(topology.hosts) == 12
    assert [p.name for p in topology.processes if p.on_host is None] == []
    assert [h.name for h in topology.hosts if h.network == "edge"] == ["edge-1", "edge-2"]
    workers = [p for p in topology.processes if p.tier == "worker"]
    assert [(p.name, p.on_host) for p in workers] == [
        ("worker-1", "worker-1"),
        ("worker-2", "worker-2"),
    ]


def test_only_the_web_server_the_workers_and_their_autoscaler_hold_the_brokers_token(
    tmp_path, monkeypatch
):
    topology = resolved(load_topology(QUEUED), tmp_path / "state", hosts=monkeypatch)
    broker = topology.process("queue")
    url = f"nats://{broker.secret}@{broker.host}:{broker.ports['main']}"

    holders = [
        p.name
        for p in topology.processes
        if p.name != "queue"
        and any(broker.secret in value for value in [*p.env.values(), *(p.argv or [])])
    ]

    assert holders == ["web", "worker-1", "worker-2", "autoscaler"]
    assert {topology.process(n).env["QUEUE_URL"] for n in holders} == {url}


@pytest.mark.parametrize("name", ["web", "worker-1", "worker-2"])
def test_the_broker_is_reached_by_address_on_the_private_subnet(name, tmp_path, monkeypatch):
    topology = resolved(load_topology(QUEUED), tmp_path / "state", hosts=monkeypatch)
    broker, client = topology.process("queue"), topology.process(name)

    assert broker.netns is not None
    assert client.netns not in (None, broker.netns)  # another host: by address, as machines
    assert f"@{broker.host}:" in client.env["QUEUE_URL"]


def test_the_autoscaler_scales_the_workers_through_the_supervisor_within_bounds():
    autoscaler = load_topology(QUEUED).processes["autoscaler"]

    argv = autoscaler.command
    assert argv is not None
    assert argv[argv.index("--workers") + 1] == "worker"
    assert argv[argv.index("--discovery") + 1] == "{discovery}"
    assert (argv[argv.index("--min") + 1], argv[argv.index("--max") + 1]) == ("1", "3")
