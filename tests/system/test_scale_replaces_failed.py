"""A replica whose restarts are spent is no replica: ``scale`` does not count it, starts
one in its place and drops it. The set is placeholder web servers on loopback (no
hosts, no engines), restarted never, so one SIGKILL leaves ``web-2`` failed."""

import os
import signal
import time

import pytest

from conftest import Cli, placeholder

pytestmark = pytest.mark.system

TOPOLOGY = """
[topology]
name = "replaced"
""" + placeholder(extra='replicas = 2\nrestart = { policy = "never" }')


def _states(cli: Cli) -> dict[str, str]:
    return {p["name"]: p["state"] for p in cli.status()["processes"]}


def _wait_for(cli: Cli, wanted: dict[str, str], timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while (states := _states(cli)) != wanted:
        assert time.monotonic() < deadline, states
        time.sleep(0.1)


def test_scale_replaces_a_failed_replica_and_drops_it(cli: Cli):
    up = cli.run("up", str(cli.write_topology(TOPOLOGY)), "--detach")
    assert up.returncode == 0, up.stderr
    os.kill(cli.process("web-2")["pid"], signal.SIGKILL)
    _wait_for(cli, {"web-1": "ready", "web-2": "failed"})

    scaled = cli.run("scale", "web=2")

    assert scaled.returncode == 0, scaled.stderr
    assert "web-3" in scaled.stdout  # web-2's number is taken until it is gone
    _wait_for(cli, {"web-1": "ready", "web-3": "ready"})
    again = cli.run("scale", "web=2")  # two live replicas: nothing to do
    assert again.returncode == 0, again.stderr
    assert _states(cli) == {"web-1": "ready", "web-3": "ready"}
