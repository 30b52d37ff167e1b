"""``millionscale queue`` on a running topology: it finds the broker (engine nats, tier
queue) on its host, whose private address the root namespace has no route to, and lists
the workers as the supervisor sees them; jobs that always fail are dead-lettered by the
worker processes, listed, and put back.

A topology of its own, a broker and two workers running ``millionscale.queue.testing``'s
tasks, each on a host: the stage topology's workers need the photo app's tasks."""

from __future__ import annotations

import asyncio
import json

import pytest

from conftest import Cli
from millionscale.queue import Job
from millionscale.queue.jetstream import JetStreamBroker
from millionscale.servers import netns
from millionscale.testing import read_topology, wait_ready
from millionscale.topology.urls import engine_url

pytestmark = pytest.mark.system

ROOTED = netns.available() is None  # hosts need root: without it they run on loopback
JOBS = 3

TOPOLOGY = """
[topology]
name = "queue-cli"

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
replicas = 2
host = "worker"
command = ["{python}", "-m", "millionscale.queue", "--tasks", "millionscale.queue.testing:tasks",
           "--host", "{host}", "--port", "{port}", "--name", "{name}", "--max-deliveries", "2"]
env = { QUEUE_URL = "{queue.url}" }
depends_on = ["queue"]
readiness = { http = "/readyz", timeout_s = 30 }
"""


def publish_failing_jobs(cli: Cli) -> None:
    """``JOBS`` jobs of task ``fail``, published as the app would: from the broker's
    subnet (here, its own namespace), never from the root namespace."""
    broker = read_topology(cli.state_dir).process("queue")

    async def publish() -> None:
        queue = await JetStreamBroker.connect(engine_url(broker))
        try:
            for n in range(JOBS):
                await queue.publish(Job("fail", {"what": f"job {n}"}, id=f"fail-{n}"))
        finally:
            await queue.close()

    if broker.netns is None:
        asyncio.run(publish())
    else:
        netns.run_in(broker.netns, lambda: asyncio.run(publish()))


def queue(cli: Cli, *argv: str) -> dict:
    result = cli.run("queue", *argv, "--json")
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def test_the_queue_commands_find_the_broker_and_the_workers_of_the_running_topology(cli: Cli):
    path = cli.write_topology(TOPOLOGY)
    started = cli.run("up", str(path), "--detach", "--no-host-limits")
    assert started.returncode == 0, started.stdout + started.stderr
    broker = read_topology(cli.state_dir).process("queue")
    assert (broker.netns is not None) == ROOTED
    secret = broker.secret

    publish_failing_jobs(cli)
    # --max-deliveries 2: each fails twice (a second apart at most), then is dead-lettered.
    wait_ready(lambda: queue(cli, "status")["dead_letters"] == JOBS, 30, interval=0.5)

    status = queue(cli, "status")
    assert status["process"] == "queue"
    assert status["broker"] == f"nats://{broker.host}:{broker.ports['main']}"
    assert [(w["name"], w["host"], w["state"]) for w in status["workers"]] == [
        ("worker-1", "worker-1", "ready"),
        ("worker-2", "worker-2", "ready"),
    ]
    listed = queue(cli, "dead-letters")["dead_letters"]
    assert sorted(e["job_id"] for e in listed) == [f"fail-{n}" for n in range(JOBS)]
    assert {e["error"] for e in listed} == {f"ValueError: cannot do job {n}" for n in range(JOBS)}

    retried = cli.run("queue", "retry", "--all")
    assert retried.returncode == 0, retried.stderr
    assert len(retried.stdout.splitlines()) == JOBS
    # The workers take them again, and give up on them again.
    wait_ready(lambda: queue(cli, "status")["dead_letters"] == JOBS, 30, interval=0.5)

    shown = cli.run("queue", "status")
    assert shown.returncode == 0, shown.stderr
    assert "workers (2 of 2 ready)" in shown.stdout
    runs = [
        shown,
        retried,
        *(cli.run("queue", *argv) for argv in (["status", "--json"], ["dead-letters"])),
    ]
    assert all(secret not in run.stdout + run.stderr for run in runs)
