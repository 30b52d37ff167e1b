"""A process past its host's memory is killed by the OOM killer and reported as such
(status --json: its note names the OOM killer and the host, the host counts the kill);
its neighbour on the host and the processes of other hosts run on."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from conftest import Cli
from millionscale.servers import cgroups, netns
from millionscale.testing import wait_ready

pytestmark = [
    pytest.mark.system,
    pytest.mark.skipif(netns.available() is not None, reason="hosts need network namespaces"),
    pytest.mark.skipif(cgroups.detect() not in ("v1", "v2"), reason="hosts need cgroups"),
]

# `grow` waits for its go file, then takes 8 MiB at a time (touched, so it is charged)
# until its 64 MiB host's OOM killer ends it; `calm` shares its host, `web` is elsewhere.
TOPOLOGY = """
[topology]
name = "oom"

[hosts.small]
cpus = 0.25
memory = "64MiB"

[hosts.other]
cpus = 0.25
memory = "256MiB"
network = "edge"

[processes.grow]
tier = "tool"
host = "small"
command = ["{python}", "-c", '''
import os, time
while not os.path.exists("{topology_dir}/go"):
    time.sleep(0.05)
blocks = []
for _ in range(256):
    blocks.append(bytearray(8 << 20))
    time.sleep(0.005)
time.sleep(60)
''']
readiness = { none = true }
restart = { policy = "never" }

[processes.calm]
tier = "tool"
host = "small"
command = ["{python}", "-c", "import time; time.sleep(600)"]
readiness = { none = true }

[processes.web]
tier = "web"
host = "other"
command = ["{python}", "-m", "millionscale.web.placeholder", "--host", "{host}", "--port", "{port}"]
readiness = { http = "/readyz", timeout_s = 60 }
"""


def _by_name(items: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {item["name"]: item for item in items}


def test_a_process_past_its_hosts_memory_is_killed_as_an_oom_and_the_rest_runs_on(cli: Cli):
    started = cli.run("up", str(cli.write_topology(TOPOLOGY)), "--detach")
    assert started.returncode == 0, started.stdout + started.stderr
    before = _by_name(cli.status()["processes"])
    home = cli.state_dir / "topologies" / "oom"

    (home / "go").touch()
    wait_ready(lambda: cli.process("grow")["state"] == "failed", 30, what="grow killed")

    status = cli.status()
    processes, hosts = _by_name(status["processes"]), _by_name(status["hosts"])
    note = processes["grow"]["note"]
    assert "killed by the OOM killer: host small is limited to 64 MiB" in note, note
    assert "not restarted (never)" in note
    assert hosts["small"]["oom_kills"] >= 1
    assert hosts["other"]["oom_kills"] == 0
    for name in ("calm", "web"):  # the same pid, still ready
        assert (processes[name]["state"], processes[name]["pid"]) == ("ready", before[name]["pid"])
    assert httpx.get(f"{processes['web']['url']}readyz", timeout=10).status_code == 200
