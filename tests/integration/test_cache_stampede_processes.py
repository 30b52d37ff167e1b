"""500 concurrent misses of one key in four processes call the loader once per lease period.

Each process runs 125 concurrent reads of the same missing key: single
flight makes it one read per process, the lease in Redis one load in all;
the loader counts its calls in Redis. A lease holder that dies mid-load
blocks the others for one lease period, then one of them takes over; a
holder slower than its lease keeps it by renewing.
"""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import redis

from millionscale.servers import RunningServer
from millionscale.testing import wait_ready

pytestmark = pytest.mark.integration

WORKER = Path(__file__).with_name("cache_worker.py")
START_TIMEOUT_S = 60.0  # four interpreters importing on two busy cores


def spawn(url: str, run: str, **spec) -> subprocess.Popen[str]:
    spec = {"url": url, "run": run, "name": run, "key": "popular", "tasks": 125, **spec}
    return subprocess.Popen(
        [sys.executable, str(WORKER), json.dumps(spec)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def wait_for(client: redis.Redis, key: str, count: int, timeout_s: float = START_TIMEOUT_S) -> None:
    reached = f"{key} reaching {count}"
    wait_ready(lambda: int(client.get(key) or 0) >= count, timeout_s, what=reached, interval=0.01)


def results(processes: list[subprocess.Popen[str]]) -> list[dict]:
    outputs = []
    for process in processes:
        out, err = process.communicate(timeout=START_TIMEOUT_S)
        assert process.returncode == 0, err[-2000:]
        outputs.append(json.loads(out.strip().splitlines()[-1]))
    return outputs


@pytest.fixture
def workers():
    started: list[subprocess.Popen[str]] = []
    yield started
    for process in started:
        if process.poll() is None:
            process.kill()  # only the processes this test started, by their handle
        process.communicate()  # reaps it and closes its pipes


@pytest.fixture
def client(redis_session: RunningServer):
    with redis.Redis.from_url(redis_session.url) as client:
        yield client


def test_500_concurrent_misses_in_4_processes_load_once(
    redis_session: RunningServer, workers, client
):
    run = f"stampede-{os.getpid()}-{time.monotonic_ns()}"
    workers += [
        spawn(redis_session.url, run, load_s=0.3, settings={"lease_s": 1.0}) for _ in range(4)
    ]
    wait_for(client, f"{run}:ready", 4)

    client.set(f"{run}:go", 1)
    outputs = results(workers)

    assert int(client.get(f"{run}:loads")) == 1
    assert all(out["errors"] == [] for out in outputs)
    assert {value for out in outputs for value in out["values"]} == {'{"load": 1}'}
    assert sum(out["joined"] for out in outputs) == 4 * 124  # single flight in each process
    assert sum(out["fall_throughs"] for out in outputs) == 0


def test_a_lease_holder_killed_mid_load_blocks_the_others_one_lease_period(
    redis_session: RunningServer, workers, client
):
    run = f"dead-holder-{os.getpid()}-{time.monotonic_ns()}"
    lease = {"lease_s": 0.5, "lease_wait_s": 2.0}
    holder = spawn(redis_session.url, run, tasks=1, load_s=30.0, settings=lease)
    workers.append(holder)
    wait_for(client, f"{run}:ready", 1)
    client.set(f"{run}:go", 1)
    wait_for(client, f"{run}:loads", 1, timeout_s=10.0)  # the holder is loading
    holder.kill()  # SIGKILL: its lease is left to expire
    holder.communicate()
    killed_at = time.monotonic()
    others = [spawn(redis_session.url, run, load_s=0.05, settings=lease) for _ in range(3)]
    workers += others

    outputs = results(others)

    assert holder.returncode == -signal.SIGKILL
    assert int(client.get(f"{run}:loads")) == 2  # the dead holder's, and one takeover
    assert all(out["errors"] == [] for out in outputs)
    assert {value for out in outputs for value in out["values"]} == {'{"load": 2}'}
    assert sum(out["lease_timeouts"] for out in outputs) == 0
    assert max(out["elapsed_s"] for out in outputs) < time.monotonic() - killed_at


def test_a_holder_slower_than_its_lease_renews_it_and_still_loads_once(
    redis_session: RunningServer, workers, client
):
    run = f"slow-holder-{os.getpid()}-{time.monotonic_ns()}"
    settings = {"lease_s": 0.3, "lease_wait_s": 4.0}
    workers += [spawn(redis_session.url, run, load_s=1.2, settings=settings) for _ in range(2)]
    wait_for(client, f"{run}:ready", 2)

    client.set(f"{run}:go", 1)
    outputs = results(workers)

    assert int(client.get(f"{run}:loads")) == 1  # four lease periods, one load
    assert {value for out in outputs for value in out["values"]} == {'{"load": 1}'}
    assert all(out["errors"] == [] for out in outputs)
