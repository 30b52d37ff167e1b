"""The db/primary claim outlives the supervisor: after a switchover, the topology
stopped and started again starts the claimed primary as the primary, the topology
file's primary as its standby, and keeps every acknowledged write."""

from __future__ import annotations

import json
from pathlib import Path

import psycopg
import pytest

from conftest import Cli, postgres_urls
from millionscale.testing import wait_ready
from millionscale.topology.replication import PRIMARY_CLAIM
from millionscale.topology.state import StateDir

pytestmark = pytest.mark.system

TOPOLOGY = Path(__file__).parents[2] / "topologies" / "replicated.toml"


def roles(cli: Cli) -> dict[str, str]:
    result = cli.run("db", "status", "--json")
    assert result.returncode == 0, result.stderr
    return {node["name"]: node["role"] for node in json.loads(result.stdout)["nodes"]}


def test_a_restarted_topology_starts_the_claimed_primary_as_the_primary(cli: Cli):
    assert cli.run("up", str(TOPOLOGY), "--detach").returncode == 0
    switched = cli.run("db", "switchover", "--to", "db-r1")
    assert switched.returncode == 0, switched.stderr
    expected = {"db": "replica", "db-r1": "primary", "db-r2": "replica"}
    wait_ready(
        lambda: roles(cli) == expected, timeout=60, interval=0.5, describe=lambda: roles(cli)
    )
    with psycopg.connect(postgres_urls(cli)["db-r1"], autocommit=True) as conn:
        conn.execute("CREATE TABLE kept (id int PRIMARY KEY)")
        conn.execute("INSERT INTO kept VALUES (1), (2), (3)")  # acknowledged: synchronous = 1

    claims = json.loads(StateDir(cli.state_dir).roles.read_text())["roles"]
    assert claims[PRIMARY_CLAIM] == {"holder": "db-r1", "epoch": 2}
    assert cli.run("down").returncode == 0
    assert cli.run("up", str(TOPOLOGY), "--detach").returncode == 0

    # Started by the kept claim: db-r1 the primary at once, db its standby, never two primaries.
    assert cli.process("db-r1")["role"] == "primary"
    assert cli.process("db")["role"] == "replica"
    wait_ready(
        lambda: roles(cli) == expected, timeout=60, interval=0.5, describe=lambda: roles(cli)
    )
    with psycopg.connect(postgres_urls(cli)["db-r1"], autocommit=True) as conn:
        assert conn.execute("SELECT count(*) FROM kept").fetchone() == (3,)
    assert cli.run("down").returncode == 0
