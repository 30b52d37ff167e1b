"""``scale web=4`` then ``scale web=2`` under load: no failed request, and the balancer follows.

The topology (topologies/load-balanced-scaled.toml): a balancer on an edge host, the
web servers one replicated process (``replicas = 2``) each on a private host of its own
made from a 0.25-CPU template, PostgreSQL and Redis on hosts of their own. A bounded
request loop runs through the balancer all along. Scaling up starts web-3 and web-4,
each on a new host (a namespace on the subnet, a cgroup of the template's size), and
each is in the balancer's rotation within one health-check interval of being ready;
scaling down drains web-4 and web-3, which leave the balancer, then stop, their hosts
with them. The balancer is never restarted. What cannot be scaled is refused first,
the running supervisor saying why.
"""

import json
import time
from collections.abc import Iterable
from pathlib import Path

import pytest

from conftest import Cli, SignedInLoad, balancer, serving
from millionscale.lb.health import INTER_S
from millionscale.lb.membership import RECONCILE_S
from millionscale.servers import cgroups, netns
from millionscale.testing import read_topology, wait_ready
from millionscale.topology.admin import AdminClient
from millionscale.topology.state import StateDir

pytestmark = [
    pytest.mark.system,
    pytest.mark.skipif(netns.available() is not None, reason="hosts need network namespaces"),
    pytest.mark.skipif(cgroups.detect() not in ("v1", "v2"), reason="hosts need cgroups"),
]

TOPOLOGY = Path(__file__).parents[2] / "topologies" / "load-balanced-scaled.toml"
MAX_REQUESTS = 50_000  # the loop's bound; it stops sooner, when the test is done
POLL_S = 0.05
# One check interval (the balancer's default), one reconcile round, and this test's
# own polling of state.json and of the balancer's admin API.
IN_ROTATION_S = INTER_S + RECONCILE_S + 0.5


def _ready_now(cli: Cli) -> set[str]:
    """The processes state.json says are ready (what status and discovery say)."""
    state = StateDir(cli.state_dir).read_state() or {"processes": []}
    return {p["name"] for p in state["processes"] if p["state"] == "ready"}


def _in_rotation_after_ready(
    cli: Cli, admin: AdminClient, names: Iterable[str], timeout: float
) -> dict[str, float]:
    """For each of ``names``, the seconds from ready (in state.json) to serving (in the
    balancer), both watched at once."""
    ready_at: dict[str, float] = {}
    serving_at: dict[str, float] = {}
    deadline = time.monotonic() + timeout
    while len(serving_at) < len(list(names)):
        assert time.monotonic() < deadline, (ready_at, serving_at)
        now = time.monotonic()
        ready = _ready_now(cli)
        now_serving = serving(admin)
        for name in names:
            if name in ready:
                ready_at.setdefault(name, now)
            if now_serving.get(name) and name in ready_at:
                serving_at.setdefault(name, now)
        time.sleep(POLL_S)
    return {name: serving_at[name] - ready_at[name] for name in names}


def test_scaling_web_up_then_down_under_load_fails_no_request_and_the_balancer_follows(
    cli: Cli,
):
    began = time.monotonic()
    started = cli.run("up", str(TOPOLOGY), "--detach")
    assert started.returncode == 0, started.stdout + started.stderr
    base, admin, lb_pid = balancer(cli)
    assert set(serving(admin)) == {"web-1", "web-2"}
    for target, said in [
        ("nope=2", "404: no process or tier named nope runs here"),
        ("db=2", "409: db is not replicated (replicated here: web)"),
        ("web-1=3", "409: web-1 is one replica of web (scale the set: web=N)"),
    ]:
        refused = cli.run("scale", target)
        assert (refused.returncode, refused.stdout) == (2, ""), refused.stderr
        assert said in refused.stderr
    with SignedInLoad(base, max_requests=MAX_REQUESTS) as load:
        up = cli.run("scale", "web=4")
        assert up.returncode == 0, up.stdout + up.stderr
        assert "web: 4 replicas" in up.stdout
        assert "web-3" in up.stdout
        assert "web-4" in up.stdout
        lag = _in_rotation_after_ready(cli, admin, ["web-3", "web-4"], timeout=90)
        assert set(serving(admin)) == {"web-1", "web-2", "web-3", "web-4"}
        grown = cli.status()
        assert {p["name"] for p in grown["processes"]} >= {"web-3", "web-4"}
        hosts = {h["name"]: h for h in grown["hosts"]}
        assert hosts["web-3"]["cpus"] == hosts["web-4"]["cpus"] == 0.25
        assert hosts["web-3"]["limited"]
        running = read_topology(cli.state_dir)
        new_hosts = [running.host("web-3"), running.host("web-4")]
        time.sleep(1.0)  # requests flow over all four

        down = cli.run("scale", "web=2")
        assert down.returncode == 0, down.stdout + down.stderr
        assert "web: 2 replicas" in down.stdout
        assert down.stdout.index("web-4") < down.stdout.index("web-3")  # highest first
        assert "stopping" in down.stdout
        wait_ready(
            lambda: set(serving(admin)) == {"web-1", "web-2"},
            60,
            what="web-3 and web-4 drained and removed from the balancer",
            describe=lambda: serving(admin),
        )
        wait_ready(
            lambda: not {"web-3", "web-4"} & {p["name"] for p in cli.status()["processes"]},
            60,
            what="web-3 and web-4 stopped and gone",
        )
        time.sleep(1.0)  # requests keep flowing over the two left
    assert len(load.outcomes) > 100
    assert set(load.outcomes) == {"200"}, load.tally()
    assert all(seconds <= IN_ROTATION_S for seconds in lag.values()), lag
    shrunk = cli.status()
    assert {h["name"] for h in shrunk["hosts"]} == {
        "balancer",
        "web-1",
        "web-2",
        "database",
        "cache",
    }
    for host in new_hosts:  # their namespaces and cgroups went with them
        assert host.namespace is not None
        assert not netns.exists(host.namespace)
        assert host.cgroup is not None
        group = cgroups.Cgroup(host.cgroup, host.limits(), version=cgroups.detect())  # type: ignore[arg-type]
        assert not any(path.exists() for path in group.paths)
    assert cli.process("lb")["pid"] == lb_pid  # never restarted
    print(json.dumps({"in_rotation_s": lag, "requests": len(load.outcomes)}))
    assert time.monotonic() - began < 180
