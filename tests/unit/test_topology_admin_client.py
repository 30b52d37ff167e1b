"""Finding a topology's admin API: by tier and role, never by what its command line says."""

from pathlib import Path

import pytest
from factories import SLEEP, with_admin_token

from millionscale.errors import TopologyError
from millionscale.topology.admin import BALANCER, FAILOVER_MONITOR, admin_client


def test_an_admin_port_is_reached_on_the_loopback_of_the_processs_namespace(tmp_path: Path):
    resolved = with_admin_token(
        tmp_path, lb={"tier": "lb", "role": "balancer", "command": SLEEP, "extra_ports": ["admin"]}
    )

    client = admin_client(resolved, BALANCER)

    assert (client.host, client.port) == ("127.0.0.1", resolved.process("lb").ports["admin"])
    assert client.namespace == resolved.process("lb").netns
    assert client.what == "load balancer"


def test_without_an_admin_port_the_main_port_serves_it(tmp_path: Path):
    resolved = with_admin_token(tmp_path, mon={"tier": "db", "role": "monitor", "command": SLEEP})

    client = admin_client(resolved, FAILOVER_MONITOR)

    process = resolved.process("mon")
    assert (client.host, client.port) == (process.host, process.ports["main"])


def test_a_process_that_runs_the_module_under_another_role_is_not_taken_for_it(tmp_path: Path):
    command = ["{python}", "-m", "millionscale.lb", "--port", "{port}"]
    resolved = with_admin_token(tmp_path, web={"tier": "web", "role": "app", "command": command})

    with pytest.raises(TopologyError, match="runs no load balancer") as refused:
        admin_client(resolved, BALANCER)

    assert "tier 'lb', role 'balancer'" in refused.value.message
