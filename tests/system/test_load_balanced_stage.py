"""Stage 3: the balancer in front of three stateless photo app processes, via the CLI."""

from __future__ import annotations

import json
import os
import signal
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest

from conftest import Cli, wait_until

pytestmark = pytest.mark.system

TOPOLOGY = Path(__file__).parents[2] / "topologies" / "load-balanced.toml"


def lb_url(cli: Cli) -> str:
    resolved = json.loads((cli.state_dir / "topology.json").read_text())
    lb = next(p for p in resolved["processes"] if p["name"] == "lb")
    return f"http://{lb['host']}:{lb['ports']['main']}"


def backends(cli: Cli) -> dict[str, dict[str, object]]:
    result = cli.run("lb", "status", "--json")
    assert result.returncode == 0, result.stderr
    return {b["name"]: b for b in json.loads(result.stdout)["backends"]}


def test_web_servers_die_and_drain_without_failing_a_request_or_a_session(cli: Cli):
    assert cli.run("up", str(TOPOLOGY), "--detach").returncode == 0
    base = lb_url(cli)
    with httpx.Client(base_url=base, timeout=10) as user:
        signup = user.post("/api/signup", json={"username": "ada", "password": "correct horse 9"})
        assert signup.status_code == 201, signup.text

        def me(_: int) -> int:
            return user.get("/api/me").status_code

        victim = cli.process("web-1")["pid"]
        with ThreadPoolExecutor(max_workers=8) as pool:
            first = list(pool.map(me, range(100)))
            os.killpg(victim, signal.SIGKILL)  # under load, in the middle of the run
            second = list(pool.map(me, range(300)))

        assert first + second == [200] * 400  # none failed, the session held on every server
        # web-1 is restarted by the supervisor and comes back into rotation.
        assert wait_until(lambda: backends(cli)["web-1"]["serving"] is True, timeout=60)

        drained = cli.run("lb", "drain", "web-2")
        assert drained.returncode == 0, drained.stderr
        assert wait_until(lambda: "web-2" not in backends(cli), timeout=40)
        assert [me(i) for i in range(50)] == [200] * 50

    unknown = cli.run("lb", "drain", "web-9")
    assert unknown.returncode == 2
    assert "no backend 'web-9' (backends: web-1, web-3)" in unknown.stderr
    resolved = json.loads((cli.state_dir / "topology.json").read_text())
    lb = next(p for p in resolved["processes"] if p["name"] == "lb")
    anonymous = httpx.get(f"http://{lb['host']}:{lb['ports']['admin']}/backends")
    assert anonymous.status_code == 401
