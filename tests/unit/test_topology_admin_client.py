"""Finding a topology's admin API: by tier and role, never by what its command line says."""

from pathlib import Path

import pytest
from factories import topology

from millionscale.errors import TopologyError
from millionscale.obs.admin import create_token
from millionscale.topology.admin import BALANCER, FAILOVER_MONITOR, admin_client
from millionscale.topology.resolve import ResolvedTopology, resolve

SLEEP = ["{python}", "-c", "pass"]  # what the command runs does not matter here


def _resolve(tmp_path: Path, **processes) -> ResolvedTopology:
    ports = iter(range(43000, 44000))
    resolved = resolve(
        topology(**processes),
        source=tmp_path / "t.toml",
        state_dir=tmp_path / "state",
        pick_port=lambda _host: next(ports),
        is_port_free=lambda _host, _port: True,
    )
    resolved.state().create()
    create_token(resolved.state().admin_token_file)
    return resolved


def test_an_admin_port_is_reached_on_the_loopback_of_the_processs_namespace(tmp_path: Path):
    resolved = _resolve(
        tmp_path, lb={"tier": "lb", "role": "balancer", "command": SLEEP, "extra_ports": ["admin"]}
    )

    client = admin_client(resolved, BALANCER)

    assert (client.host, client.port) == ("127.0.0.1", resolved.process("lb").ports["admin"])
    assert client.namespace == resolved.process("lb").netns
    assert client.what == "load balancer"


def test_without_an_admin_port_the_main_port_serves_it(tmp_path: Path):
    resolved = _resolve(tmp_path, mon={"tier": "db", "role": "monitor", "command": SLEEP})

    client = admin_client(resolved, FAILOVER_MONITOR)

    process = resolved.process("mon")
    assert (client.host, client.port) == (process.host, process.ports["main"])


def test_a_process_that_runs_the_module_under_another_role_is_not_taken_for_it(tmp_path: Path):
    command = ["{python}", "-m", "millionscale.lb", "--port", "{port}"]
    resolved = _resolve(tmp_path, web={"tier": "web", "role": "app", "command": command})

    with pytest.raises(TopologyError, match="runs no load balancer") as refused:
        admin_client(resolved, BALANCER)

    assert "tier 'lb', role 'balancer'" in refused.value.message
