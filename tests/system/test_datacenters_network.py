"""Data centers as they run: hosts in two data centers reach each other across the
wide-area link, later by its latency; `dc cut` loses one to the other and `dc join`
brings it back; a killed link is started again; `down` leaves nothing behind."""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

import pytest

from conftest import Cli, connect_result
from millionscale.servers import cgroups, netns
from millionscale.servers.process import pid_alive
from millionscale.testing import read_topology, wait_ready

pytestmark = [
    pytest.mark.system,
    pytest.mark.skipif(netns.available() is not None, reason="hosts need network namespaces"),
    pytest.mark.skipif(cgroups.detect() not in ("v1", "v2"), reason="hosts need cgroups"),
]

LATENCY_MS = 10
TOPOLOGY = f"""
[topology]
name = "two-sites"

[wan]
latency_ms = {LATENCY_MS}

[hosts.a]
cpus = 0.25
memory = "256MiB"
datacenter = "east"

[hosts.b]
cpus = 0.25
memory = "256MiB"
datacenter = "west"

[processes.db]
tier = "db"
engine = "postgres"
host = "a"
readiness = {{ timeout_s = 60 }}

[processes.web]
tier = "web"
host = "b"
command = ["{{python}}", "-m", "millionscale.web.placeholder", "--host", "{{host}}", "--port", "{{port}}"]
env = {{ DATABASE_URL = "{{db.url}}" }}
depends_on = ["db"]
readiness = {{ http = "/readyz", timeout_s = 30 }}
"""


def connect_ms(namespace: str, address: tuple[str, int]) -> float:
    sock = netns.socket_in(namespace)
    with sock:
        sock.settimeout(2)
        started = time.perf_counter()
        sock.connect(address)
        return (time.perf_counter() - started) * 1000


def wan_pid(state_dir: Path) -> int:
    """The wide-area link's pid, from the supervisor's log."""
    for line in reversed((state_dir / "logs" / "supervisor.log").read_text().splitlines()):
        if "wide-area link started" in line:
            return int(line.split('"pid": ')[1].split(",")[0])
    raise AssertionError("the supervisor never started the wide-area link")


def test_two_data_centers_meet_late_and_a_cut_loses_one(cli: Cli, tmp_path: Path):
    source = tmp_path / "two-sites.toml"
    source.write_text(TOPOLOGY)
    started = cli.run("up", str(source), "--detach")
    assert started.returncode == 0, started.stdout + started.stderr
    topology = read_topology(cli.state_dir)
    db, web = topology.process("db"), topology.process("web")
    assert (db.datacenter, web.datacenter) == ("east", "west")
    assert web.netns is not None
    namespace = web.netns
    target = (db.host, db.ports["main"])

    # A TCP handshake is one round trip: twice the one-way latency, never less (but for
    # the event loop's timers, which fire to the millisecond).
    rtts = [connect_ms(namespace, target) for _ in range(5)]
    assert min(rtts) >= 2 * LATENCY_MS - 1, rtts
    assert sorted(rtts)[2] < 2 * LATENCY_MS + 50, rtts

    status = cli.run("dc", "status")
    assert status.returncode == 0, status.stderr
    assert "10 ms one way" in status.stdout
    assert "east        joined  a      db" in status.stdout

    cut = cli.run("dc", "cut", "east")
    assert cut.returncode == 0, cut.stderr
    assert "east cut off" in cut.stdout
    assert connect_result(target, netns.socket_in(namespace)) == "TimeoutError"  # as a lost site
    assert "cut off" in cli.run("dc", "status").stdout

    joined = cli.run("dc", "join", "east")
    assert joined.returncode == 0, joined.stderr
    wait_ready(
        lambda: connect_result(target, netns.socket_in(namespace)) == "connected", timeout=10
    )

    # The link killed: the supervisor starts it again, and the sites meet again.
    killed = wan_pid(cli.state_dir)
    os.kill(killed, signal.SIGKILL)
    wait_ready(lambda: wan_pid(cli.state_dir) != killed, timeout=10)
    wait_ready(
        lambda: connect_result(target, netns.socket_in(namespace)) == "connected", timeout=10
    )

    plan = topology.network
    assert plan is not None
    assert cli.run("down").returncode == 0
    assert not any(name.startswith(plan.prefix) for name in netns.namespaces())
    assert not pid_alive(wan_pid(cli.state_dir))


def test_bad_data_center_commands_get_one_line(cli: Cli, tmp_path: Path):
    nothing = cli.run("dc", "cut", "east")
    assert nothing.returncode == 2
    assert "no topology is running here" in nothing.stderr

    one_site = tmp_path / "one.toml"
    one_site.write_text(
        TOPOLOGY.replace('datacenter = "west"', 'datacenter = "east"').replace(
            f"[wan]\nlatency_ms = {LATENCY_MS}\n", ""
        )
    )
    assert cli.run("up", str(one_site), "--detach").returncode == 0
    alone = cli.run("dc", "cut", "east")
    assert alone.returncode == 2
    assert "runs in one data center" in alone.stderr
    assert "one data center: no wide-area link" in cli.run("dc", "status").stdout
    for result in (nothing, alone):
        assert "Traceback" not in result.stderr
