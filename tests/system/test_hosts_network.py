"""Hosts meet only by address: a web host reaches another web host at that host's
address and never at its own loopback, and reaches the database host on its database
port and on no other (load-balanced.toml, as it runs)."""

from __future__ import annotations

from pathlib import Path

import pytest

from conftest import Cli, connect_result
from millionscale.servers import cgroups, netns
from millionscale.testing import read_topology

pytestmark = [
    pytest.mark.system,
    pytest.mark.skipif(netns.available() is not None, reason="hosts need network namespaces"),
    pytest.mark.skipif(cgroups.detect() not in ("v1", "v2"), reason="hosts need cgroups"),
]

TOPOLOGY = Path(__file__).parents[2] / "topologies" / "load-balanced.toml"


def test_a_web_host_reaches_another_only_at_its_address_and_the_database_only_on_its_port(
    cli: Cli,
):
    started = cli.run("up", str(TOPOLOGY), "--detach")
    assert started.returncode == 0, started.stdout + started.stderr
    resolved = read_topology(cli.state_dir)
    web1, web2, db = (resolved.process(name) for name in ("web-1", "web-2", "db"))
    assert web1.netns is not None
    assert (web1.on_host, web2.on_host, db.on_host) == ("web-1", "web-2", "database")

    def from_web1(address: tuple[str, int]) -> str:
        assert web1.netns is not None
        return connect_result(address, netns.socket_in(web1.netns))

    web2_port, db_port = web2.ports["main"], db.ports["main"]
    # Another web host: at its address, its app answers; its loopback is its own.
    assert from_web1((web2.host, web2_port)) == "connected"
    assert from_web1(("127.0.0.1", web2_port)) == "Connection refused"
    # The database host: its database port, and nothing else listens there.
    assert from_web1((db.host, db_port)) == "connected"
    other = web2_port if web2_port != db_port else web2_port + 1
    assert from_web1((db.host, other)) == "Connection refused"
    assert from_web1(("127.0.0.1", db_port)) == "Connection refused"
