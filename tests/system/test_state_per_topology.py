"""A topology's state belongs to that topology: the README's sequence, run for real.

The cached stage (switched over, so its first primary is now a standby), then
single-server, then replicated, all from one state directory: each comes up
ready on data of its own, and ``down --purge`` then leaves no process, network
namespace or data directory behind, wherever the data was placed.
"""

import json
import re
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest

from conftest import Cli, all_dead
from millionscale.servers.engines import PostgresEngine, owned_dir_location
from millionscale.testing import read_topology

pytestmark = pytest.mark.system

UP_TIMEOUT_S = 120


def _up(cli: Cli, topology: str) -> list[int]:
    """`up --detach` the stage; assert it is ready in time; the pids it started."""
    result = cli.run(
        "up", f"topologies/{topology}.toml", "--detach", "--timeout", str(UP_TIMEOUT_S),
        timeout=UP_TIMEOUT_S + 60,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
    status = cli.status()
    assert {p["state"] for p in status["processes"]} == {"ready"}, status
    return [p["pid"] for p in status["processes"]]


def _postgres_data_dirs(cli: Cli) -> dict[str, Path]:
    """Every PostgreSQL data directory of every topology that ran here, where it was
    placed, by topology/process."""
    run_as = PostgresEngine().run_as()
    found = {}
    for saved in (cli.state_dir / "topologies").glob("*/topology.json"):
        topology = json.loads(saved.read_text())
        for process in topology["processes"]:
            if process["engine"] == "postgres":
                where = owned_dir_location(Path(process["data_dir"]), run_as)
                found[f"{topology['name']}/{process['name']}"] = where
    return found


def _fallbacks_of(state_dir: Path) -> list[Path]:
    owners = Path(tempfile.gettempdir()).glob("millionscale-*-*/owner")
    root = state_dir.resolve()
    return [o.parent for o in owners if Path(o.read_text().strip()).is_relative_to(root)]


def _namespaces(network_id: str) -> list[str]:
    listed = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True, check=False)
    return [line.split()[0] for line in listed.stdout.splitlines() if network_id in line]


def test_cached_then_single_server_then_replicated_each_start_on_their_own_data(cli: Cli):
    shutil.copytree(Path(__file__).parents[2] / "topologies", cli.workdir / "topologies")
    pids = _up(cli, "cached")  # the demo's 19 hosts would add a minute, and test no more
    switched = cli.run("db", "switchover")
    assert switched.returncode == 0, switched.stdout + switched.stderr
    assert re.search(r"db-r\d", switched.stdout), switched.stdout
    network = read_topology(cli.state_dir).network
    assert cli.run("down").returncode == 0

    pids += _up(cli, "single-server")  # its db is new: cached's db is a standby now
    assert cli.process("db")["role"] == "primary"
    assert cli.run("down").returncode == 0
    pids += _up(cli, "replicated")
    data_dirs = _postgres_data_dirs(cli)
    assert sorted(data_dirs) == [
        "cached/db", "cached/db-r1", "cached/db-r2",
        "replicated/db", "replicated/db-r1", "replicated/db-r2",
        "single-server/db",
    ]  # fmt: skip
    assert all((d / "PG_VERSION").exists() for d in data_dirs.values())

    purged = cli.run("down", "--purge")

    assert purged.returncode == 0, purged.stderr
    assert all_dead([pid for pid in pids if pid])
    assert not [d for d in data_dirs.values() if d.exists()]
    assert not _fallbacks_of(cli.state_dir)
    assert not (cli.state_dir / "topologies").exists()
    assert not (cli.state_dir / "admin-token").exists()
    if network is not None:
        assert not _namespaces(network.id)
