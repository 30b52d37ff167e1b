"""A host's processes share its CPU quota: two busy loops on a 0.25-CPU host use at most
a quarter of a core between them, as status --json reports it from the host's cgroup
(the kernel-level check is tests/integration/test_host_cgroups.py)."""

from __future__ import annotations

import time
from typing import Any

import pytest

from conftest import Cli
from millionscale.servers import cgroups, netns
from millionscale.testing import wait_ready

pytestmark = [
    pytest.mark.system,
    pytest.mark.skipif(netns.available() is not None, reason="hosts need network namespaces"),
    pytest.mark.skipif(cgroups.detect() not in ("v1", "v2"), reason="hosts need cgroups"),
]

READINGS = 5  # status' CPU use is over the last second; one reading a second
BUSY = '["{python}", "-c", "while True: pass"]'
TOPOLOGY = f"""
[topology]
name = "busy"

[hosts.quarter]
cpus = 0.25
memory = "256MiB"

[processes.loop-1]
tier = "tool"
host = "quarter"
command = {BUSY}
readiness = {{ none = true }}

[processes.loop-2]
tier = "tool"
host = "quarter"
command = {BUSY}
readiness = {{ none = true }}
"""


def _host(cli: Cli) -> dict[str, Any]:
    return next(h for h in cli.status()["hosts"] if h["name"] == "quarter")


def test_busy_loops_on_a_quarter_core_host_use_at_most_a_quarter_of_a_core(cli: Cli):
    started = cli.run("up", str(cli.write_topology(TOPOLOGY)), "--detach")
    assert started.returncode == 0, started.stdout + started.stderr
    wait_ready(lambda: _host(cli)["cpu_used"] is not None, 10, what="a first CPU reading")
    first = _host(cli)

    used = []
    for _ in range(READINGS):
        time.sleep(1.0)
        used.append(_host(cli)["cpu_used"])
    last = _host(cli)

    assert cli.status()["hosts_limited"] is True
    assert max(used) <= 0.25 * 1.10, used  # two loops, each wanting a whole core
    assert max(used) >= 0.25 * 0.6, used  # they ran: busy, not idle
    assert last["throttled_s"] > first["throttled_s"]  # held at its quota
    assert last["cpus"] == 0.25
