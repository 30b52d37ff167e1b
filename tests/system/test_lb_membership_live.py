"""Stage 3 grows and shrinks while it serves: the balancer follows the supervisor's Discovery.

A web server added to the running load-balanced topology (through the control
endpoint) is in the balancer's rotation within one health-check interval of
being ready, without restarting the balancer; one removed is drained first;
no request of a bounded loop through the balancer fails meanwhile.
"""

import time
from pathlib import Path

import pytest

from conftest import Cli, SignedInLoad, balancer, serving
from millionscale.lb.health import INTER_S
from millionscale.lb.membership import RECONCILE_S
from millionscale.testing import wait_ready

pytestmark = pytest.mark.system

TOPOLOGY = Path(__file__).parents[2] / "topologies" / "load-balanced.toml"
MAX_REQUESTS = 20_000  # the loop's bound; it stops sooner, when the test is done


def _ready_in_discovery(cli: Cli, name: str) -> bool:
    return any(p["name"] == name and p["state"] == "ready" for p in cli.status()["processes"])


def test_a_web_server_added_at_run_time_serves_and_one_removed_is_drained_with_no_failed_request(
    cli: Cli,
):
    started = cli.run("up", str(TOPOLOGY), "--detach")
    assert started.returncode == 0, started.stderr
    base, admin, lb_pid = balancer(cli)
    with SignedInLoad(base, max_requests=MAX_REQUESTS) as load:
        added = cli.run("process", "add", "web-4", "--like", "web-1")
        assert added.returncode == 0, added.stdout + added.stderr
        wait_ready(lambda: _ready_in_discovery(cli, "web-4"), 60, what="web-4 ready")
        ready_at = time.monotonic()
        wait_ready(lambda: serving(admin).get("web-4") is True, 30, what="web-4 in rotation")
        in_rotation_s = time.monotonic() - ready_at

        removed = cli.run("process", "remove", "web-2", "--drain", "3")
        assert removed.returncode == 0, removed.stdout + removed.stderr
        wait_ready(lambda: "web-2" not in serving(admin), 30, what="web-2 drained and removed")
        time.sleep(1.0)  # requests keep flowing over the three left

    assert len(load.outcomes) > 50
    assert set(load.outcomes) == {"200"}, load.tally()
    # One check interval (the balancer's default) plus one reconcile round and this
    # test's own polling (a status command per look) of slack.
    assert in_rotation_s <= INTER_S + RECONCILE_S + 2.0, in_rotation_s
    assert set(serving(admin)) == {"web-1", "web-3", "web-4"}
    assert cli.process("lb")["pid"] == lb_pid  # never restarted
