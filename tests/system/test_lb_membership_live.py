"""Stage 3 grows and shrinks while it serves: the balancer follows the supervisor's Discovery.

A web server added to the running load-balanced topology (through the control
endpoint) is in the balancer's rotation within one health-check interval of
being ready, without restarting the balancer; one removed is drained first;
no request of a bounded loop through the balancer fails meanwhile.
"""

import threading
import time
from pathlib import Path

import httpx
import pytest

from conftest import Cli
from millionscale.lb.health import INTER_S
from millionscale.lb.membership import RECONCILE_S
from millionscale.testing import read_topology, wait_ready
from millionscale.topology.admin import AdminClient
from millionscale.topology.state import StateDir

pytestmark = pytest.mark.system

TOPOLOGY = Path(__file__).parents[2] / "topologies" / "load-balanced.toml"
MAX_REQUESTS = 20_000  # the loop's bound; it stops sooner, when the test is done


def _balancer(cli: Cli) -> tuple[str, AdminClient, int]:
    """The balancer's public URL, a client of its admin API, and its pid."""
    lb = next(p for p in read_topology(cli.state_dir).processes if p.name == "lb")
    token = StateDir(cli.state_dir).admin_token_file.read_text().strip()
    admin = AdminClient("load balancer", "127.0.0.1", lb.ports["admin"], token, lb.netns)
    return f"http://{lb.address}", admin, cli.process("lb")["pid"]


def _serving(admin: AdminClient) -> dict[str, bool]:
    return {b["name"]: b["serving"] for b in admin.call("GET", "/backends")["backends"]}


def _ready_in_discovery(cli: Cli, name: str) -> bool:
    return any(p["name"] == name and p["state"] == "ready" for p in cli.status()["processes"])


def test_a_web_server_added_at_run_time_serves_and_one_removed_is_drained_with_no_failed_request(
    cli: Cli,
):
    started = cli.run("up", str(TOPOLOGY), "--detach")
    assert started.returncode == 0, started.stderr
    base, admin, lb_pid = _balancer(cli)
    with httpx.Client(base_url=base, timeout=10) as first:
        signup = first.post("/api/signup", json={"username": "ada", "password": "correct horse 9"})
        assert signup.status_code == 201, signup.text
        cookies = first.cookies
    statuses: list[int] = []
    stop = threading.Event()

    def load() -> None:
        with httpx.Client(base_url=base, timeout=10, cookies=cookies) as user:
            for _ in range(MAX_REQUESTS):
                if stop.is_set():
                    return
                statuses.append(user.get("/api/me").status_code)

    loop = threading.Thread(target=load, name="load")
    loop.start()
    try:
        added = cli.run("process", "add", "web-4", "--like", "web-1")
        assert added.returncode == 0, added.stdout + added.stderr
        wait_ready(lambda: _ready_in_discovery(cli, "web-4"), 60, what="web-4 ready")
        ready_at = time.monotonic()
        wait_ready(lambda: _serving(admin).get("web-4") is True, 30, what="web-4 in rotation")
        in_rotation_s = time.monotonic() - ready_at

        removed = cli.run("process", "remove", "web-2", "--drain", "3")
        assert removed.returncode == 0, removed.stdout + removed.stderr
        wait_ready(lambda: "web-2" not in _serving(admin), 30, what="web-2 drained and removed")
        time.sleep(1.0)  # requests keep flowing over the three left
    finally:
        stop.set()
        loop.join(timeout=30)

    assert not loop.is_alive()
    assert len(statuses) > 50
    assert set(statuses) == {200}, {s: statuses.count(s) for s in set(statuses)}
    # One check interval (the balancer's default) plus one reconcile round and this
    # test's own polling (a status command per look) of slack.
    assert in_rotation_s <= INTER_S + RECONCILE_S + 2.0, in_rotation_s
    assert set(_serving(admin)) == {"web-1", "web-3", "web-4"}
    assert cli.process("lb")["pid"] == lb_pid  # never restarted
