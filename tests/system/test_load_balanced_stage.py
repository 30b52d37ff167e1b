"""Stage 3: the balancer in front of three stateless photo app processes, via the CLI."""

from __future__ import annotations

import ipaddress
import json
import os
import signal
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest

from conftest import Cli, connect_result
from millionscale.servers import netns
from millionscale.testing import wait_ready
from millionscale.topology.admin import AdminClient, AdminError

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
        wait_ready(lambda: backends(cli)["web-1"]["serving"] is True, timeout=60)

        drained = cli.run("lb", "drain", "web-2")
        assert drained.returncode == 0, drained.stderr
        wait_ready(lambda: "web-2" not in backends(cli), timeout=40)
        assert [me(i) for i in range(50)] == [200] * 50

    unknown = cli.run("lb", "drain", "web-9")
    assert unknown.returncode == 2
    assert "no backend 'web-9' (backends: web-1, web-3)" in unknown.stderr
    resolved = json.loads((cli.state_dir / "topology.json").read_text())
    lb = next(p for p in resolved["processes"] if p["name"] == "lb")
    # The admin API wants the token, and says why it refuses, as 'detail'.
    impostor = AdminClient("load balancer", "127.0.0.1", lb["ports"]["admin"], "wrong", lb["netns"])
    with pytest.raises(AdminError, match="refused: missing or wrong admin token"):
        impostor.call("GET", "/backends")


@pytest.mark.skipif(netns.available() is not None, reason="network namespaces need root")
def test_web_servers_answer_only_through_the_balancer(cli: Cli):
    started = cli.run("up", str(TOPOLOGY), "--detach")
    assert started.returncode == 0, started.stderr
    assert "reachable only through balancer" in started.stdout
    resolved = json.loads((cli.state_dir / "topology.json").read_text())
    web = {p["name"]: p for p in resolved["processes"] if p["tier"] == "web"}
    lb = next(p for p in resolved["processes"] if p["name"] == "lb")
    subnet = ipaddress.ip_network(resolved["network"]["private"])

    assert httpx.get(f"{lb_url(cli)}/readyz", timeout=10).status_code == 200
    for process in web.values():
        address = (process["host"], process["ports"]["main"])
        assert ipaddress.ip_address(process["host"]) in subnet
        # From the public side: no route (and no packet leaves the machine for it).
        assert connect_result(address) == "No route to host"
        # Nothing of it listens on the host's loopback either.
        assert connect_result(("127.0.0.1", process["ports"]["main"])) == "Connection refused"
        # From the balancer's namespace it answers.
        assert connect_result(address, netns.socket_in(lb["netns"])) == "connected"
    # The balancer's admin API listens on the control side only: the loopback of
    # its own namespace. Not on its public address, not on the host's loopback.
    admin = lb["ports"]["admin"]
    assert connect_result((lb["host"], admin)) == "Connection refused"
    assert connect_result(("127.0.0.1", admin)) == "Connection refused"
    assert connect_result(("127.0.0.1", admin), netns.socket_in(lb["netns"])) == "connected"
    assert cli.run("lb", "status").returncode == 0  # the CLI reaches it from inside
    # The balancer's namespace does not route the public side into the subnet.
    forward = netns.run_in(lb["netns"], Path("/proc/sys/net/ipv4/ip_forward").read_text)
    assert forward.strip() == "0"
    # The web servers reach the database and the cache on hosts of their own, by address.
    engines = {p["name"]: p for p in resolved["processes"] if p["engine"]}
    env = web["web-1"]["env"]
    for name, key in (("db", "DATABASE_URL"), ("cache", "REDIS_URL")):
        engine = engines[name]
        assert engine["on_host"] != web["web-1"]["on_host"]
        assert ipaddress.ip_address(engine["host"]) in subnet
        assert f"@{engine['host']}:{engine['ports']['main']}/" in env[key]


def test_without_namespaces_the_stage_runs_on_loopback_and_says_so(cli: Cli):
    cli.env["MILLIONSCALE_PRIVATE_NETWORK"] = "off"
    refused = cli.run("up", str(TOPOLOGY), "--detach")  # its hosts cannot be made
    assert refused.returncode == 2, refused.stdout + refused.stderr
    assert "hosts need network namespaces" in refused.stderr
    assert "--no-host-limits" in refused.stderr
    started = cli.run("up", str(TOPOLOGY), "--detach", "--no-host-limits")
    assert started.returncode == 0, started.stderr
    assert "no private subnet (MILLIONSCALE_PRIVATE_NETWORK=off)" in started.stdout
    assert cli.status()["hosts_limited"] is False
    resolved = json.loads((cli.state_dir / "topology.json").read_text())
    assert resolved["network"] is None
    assert {p["host"] for p in resolved["processes"]} == {"127.0.0.1"}
    with httpx.Client(base_url=lb_url(cli), timeout=10) as user:
        signup = user.post("/api/signup", json={"username": "ada", "password": "correct horse 9"})
        assert signup.status_code == 201, signup.text
        assert user.get("/api/me").status_code == 200
    status = cli.run("lb", "status", "--json")  # the admin API on the host's loopback
    assert status.returncode == 0, status.stderr
