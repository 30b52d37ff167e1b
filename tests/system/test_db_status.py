"""`millionscale db status`: roles, LSNs and lag, asked of the nodes themselves."""

import json
import subprocess
from pathlib import Path

import pytest

from conftest import Cli
from millionscale.testing import wait_ready

pytestmark = pytest.mark.system

TOPOLOGY = Path(__file__).parents[2] / "topologies" / "replicated.toml"


def nodes(cli: Cli) -> dict[str, dict]:
    result = cli.run("db", "status", "--json")
    assert result.returncode == 0, result.stderr
    return {node["name"]: node for node in json.loads(result.stdout)["nodes"]}


def test_status_shows_the_primary_its_quorum_replicas_and_a_dead_one(cli: Cli):
    assert cli.run("up", str(TOPOLOGY), "--detach").returncode == 0

    healthy = nodes(cli)

    assert healthy["db"]["role"] == "primary"
    assert {healthy[n]["role"] for n in ("db-r1", "db-r2")} == {"replica"}
    wait_ready(lambda: {n["sync_state"] for n in nodes(cli).values()} >= {"quorum"}, 10)
    assert all(healthy[n]["lag_bytes"] is not None for n in ("db-r1", "db-r2"))

    # A paused replica cannot answer: it is reported unreachable, not guessed at.
    pid = cli.process("db-r2")["pid"]
    subprocess.run(["kill", "-STOP", str(pid)], check=True)
    try:
        paused = nodes(cli)
    finally:
        subprocess.run(["kill", "-CONT", str(pid)], check=True)

    assert paused["db-r2"]["role"] == "unreachable"
    assert paused["db-r2"]["error"]
    assert paused["db"]["role"] == "primary"


def test_status_without_a_running_topology_is_refused(cli: Cli):
    result = cli.run("db", "status")

    assert result.returncode == 2
    assert "no topology is running here" in result.stderr
