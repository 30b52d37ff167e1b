"""The workers' autoscaler, run by the supervisor as a process of a topology, scales the
workers through the control endpoint: started with one worker below its minimum of
two, it brings a second up at once (bounds come before cooldowns). The queue's gauges
come from the autoscaler, which reads the status; a worker exports its own jobs only."""

from __future__ import annotations

import json

import pytest

from conftest import Cli
from millionscale.servers import netns
from millionscale.testing import Metrics, read_topology, scrape, wait_ready

pytestmark = pytest.mark.system

TOPOLOGY = """
[topology]
name = "queue-autoscaler"

[hosts.queue]
cpus = 0.25
memory = "1GiB"

[hosts.worker]
cpus = 0.25
memory = "1GiB"

[processes.queue]
tier = "queue"
role = "broker"
engine = "nats"
host = "queue"

[processes.worker]
tier = "worker"
replicas = 1
host = "worker"
command = ["{python}", "-m", "millionscale.queue", "--tasks", "millionscale.queue.testing:tasks",
           "--host", "{host}", "--port", "{port}", "--name", "{name}"]
env = { QUEUE_URL = "{queue.url}" }
depends_on = ["queue"]
readiness = { http = "/readyz", timeout_s = 30 }

[processes.autoscaler]
tier = "queue"
role = "autoscaler"
host = "queue"
command = ["{python}", "-m", "millionscale.queue", "autoscale", "--workers", "worker",
           "--min", "2", "--max", "3", "--interval-s", "0.5", "--discovery", "{discovery}",
           "--host", "{host}", "--port", "{port}", "--name", "{name}"]
env = { QUEUE_URL = "{queue.url}" }
depends_on = ["queue", "worker"]
readiness = { http = "/readyz", timeout_s = 30 }
"""


def workers(cli: Cli) -> list[tuple[str, str]]:
    result = cli.run("queue", "status", "--json")
    assert result.returncode == 0, result.stderr
    return [(w["name"], w["state"]) for w in json.loads(result.stdout)["workers"]]


def scraped(cli: Cli, name: str) -> Metrics:
    """Process ``name``'s /metrics, scraped from its own network namespace."""
    process = read_topology(cli.state_dir).process(name)
    url = f"http://{process.address}/metrics"
    return (
        scrape(url) if process.netns is None else netns.run_in(process.netns, lambda: scrape(url))
    )


def test_the_autoscaler_brings_the_workers_within_its_bounds_through_the_supervisor(cli: Cli):
    path = cli.write_topology(TOPOLOGY)
    started = cli.run("up", str(path), "--detach", "--no-host-limits")
    assert started.returncode == 0, started.stdout + started.stderr

    wanted = [("worker-1", "ready"), ("worker-2", "ready")]
    wait_ready(lambda: workers(cli) == wanted, 60, interval=0.5)

    log = (cli.state_dir / "logs" / "autoscaler.log").read_text()
    assert "workers: under the minimum of 2" in log  # its sentence for 1 → 2

    depth = {"queue": "jobs", "state": "ready"}
    wait_ready(
        lambda: (
            scraped(cli, "autoscaler").sample("millionscale_queue_depth", depth, default=-1) == 0
        ),
        10,
        interval=0.5,
    )
    worker = scraped(cli, "worker-1")
    assert worker.sample("millionscale_queue_running_jobs") == 0
    assert [s for s in worker.samples if s.name.startswith("millionscale_queue_depth")] == []
