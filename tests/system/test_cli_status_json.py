"""`status --json` tells a script what it needs (URLs with credentials, extra ports,
notes, whether the supervisor lives), and `status` says when the supervisor died."""

import json
import os
import signal
import urllib.request

import psycopg
import pytest

from conftest import Cli, all_dead
from millionscale.testing import wait_ready

pytestmark = pytest.mark.system

TOPOLOGY = """
[topology]
name = "scripted"

[processes.db]
tier = "db"
engine = "postgres"
durable = false

[processes.web]
tier = "web"
extra_ports = ["admin"]
command = ["{python}", "-m", "millionscale.web.placeholder", "--port", "{port}", "--name", "{name}"]
env = { DATABASE_URL = "{db.url}" }
depends_on = ["db"]
readiness = { http = "/readyz", timeout_s = 60 }
"""


def test_status_json_gives_urls_with_credentials_extra_ports_notes_and_the_supervisor(cli: Cli):
    up = cli.run("up", str(cli.write_topology(TOPOLOGY)), "--detach")
    assert up.returncode == 0, up.stderr

    status = cli.status()

    assert status["supervisor"] == {"state": "running", "pid": cli.supervisor_pid()}
    db, web = status["processes"]
    assert db["url"].startswith("postgresql://postgres:")
    with psycopg.connect(db["url"], connect_timeout=5) as conn:
        assert conn.execute("SELECT 40 + 2").fetchone() == (42,)
    assert web["url"] == f"http://{web['address']}/"
    with urllib.request.urlopen(web["url"], timeout=5) as response:
        assert json.load(response)["visits"] >= 1
    assert set(web["ports"]) == {"main", "admin"}
    assert web["ports"]["main"] == int(web["address"].rsplit(":", 1)[1])
    assert all("note" in p for p in status["processes"])
    assert status["url"] == web["url"]
    assert f"open {web['url']} in a browser" in up.stdout


def test_after_the_supervisor_is_killed_status_says_it_died_and_shows_no_stale_note(cli: Cli):
    assert cli.run("up", str(cli.write_topology(TOPOLOGY)), "--detach").returncode == 0
    before = cli.status()
    supervisor = cli.supervisor_pid()
    assert supervisor is not None

    os.kill(supervisor, signal.SIGKILL)
    assert all_dead([supervisor, *(p["pid"] for p in before["processes"])])
    wait_ready(lambda: cli.status()["running"] is False, 10)
    after = cli.status()
    text = cli.run("status")

    assert after["supervisor"] == {"state": "died", "pid": supervisor}
    for process in after["processes"]:
        assert process["state"] == "stopped"
        assert process["pid"] is None
        assert process["note"] == "stopped: its supervisor died"
    assert text.returncode == 0
    assert f"the supervisor (pid {supervisor}) died" in text.stdout
    assert "ready" not in text.stdout.split("note")[-1]  # no note from before the kill


def test_after_down_status_says_the_topology_was_stopped(cli: Cli):
    assert cli.run("up", str(cli.write_topology(TOPOLOGY)), "--detach").returncode == 0
    assert cli.run("down").returncode == 0

    status = cli.status()

    assert status["running"] is False
    assert status["supervisor"]["state"] == "stopped"
    assert {p["state"] for p in status["processes"]} == {"stopped"}
