"""A host joins and leaves a running fleet: its cgroup made on joining, removed on leaving
(on a fake v1 hierarchy), its figures listed meanwhile; a name taken twice is refused."""

from pathlib import Path

import pytest

from millionscale.errors import MembershipError
from millionscale.topology.hosts import Fleet
from millionscale.topology.resolve import ResolvedHost

MIB = 1024 * 1024


def _v1_root(tmp_path: Path) -> Path:
    for controller in ("cpu", "cpuacct", "memory"):
        (tmp_path / controller).mkdir()
    return tmp_path


def _host(name: str, *, cgroup: str | None) -> ResolvedHost:
    return ResolvedHost(
        name=name,
        cpus=0.25,
        memory_bytes=256 * MIB,
        datacenter="dc1",
        network="private",
        address="10.77.0.12",
        namespace=f"ms-x-{name}",
        cgroup=cgroup,
    )


def test_a_host_added_gets_its_cgroup_and_one_discarded_loses_it(tmp_path: Path):
    root = _v1_root(tmp_path)
    fleet = Fleet([_host("web-1", cgroup="ms-x-web-1")], "v1", root=root)
    fleet.create()

    fleet.add(_host("web-3", cgroup="ms-x-web-3"))

    quota = root / "cpu" / "millionscale" / "ms-x-web-3" / "cpu.cfs_quota_us"
    assert quota.read_text() == "50000\n"
    assert [f.name for f in fleet.figures()] == ["web-1", "web-3"]

    for made in root.glob("*/millionscale/ms-x-web-3/*"):
        made.unlink()  # a real cgroup's files go with its directory; these are plain files
    fleet.discard("web-3")

    assert not quota.parent.exists()
    assert (root / "cpu" / "millionscale" / "ms-x-web-1").is_dir()
    assert [f.name for f in fleet.figures()] == ["web-1"]
    fleet.discard("web-3")  # already gone: nothing


def test_an_unlimited_host_joins_without_a_cgroup(tmp_path: Path):
    fleet = Fleet([], None, root=tmp_path)

    fleet.add(_host("web-3", cgroup=None))

    assert list(tmp_path.iterdir()) == []
    assert [(f.name, f.limited) for f in fleet.figures()] == [("web-3", False)]


def test_a_host_name_that_runs_already_is_refused(tmp_path: Path):
    fleet = Fleet([_host("web-1", cgroup=None)], None, root=tmp_path)

    with pytest.raises(MembershipError, match="a host named web-1 already runs"):
        fleet.add(_host("web-1", cgroup=None))
