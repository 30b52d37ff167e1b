"""`up --detach`, `status`, `logs` and `down` on real engines and a process of ours."""

import json
import signal
import subprocess
import sys
import urllib.request
from pathlib import Path

import pytest

from conftest import Cli, all_dead
from millionscale.servers.engines import PostgresEngine, owned_dir_location
from millionscale.servers.process import pid_alive
from millionscale.testing import read_topology, wait_ready

pytestmark = pytest.mark.system

FULL = """
[topology]
name = "full"

[processes.db]
tier = "db"
role = "primary"
engine = "postgres"

[processes.cache]
tier = "cache"
engine = "redis"
durable = false

[processes.broker]
tier = "queue"
datacenter = "dc2"
engine = "nats"

[processes.web]
tier = "web"
role = "app"
command = ["{python}", "-m", "millionscale.web.placeholder", "--port", "{port}", "--name", "{name}"]
env = { DATABASE_URL = "{db.url}" }
depends_on = ["db", "cache", "broker"]
readiness = { http = "/readyz" }
"""


def test_up_detach_returns_with_everything_ready_and_down_leaves_nothing(cli: Cli):
    topology = cli.write_topology(FULL)

    up = cli.run("up", str(topology), "--detach")
    status = cli.status()

    assert up.returncode == 0, up.stderr
    assert "all 4 processes ready" in up.stdout
    assert [p["name"] for p in status["processes"]] == ["db", "cache", "broker", "web"]
    assert {p["state"] for p in status["processes"]} == {"ready"}
    broker = next(p for p in status["processes"] if p["name"] == "broker")
    assert broker["datacenter"] == "dc2"
    for process in status["processes"]:
        assert set(process) == {
            "name", "tier", "datacenter", "role", "host", "pid", "address", "url", "ports",
            "state", "restarts", "note",
        }  # fmt: skip
        assert process["host"] is None
        host, port = process["address"].rsplit(":", 1)
        assert host == "127.0.0.1"
        assert int(port) > 0
        assert pid_alive(process["pid"])
    web = next(p for p in status["processes"] if p["name"] == "web")
    with urllib.request.urlopen(f"http://{web['address']}/", timeout=5) as response:
        assert json.load(response)["visits"] == 1

    pids = [p["pid"] for p in status["processes"]] + [cli.supervisor_pid()]
    down = cli.run("down")

    assert down.returncode == 0, down.stderr
    assert all_dead(pids)
    assert {p["state"] for p in cli.status()["processes"]} == {"stopped"}


def test_a_killed_process_is_restarted_within_its_backoff(cli: Cli):
    topology = cli.write_topology(
        FULL.replace(
            'readiness = { http = "/readyz" }',
            'readiness = { http = "/readyz" }\n'
            "restart = { backoff_initial_s = 0.2, max_restarts = 3 }",
        )
    )
    assert cli.run("up", str(topology), "--detach").returncode == 0
    before = cli.process("web")

    subprocess.run(["kill", "-KILL", str(before["pid"])], check=True)

    # backoff 0.2 s + a fresh interpreter and uvicorn start: well under 10 s here
    wait_ready(
        lambda: (p := cli.process("web"))["state"] == "ready" and p["pid"] != before["pid"], 10
    )
    after = cli.process("web")
    assert after["restarts"] == 1
    assert not pid_alive(before["pid"])
    log = cli.run("logs", "supervisor", "-n", "200").stdout
    assert "web: killed by signal 9; restart 1 of 3 in 0.2 s" in log


def test_an_engine_killed_by_sigkill_is_restarted_on_its_data(cli: Cli):
    topology = cli.write_topology(FULL)
    assert cli.run("up", str(topology), "--detach").returncode == 0
    before = cli.process("db")

    subprocess.run(["kill", "-KILL", str(before["pid"])], check=True)

    wait_ready(
        lambda: (p := cli.process("db"))["state"] == "ready" and p["pid"] != before["pid"], 30
    )
    assert cli.process("db")["address"] == before["address"]


