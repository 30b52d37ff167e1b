"""From the root namespace (the CLI, tools, tests, the load generator) an engine on a
host is reached through its Unix socket; a process copied at run time from one on a
host runs on that host."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import quote

from factories import resolved as resolved_on

from millionscale.servers import netns
from millionscale.topology.load import load_topology
from millionscale.topology.resolve import clone
from millionscale.topology.urls import engine_host, engine_url, process_url

STAGE3 = Path(__file__).parents[2] / "topologies" / "load-balanced.toml"


def test_an_engine_on_a_host_is_reached_from_the_root_namespace_through_its_socket(
    tmp_path, monkeypatch
):
    resolved = resolved_on(load_topology(STAGE3), tmp_path / "state", hosts=monkeypatch)
    db, cache = resolved.process("db"), resolved.process("cache")
    assert db.socket_dir is not None
    assert cache.socket_dir is not None

    assert engine_url(db).endswith(f"@/postgres?host={quote(db.socket_dir, safe='')}&port=41001")
    assert engine_url(cache) == f"unix://:{cache.secret}@{cache.socket_dir}/redis.sock?db=0"
    assert process_url(db) == engine_url(db)  # what status --json and db url print
    assert engine_host(db) == db.socket_dir  # psql's host=
    # The web hosts reach it by address, as machines do.
    assert f"@{db.host}:41001/" in resolved.process("web-1").env["DATABASE_URL"]


def test_an_engine_on_no_host_is_reached_over_tcp(tmp_path, monkeypatch):
    monkeypatch.setattr(netns, "available", lambda: "network namespaces need root")
    resolved = resolved_on(load_topology(STAGE3), tmp_path / "state", limits=False)
    db = resolved.process("db")

    assert (db.netns, db.host) == (None, "127.0.0.1")
    assert engine_url(db).endswith(f"@127.0.0.1:{db.ports['main']}/postgres")
    assert engine_host(db) == "127.0.0.1"


def test_a_copy_of_a_process_on_a_host_runs_on_that_host_with_ports_of_its_own(
    tmp_path, monkeypatch
):
    parsed = load_topology(STAGE3)
    resolved = resolved_on(parsed, tmp_path / "state", hosts=monkeypatch)
    web1 = resolved.process("web-1")
    handed = iter([web1.ports["main"], 42001])  # web-1's own port is taken on its host: skipped

    web4 = clone(
        resolved, parsed.processes["web-1"], "web-4", "web-1", pick_port=lambda host: next(handed)
    )

    assert (web4.on_host, web4.netns, web4.host) == ("web-1", web1.netns, web1.host)
    assert web4.ports == {"main": 42001}
    assert web4.env["DATABASE_URL"] == web1.env["DATABASE_URL"]  # by address, from the subnet
    assert web4.argv is not None
    assert web4.argv[web4.argv.index("--host") + 1] == web1.host
