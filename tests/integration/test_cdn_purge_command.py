"""``millionscale cdn purge`` against a topology's edges (fake admin APIs on loopback):
each edge's count and the lag; exit 1 when an edge was not purged, 2 when none runs."""

import asyncio
import json
import sys
from pathlib import Path

import pytest
from purge_support import FakeEdge

from millionscale.cdn.purge import Purge, Purger
from millionscale.cli import _cdn, main
from millionscale.discovery import Member, StaticDiscovery
from millionscale.obs.admin import create_token
from millionscale.topology.model import Topology
from millionscale.topology.resolve import ResolvedTopology, resolve

pytestmark = pytest.mark.integration

EDGE = {
    "tier": "cdn",
    "role": "edge",
    "command": ["{python}", "-c", "pass"],
    "extra_ports": ["admin"],
}
FAR = "10.255.255.1"  # where discovery says the edges are: unroutable from here


def topology_with(tmp_path: Path, **processes: dict) -> ResolvedTopology:
    parsed = Topology.model_validate({"topology": {"name": "cdn-test"}, "processes": processes})
    resolved = resolve(parsed, source=tmp_path / "t.toml", state_dir=tmp_path / "state")
    resolved.state().create()
    return resolved


def members(resolved: ResolvedTopology) -> list[Member]:
    return [
        Member(
            name=p.name,
            tier="cdn",
            host=FAR,
            ports={"main": p.ports["main"], "admin": p.ports["admin"]},
        )
        for p in resolved.processes
    ]


def edge_for(resolved: ResolvedTopology, name: str, **options) -> FakeEdge:
    token = (resolved.state().admin_token_file).read_text().strip()
    return FakeEdge(name, token=token, bind=resolved.process(name).ports["admin"], **options)


@pytest.fixture
def running(monkeypatch, tmp_path: Path):
    """A topology of two edges, as the command finds it running (its discovery in memory)."""
    resolved = topology_with(tmp_path, **{"edge-1": EDGE, "edge-2": EDGE})
    create_token(resolved.state().admin_token_file)
    discovery = StaticDiscovery.of(members(resolved))
    monkeypatch.setattr(_cdn, "running_topology", lambda _state_dir: resolved)
    monkeypatch.setattr(_cdn, "with_control", lambda _state_dir, call: asyncio.run(call(discovery)))
    return resolved, discovery


def command(monkeypatch, capsys, resolved: ResolvedTopology, *argv: str) -> tuple[int, str, str]:
    state = str(resolved.state_dir)
    monkeypatch.setattr(sys, "argv", ["millionscale", "cdn", "purge", "--state-dir", state, *argv])
    with pytest.raises(SystemExit) as exited:
        main()
    out, err = capsys.readouterr()
    return int(exited.value.code or 0), out, err


def test_the_edges_are_reached_on_the_topologys_admin_ports_not_discoverys_address(running):
    resolved, discovery = running
    edges = _cdn._TopologyEdges(resolved)
    with edge_for(resolved, "edge-1") as one, edge_for(resolved, "edge-2") as two:
        purger = Purger(discovery, one.token, locate=edges.locate, connect=edges.connect)

        result = asyncio.run(purger.purge(Purge.tag("photo-4")))

        assert one.next_purge()["tag"] == two.next_purge()["tag"] == "photo-4"
    assert [r.address for r in result.edges] == [
        f"127.0.0.1:{resolved.process(name).ports['admin']}" for name in ("edge-1", "edge-2")
    ]


def test_a_purge_prints_each_edges_count_and_the_lag(monkeypatch, capsys, running):
    resolved, _ = running
    with edge_for(resolved, "edge-1", count=3), edge_for(resolved, "edge-2", count=0):
        code, out, _ = command(monkeypatch, capsys, resolved, "--tag", "photo-4")

    assert code == 0
    assert "purge of tag photo-4" in out
    assert "edge-1" in out
    assert "edge-2" in out
    assert "purge of tag photo-4: 2 of 2 edges, 3 objects, in " in out


def test_json_output_holds_every_edge_and_the_lag(monkeypatch, capsys, running):
    resolved, _ = running
    with edge_for(resolved, "edge-1"), edge_for(resolved, "edge-2"):
        code, out, _ = command(
            monkeypatch, capsys, resolved, "--prefix", "/static/", "--soft", "--json"
        )

    answer = json.loads(out)
    assert code == 0
    assert answer["purge"] == {"kind": "prefix", "value": "/static/", "soft": True}
    assert answer["complete"] is True
    assert [e["edge"] for e in answer["edges"]] == ["edge-1", "edge-2"]
    assert answer["lag_s"] == max(e["elapsed_s"] for e in answer["edges"])


def test_an_edge_not_purged_is_named_and_exits_1(monkeypatch, capsys, running):
    resolved, _ = running
    with edge_for(resolved, "edge-1"):  # edge-2 does not run
        code, out, err = command(monkeypatch, capsys, resolved, "--url", "/static/app.css")

    assert code == 1
    assert "not purged: edge-2: connection refused (3 attempts)" in out
    assert err == (
        "error: 1 of 2 edges not purged (they keep their copies until these expire;"
        " see 'millionscale status')\n"
    )


def test_a_topology_without_edges_is_one_line_and_exits_2(monkeypatch, capsys, tmp_path):
    resolved = topology_with(tmp_path, web={"tier": "web", "command": ["{python}", "-c", "pass"]})
    create_token(resolved.state().admin_token_file)
    monkeypatch.setattr(_cdn, "running_topology", lambda _state_dir: resolved)
    empty = StaticDiscovery.of([])
    monkeypatch.setattr(_cdn, "with_control", lambda _state_dir, call: asyncio.run(call(empty)))

    code, _, err = command(monkeypatch, capsys, resolved, "--tag", "photo-1")

    assert code == 2
    assert err == (
        "error: topology 'cdn-test' runs no CDN edge (no live member of tier 'cdn')"
        " (start one that does, e.g. 'millionscale up topologies/cdn.toml')\n"
    )
