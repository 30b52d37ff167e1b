"""The resolved topology is saved owner-only and read back exactly."""

import stat
from pathlib import Path

import pytest
from factories import topology

from millionscale.topology.resolve import ResolvedTopology, resolve


def _resolved(tmp_path: Path) -> ResolvedTopology:
    ports = iter(range(41001, 41010))
    return resolve(
        topology(
            db={"tier": "db", "engine": "postgres"},
            web={
                "tier": "web",
                "command": ["{python}", "--port", "{port}"],
                "env": {"DATABASE_URL": "{db.url}"},
                "depends_on": ["db"],
                "readiness": {"http": "/readyz"},
                "restart": {"policy": "always"},
            },
        ),
        source=Path("topologies/t.toml"),
        state_dir=tmp_path / "state",
        pick_port=lambda host: next(ports),
        is_port_free=lambda host, port: True,
    )


def test_a_saved_topology_reads_back_equal(tmp_path: Path):
    resolved = _resolved(tmp_path)
    path = tmp_path / "state" / "topology.json"

    resolved.save(path)

    assert ResolvedTopology.read(path) == resolved


def test_the_saved_file_is_readable_by_the_owner_only(tmp_path: Path):
    resolved = _resolved(tmp_path)
    path = tmp_path / "state" / "topology.json"

    resolved.save(path)

    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_saving_again_replaces_the_file_and_leaves_no_temporary_behind(tmp_path: Path):
    resolved = _resolved(tmp_path)
    path = tmp_path / "state" / "topology.json"
    path.write_text("old")

    resolved.save(path)

    assert ResolvedTopology.read(path) == resolved
    assert sorted(p.name for p in path.parent.iterdir()) == ["topologies", "topology.json"]


def test_the_resolved_topology_keeps_name_source_and_start_order(tmp_path: Path):
    resolved = _resolved(tmp_path)

    assert resolved.name == "t"
    assert resolved.source == "topologies/t.toml"
    assert [p.name for p in resolved.processes] == ["db", "web"]
    assert resolved.process("web").restart.policy == "always"


def test_asking_for_a_process_not_in_the_topology_raises_key_error(tmp_path: Path):
    resolved = _resolved(tmp_path)

    with pytest.raises(KeyError):
        resolved.process("nope")