def test_a_process_that_keeps_crashing_is_marked_failed(cli: Cli):
    topology = cli.write_topology(
        """
[topology]
name = "crashy"

[processes.crashy]
tier = "web"
command = ["{python}", "-c", "import sys; sys.exit(3)"]
port = "auto"
readiness = { tcp = true, timeout_s = 10 }
restart = { max_restarts = 2, window_s = 60, backoff_initial_s = 0.1 }
"""
    )

    up = cli.run("up", str(topology), "--detach")

    assert up.returncode == 1
    assert "crashy failed" in up.stderr
    crashy = cli.process("crashy")
    assert crashy["state"] == "failed"
    assert crashy["restarts"] == 2
    assert "failed after 2 restarts" in cli.run("logs", "supervisor", "-n", "50").stdout
    assert cli.supervisor_pid() is None or not pid_alive(cli.supervisor_pid())


def test_killing_the_supervisor_takes_its_children_with_it(cli: Cli):
    topology = cli.write_topology(FULL)
    assert cli.run("up", str(topology), "--detach").returncode == 0
    pids = [p["pid"] for p in cli.status()["processes"]]
    supervisor = cli.supervisor_pid()
    assert supervisor is not None

    subprocess.run(["kill", "-KILL", str(supervisor)], check=True)

    assert all_dead(pids)


def test_foreground_up_stops_everything_on_ctrl_c(cli: Cli):
    topology = cli.write_topology(FULL)
    with subprocess.Popen(
        [sys.executable, "-m", "millionscale.cli", "up", str(topology)],
        cwd=cli.workdir,
        env=cli.env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    ) as up:
        wait_ready(
            lambda: (
                (s := cli.status())["processes"]
                and all(p["state"] == "ready" for p in s["processes"])
            ),
            60,
        )
        pids = [p["pid"] for p in cli.status()["processes"]] + [cli.supervisor_pid()]

        up.send_signal(signal.SIGINT)
        up.wait(timeout=60)

    assert up.returncode == 0
    assert all_dead(pids)


def test_logs_show_a_process_output(cli: Cli):
    topology = cli.write_topology(FULL)
    assert cli.run("up", str(topology), "--detach").returncode == 0

    logs = cli.run("logs", "web", "-n", "20", "--json")

    assert logs.returncode == 0
    lines = [json.loads(line) for line in logs.stdout.splitlines() if line.startswith("{")]
    assert any(line["event"] == "started" and line["process"] == "web" for line in lines)
    assert "postgresql://" not in logs.stdout


def test_version_prints_the_package_version(cli: Cli):
    result = cli.run("version")

    assert result.returncode == 0
    assert result.stdout.startswith("millionscale 0.")


def test_logs_follow_prints_new_lines_as_they_come(cli: Cli):
    topology = cli.write_topology(FULL)
    assert cli.run("up", str(topology), "--detach").returncode == 0
    web = cli.process("web")
    with subprocess.Popen(
        [sys.executable, "-m", "millionscale.cli", "logs", "supervisor", "--follow", "-n", "1"],
        cwd=cli.workdir,
        env=cli.env,
        stdout=subprocess.PIPE,
        text=True,
    ) as follower:
        assert follower.stdout is not None
        follower.stdout.readline()  # the existing last line: the follower is reading now
        subprocess.run(["kill", "-KILL", str(web["pid"])], check=True)
        seen = [follower.stdout.readline() for _ in range(2)]
        follower.send_signal(signal.SIGINT)
        follower.wait(timeout=10)

    assert any("web: killed by signal 9" in line for line in seen)
    assert follower.returncode == 0


def test_down_purge_deletes_engine_data_wherever_it_was_placed(cli: Cli):
    topology = cli.write_topology(FULL)
    assert cli.run("up", str(topology), "--detach").returncode == 0
    data_dirs = [p.data_dir for p in read_topology(cli.state_dir).processes if p.data_dir]
    placed = owned_dir_location(Path(data_dirs[0]), PostgresEngine().run_as())
    assert (placed / "PG_VERSION").exists()

    result = cli.run("down", "--purge")

    assert result.returncode == 0
    assert "purged" in result.stdout
    assert not placed.exists()
    assert not (cli.state_dir / "topologies").exists()  # secrets and records with the data
    assert not (cli.state_dir / "admin-token").exists()
    assert (cli.state_dir / "logs" / "supervisor.log").exists()
