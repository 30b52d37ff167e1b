"""A private member joins or leaves the planned subnet at run time: the lowest free
address, a namespace of its own, a bridge port name the kernel accepts."""
# Members are found by name (Member | None):
# mypy: disable-error-code="union-attr"

from pathlib import Path

import pytest

from millionscale.errors import TopologyError
from millionscale.topology.network import plan, with_member, without_member


def test_a_joining_member_takes_the_lowest_free_address_and_a_namespace(tmp_path: Path):
    network = without_member(
        plan(tmp_path, ["web-1", "web-2", "web-3"], ["lb"], "10.77.3.0/24"), "web-2"
    )

    grown = with_member(network, "web-4")

    web4 = grown.member("web-4")
    assert web4 is not None
    assert web4.address == "10.77.3.11"  # web-2's, freed
    assert web4.namespace == f"ms-{network.id}-web-4"
    assert web4.public_address is None
    assert len(grown.members) == len(network.members) + 1


def test_a_member_cannot_join_twice_nor_a_full_subnet(tmp_path: Path):
    network = with_member(
        plan(tmp_path, [f"web-{i}" for i in range(116)], [], "10.77.3.0/24"), "last"
    )
    assert network.member("last").address == "10.77.3.126"

    with pytest.raises(TopologyError, match="already on the private subnet"):
        with_member(network, "web-1")
    with pytest.raises(TopologyError, match="no free address"):
        with_member(network, "web-999")


def test_leaving_drops_only_that_member(tmp_path: Path):
    network = plan(tmp_path, ["web-1", "web-2"], ["lb"], "10.77.3.0/24")

    smaller = without_member(network, "web-1")

    assert [m.name for m in smaller.members] == ["web-2", "lb"]
    assert without_member(smaller, "web-1") == smaller
