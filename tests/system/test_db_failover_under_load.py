"""Failover of the replicated stage, by killing real processes under load.

Each trial runs continuous writers through the router (every acknowledged id
recorded, every session reading its own write back), kills or pauses the
primary at a random moment, and checks after the failover that every
acknowledged write is on the new primary. ``MILLIONSCALE_FAILOVER_TRIALS``
sets the number of trials (``make soak`` runs 20); CI runs 2.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import random
import signal
import time
from pathlib import Path

import psycopg
import pytest

from conftest import Cli, postgres_urls
from millionscale.db import Router
from millionscale.db.testing import missing_writes, write_continuously
from millionscale.servers.process import descendants, signal_tree
from millionscale.testing import wait_ready
from millionscale.topology.state import StateDir

pytestmark = pytest.mark.system

TOPOLOGY = Path(__file__).parents[2] / "topologies" / "replicated.toml"
TRIALS = int(os.environ.get("MILLIONSCALE_FAILOVER_TRIALS", "2"))
SEED = 20261128
FAILOVER_GOAL_S = 15.0  # generous bound for a loaded CI machine; the bench reports the median


def record(cli: Cli) -> dict[str, object]:
    return json.loads(StateDir(cli.state_dir).cluster.read_text())


def roles(cli: Cli) -> dict[str, str]:
    result = cli.run("db", "status", "--json")
    assert result.returncode == 0, result.stderr
    return {node["name"]: node["role"] for node in json.loads(result.stdout)["nodes"]}


def settled(cli: Cli) -> bool:
    """One primary (the monitor's), every other node a streaming replica again."""
    primary = record(cli)["primary"]
    now = roles(cli)
    return now[str(primary)] == "primary" and all(
        role == "replica" for name, role in now.items() if name != primary
    )


def router_for(dsns: dict[str, str], primary: str) -> Router:
    replicas = {name: url for name, url in dsns.items() if name != primary}
    return Router(
        dsns[primary], replicas, primary_name=primary, poll_interval_s=0.1, failover_wait_s=30
    )


async def writes_across(cli: Cli, fault, *, rng: random.Random):
    """Write continuously, apply ``fault(primary_name)`` at a random moment, keep
    writing until writes succeed again for a while; return the log and timings."""
    dsns = postgres_urls(cli)
    primary = str(record(cli)["primary"])
    async with router_for(dsns, primary) as router:
        stop = asyncio.Event()
        writers = asyncio.create_task(write_continuously(router, stop, max_seconds=90))
        await asyncio.sleep(rng.uniform(0.3, 1.5))
        fault_at = time.monotonic()
        await asyncio.to_thread(fault, primary)
        for _ in range(600):  # 60 s at most for the router to find a new primary
            if router.primary != primary:
                break
            await asyncio.sleep(0.1)
        await asyncio.sleep(1.0)  # writes on the new primary for a while
        stop.set()
        log = await writers
        new_primary = router.primary
    return log, fault_at, primary, new_primary, dsns


def sigkill(cli: Cli):
    def fault(name: str) -> None:
        signal_tree(cli.process(name)["pid"], signal.SIGKILL)

    return fault


def test_sigkill_of_the_primary_under_writes_loses_no_acknowledged_write(cli: Cli):
    assert cli.run("up", str(TOPOLOGY), "--detach").returncode == 0
    rng = random.Random(SEED)

    for trial in range(TRIALS):
        log, killed_at, old, new, dsns = asyncio.run(writes_across(cli, sigkill(cli), rng=rng))

        assert new != old, f"trial {trial}: no failover"
        assert log.acked, f"trial {trial}: nothing was acknowledged"
        assert missing_writes(dsns[new], log.acked) == set(), f"trial {trial}"
        assert log.unread == [], f"trial {trial}: read-your-writes broken"
        recovered = log.first_ok_after(killed_at)
        assert recovered is not None
        assert recovered - killed_at < FAILOVER_GOAL_S
        assert record(cli)["primary"] == new
        assert (cli.process(new)["role"], cli.process(old)["role"]) == ("primary", "replica")
        # The old primary comes back as a standby of the new one (rewound), in time.
        wait_ready(lambda: settled(cli), timeout=60, interval=0.5, describe=lambda: roles(cli))


def test_a_paused_primary_is_fenced_and_takes_no_write_when_resumed(cli: Cli):
    assert cli.run("up", str(TOPOLOGY), "--detach").returncode == 0
    dsns = postgres_urls(cli)
    held = psycopg.connect(dsns["db"], autocommit=True)  # a session open across the pause
    held.execute("CREATE TABLE split (id int)")
    postmaster = cli.process("db")["pid"]
    server = [postmaster, *descendants(postmaster)]  # backends run in sessions of their own

    def pause(_name: str) -> None:
        for pid in server:  # every process of the server, as a paused VM
            os.kill(pid, signal.SIGSTOP)

    try:
        log, _, old, new, _ = asyncio.run(writes_across(cli, pause, rng=random.Random(SEED)))
    finally:
        for pid in server:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGCONT)

    assert (old, new) != ("db", "db")
    assert missing_writes(dsns[new], log.acked) == set()
    with pytest.raises(psycopg.OperationalError):
        held.execute("INSERT INTO split VALUES (1)")  # the fence killed its backend too
    held.close()
    for _ in range(2):  # now (fenced, down) and once it is back (a read-only standby)
        with (
            pytest.raises(psycopg.Error),
            psycopg.connect(dsns["db"], autocommit=True, connect_timeout=2) as conn,
        ):
            conn.execute("INSERT INTO split VALUES (2)")
        wait_ready(lambda: settled(cli), timeout=60, interval=0.5, describe=lambda: roles(cli))


def test_a_planned_switchover_fails_no_write(cli: Cli):
    assert cli.run("up", str(TOPOLOGY), "--detach").returncode == 0

    def switchover(_name: str) -> None:
        result = cli.run("db", "switchover", "--to", "db-r2")
        assert result.returncode == 0, result.stderr
        assert "primary db-r2 (epoch 2)" in result.stdout

    log, _, old, new, dsns = asyncio.run(writes_across(cli, switchover, rng=random.Random(SEED)))

    assert (old, new) == ("db", "db-r2")
    assert log.failed == 0, log.errors
    assert missing_writes(dsns[new], log.acked) == set()
    assert log.unread == []
    assert log.longest_write_s() < 5.0  # a bounded pause, not a failure
    wait_ready(lambda: settled(cli), timeout=60, interval=0.5, describe=lambda: roles(cli))


def test_switchover_and_failover_refuse_bad_requests_clearly(cli: Cli):
    assert cli.run("up", str(TOPOLOGY), "--detach").returncode == 0

    unknown = cli.run("db", "switchover", "--to", "db-r9")
    same = cli.run("db", "switchover", "--to", "db")
    unconfirmed = cli.run("db", "failover")

    assert unknown.returncode == 2
    assert "'db-r9' is not a node of this cluster (nodes: db, db-r1, db-r2)" in unknown.stderr
    assert same.returncode == 2
    assert "db is already the primary" in same.stderr
    assert unconfirmed.returncode != 0
    assert "Traceback" not in unknown.stderr + same.stderr + unconfirmed.stderr
    assert record(cli)["epoch"] == 1
