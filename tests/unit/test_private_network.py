"""The private subnet: its plan is pure, the file's rules are checked, and resolution
places processes and renders their placeholders from where they run."""

import ipaddress
from pathlib import Path

import pytest
from factories import topology
from pydantic import ValidationError

from millionscale.errors import TopologyError
from millionscale.servers import netns
from millionscale.topology.model import TopologyMeta
from millionscale.topology.network import plan
from millionscale.topology.resolve import resolve

WEB = {"tier": "web", "command": ["sh"], "network": "private"}


def test_plan_gives_each_member_a_namespace_and_the_edge_two_addresses(tmp_path: Path):
    network = plan(tmp_path, ["web-1", "web-2"], ["lb"], "10.77.3.0/24")

    web1, web2, lb = network.members
    assert [m.address for m in network.members] == ["10.77.3.10", "10.77.3.11", "10.77.3.2"]
    assert network.private == "10.77.3.0/25"
    assert lb.public_address == "10.77.3.130"
    assert lb.host_address == "10.77.3.129"
    assert web1.public_address is None
    assert web2.link is None
    assert lb.link is not None
    assert len(lb.link) <= 15  # the kernel's limit for an interface name
    assert {m.namespace for m in network.members} == {
        f"ms-{network.id}-web-1",
        f"ms-{network.id}-web-2",
        f"ms-{network.id}-lb",
    }
    # The public link is outside the private /25: the host reaches it, not the subnet.
    assert ipaddress.ip_address(lb.host_address) not in ipaddress.ip_network(network.private)


def test_plan_is_the_same_for_a_state_dir_and_differs_between_them(tmp_path: Path):
    first = plan(tmp_path / "a", ["web"], ["lb"])
    assert plan(tmp_path / "a", ["web"], ["lb"]) == first
    other = plan(tmp_path / "b", ["web"], ["lb"])
    assert other.id != first.id
    assert ipaddress.IPv4Network(first.subnet).subnet_of(ipaddress.IPv4Network("10.192.0.0/10"))


def test_plan_refuses_more_edges_than_it_has_room_for(tmp_path: Path):
    with pytest.raises(TopologyError, match="at most 8"):
        plan(tmp_path, [], [f"lb-{i}" for i in range(9)])


@pytest.mark.parametrize(
    ("processes", "message"),
    [
        (
            {"db": {"tier": "db", "engine": "postgres", "network": "private"}},
            "engines stay on the host network",
        ),
        (
            {
                "web": WEB,
                "lb": {
                    "tier": "lb",
                    "command": ["sh", "{web.address}"],
                    "depends_on": ["web"],
                },
            },
            "uses {web.address}, which it cannot reach",
        ),
        (
            {
                "db": {"tier": "db", "engine": "postgres"},
                "web": {**WEB, "env": {"DB": "{db.address}"}, "depends_on": ["db"]},
            },
            "uses {db.address}, which it cannot reach",
        ),
    ],
)
def test_the_file_refuses_what_cannot_be_reached(processes, message):
    with pytest.raises(ValidationError, match=message.replace("{", r"\{").replace("}", r"\}")):
        topology(**processes)


@pytest.mark.parametrize("subnet", ["8.8.8.0/24", "10.1.0.0/16", "10.1.0.7/24", "a network"])
def test_a_private_subnet_must_be_a_private_slash_24(subnet: str):
    with pytest.raises(ValidationError, match="private_subnet"):
        TopologyMeta(name="t", private_subnet=subnet)


def _resolve(tmp_path: Path, monkeypatch, *, root: bool):
    monkeypatch.setattr(
        netns, "available", lambda: None if root else "network namespaces need root"
    )
    parsed = topology(
        db={"tier": "db", "engine": "redis"},
        web={
            **WEB,
            "command": ["sh", "{host}:{port}"],
            "env": {"URL": "{db.url}"},
            "depends_on": ["db"],
        },
        lb={
            "tier": "lb",
            "command": ["sh", "{host}", "{web.address}"],
            "network": "edge",
            "depends_on": ["web"],
        },
    )
    ports = iter(range(41001, 41100))
    return resolve(
        parsed,
        source=Path("t.toml"),
        state_dir=tmp_path / "state",
        pick_port=lambda host: next(ports),
        is_port_free=lambda host, port: True,
    )


def test_resolution_places_processes_on_the_subnet_and_engines_behind_sockets(
    tmp_path: Path, monkeypatch
):
    resolved = _resolve(tmp_path, monkeypatch, root=True)

    network = resolved.network
    assert network is not None
    web, lb, db = resolved.process("web"), resolved.process("lb"), resolved.process("db")
    assert web.host == network.member("web").address
    assert web.netns == network.member("web").namespace
    assert lb.host == network.member("lb").public_address
    assert lb.argv == ["sh", lb.host, web.address]
    assert db.netns is None
    assert db.host == "127.0.0.1"
    assert db.socket_dir == f"/run/millionscale/{network.id}/db"
    assert web.env["URL"].startswith(f"unix://:{db.secret}@/run/millionscale/{network.id}/db/")
    assert resolved.network_note is None


def test_without_namespaces_everything_stays_on_loopback_and_the_topology_says_why(
    tmp_path: Path, monkeypatch
):
    resolved = _resolve(tmp_path, monkeypatch, root=False)

    assert resolved.network is None
    assert resolved.network_note == (
        "no private subnet (network namespaces need root): every process listens on loopback"
    )
    assert {p.host for p in resolved.processes} == {"127.0.0.1"}
    assert {p.netns for p in resolved.processes} == {None}
    assert resolved.process("web").env["URL"].startswith("redis://")
