"""Data centers in the topology: a process stands where its host does, the file's
rules for ``datacenter`` and ``[wan]``, and the network plan's sites (a bridge per
data center, one wide-area link between them, addresses unchanged)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from factories import resolved
from pydantic import ValidationError

from millionscale.errors import TopologyError
from millionscale.topology.model import Topology
from millionscale.topology.network import plan, wan_command, with_member

SMALL = {"cpus": 0.25, "memory": "256MiB"}


def two_sites(**extra: Any) -> Topology:
    return Topology.model_validate(
        {
            "topology": {"name": "t"},
            "hosts": {
                "a": {**SMALL, "datacenter": "east"},
                "b": {**SMALL, "datacenter": "west"},
            },
            "processes": {
                "db": {"tier": "db", "engine": "postgres", "host": "a"},
                "web": {"tier": "web", "command": ["sh"], "host": "b", "depends_on": ["db"]},
            },
            **extra,
        }
    )


def test_a_process_stands_in_its_hosts_data_center(tmp_path: Path, monkeypatch):
    parsed = two_sites(wan={"latency_ms": 10, "jitter_ms": 1})

    assert parsed.datacenters == ["east", "west"]
    topology = resolved(parsed, tmp_path, hosts=monkeypatch)

    assert {p.name: p.datacenter for p in topology.processes} == {"db": "east", "web": "west"}
    network = topology.network
    assert network is not None
    assert network.datacenters == ["east", "west"]
    assert (network.wan_latency_ms, network.wan_jitter_ms) == (10, 1)
    assert [m.datacenter for m in network.members] == ["east", "west"]
    assert network.switch_of("east") == network.switch == f"ms-{network.id}-lan"
    assert network.switch_of("west") == f"ms-{network.id}-lan-west"
    assert network.wan == f"ms-{network.id}-wan"


def test_the_wide_area_link_has_a_port_per_data_center(tmp_path: Path):
    sites = {"a": "east", "b": "west", "c": "witness", "d": "east"}
    network = plan(tmp_path, ["a", "b", "c", "d"], [], datacenters=sites, wan_latency_ms=15)

    assert network.datacenters == ["east", "west", "witness"]
    argv = wan_command(network, "python")
    assert argv is not None
    assert argv[:3] == ["python", "-m", "millionscale.chaos.wanlink"]
    assert argv[argv.index("--latency-ms") + 1] == "15"
    assert argv[-3:] == ["site0", "site1", "site2"]  # interface names of 15 bytes at most
    # One subnet across the sites: addresses are handed out as with one.
    assert [m.address for m in network.members] == [
        plan(tmp_path, ["a", "b", "c", "d"], []).members[i].address for i in range(4)
    ]


def test_one_data_center_has_no_wide_area_link(tmp_path: Path):
    network = plan(tmp_path, ["a", "b"], ["lb"])

    assert network.datacenters == ["dc1"]
    assert network.wan is None
    assert wan_command(network, "python") is None


def test_a_member_joins_the_data_center_it_is_told_and_only_one_that_exists(tmp_path: Path):
    network = plan(tmp_path, ["a", "b"], [], datacenters={"a": "east", "b": "west"})

    grown = with_member(network, "web-9", "west")
    joined = grown.member("web-9")
    assert joined is not None
    assert joined.datacenter == "west"
    with pytest.raises(TopologyError, match="'north' is not a data center"):
        with_member(network, "web-9", "north")


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (
            {
                "processes": {
                    "db": {"tier": "db", "engine": "postgres", "host": "a", "datacenter": "west"}
                }
            },
            "its host 'a' stands in 'east'",
        ),
        (
            {"hosts": {"a": SMALL, "b": SMALL}, "wan": {"latency_ms": 5}},
            r"\[wan\] joins data centers",
        ),
        ({"wan": {"latency_ms": 5, "jitter_ms": 6}}, "cannot arrive before it was sent"),
        ({"wan": {"latency_ms": -1}}, "greater than or equal to 0"),
        ({"wan": {"latency": 5}}, "Extra inputs are not permitted"),
        ({"hosts": {"a": {**SMALL, "datacenter": "East Coast"}}}, "should match pattern"),
        ({"hosts": {"a": {**SMALL, "datacenter": "a" * 17}}}, "should match pattern"),
    ],
)
def test_the_file_refuses_what_cannot_stand(change: dict[str, Any], message: str):
    data: dict[str, Any] = {
        "topology": {"name": "t"},
        "hosts": {"a": {**SMALL, "datacenter": "east"}, "b": {**SMALL, "datacenter": "west"}},
        "processes": {"db": {"tier": "db", "engine": "postgres", "host": "a"}},
    }
    for key, value in change.items():
        data[key] = {**data.get(key, {}), **value} if key != "wan" else value
    with pytest.raises(ValidationError, match=message):
        Topology.model_validate(data)
