"""A well-formed topology file parses into the model, defaults filled in."""

from pathlib import Path

import pytest

from millionscale.topology.load import load_topology, parse_topology

TOPOLOGIES = sorted((Path(__file__).parents[2] / "topologies").glob("*.toml"))


def test_the_documented_example_parses_with_its_values_and_defaults():
    text = """\
[topology]
name = "single-server"
description = "App and PostgreSQL on one host."

[processes.db]
tier = "db"
engine = "postgres"

[processes.web]
tier = "web"
command = ["{python}", "-m", "millionscale.web.placeholder", "--port", "{port}"]
env = { DATABASE_URL = "{db.url}" }
port = 8000
depends_on = ["db"]
readiness = { http = "/readyz", timeout_s = 30 }
restart = { policy = "on-failure", max_restarts = 5, window_s = 60 }
"""

    parsed = parse_topology(text)

    web = parsed.processes["web"]
    assert parsed.topology.name == "single-server"
    assert list(parsed.processes) == ["db", "web"]
    assert (web.port, web.depends_on, web.readiness.http) == (8000, ["db"], "/readyz")
    assert (web.restart.policy, web.restart.max_restarts) == ("on-failure", 5)
    assert web.restart.stop_timeout_s == 10.0  # docker stop's default
    assert parsed.processes["db"].port == "auto"


@pytest.mark.parametrize("path", TOPOLOGIES, ids=[p.name for p in TOPOLOGIES])
def test_every_shipped_topology_loads(path: Path):
    parsed = load_topology(path)

    assert parsed.processes


def test_shipped_topologies_exist():
    assert TOPOLOGIES, "topologies/*.toml not found next to tests/"
