"""read_topology: a state directory's topology.json, typed; a missing or bad one says so."""

from pathlib import Path

import pytest
from factories import topology

from millionscale.errors import SupervisorError, TopologyError
from millionscale.testing import read_topology
from millionscale.topology.resolve import resolve


def test_it_reads_back_what_up_saved(tmp_path: Path):
    ports = iter(range(42001, 42010))
    resolved = resolve(
        topology(db={"tier": "db", "engine": "postgres"}),
        source=Path("topologies/t.toml"),
        state_dir=tmp_path,
        pick_port=lambda host: next(ports),
        is_port_free=lambda host, port: True,
    )
    resolved.save(tmp_path / "topology.json")

    read = read_topology(tmp_path)

    assert read == resolved
    assert [(p.name, p.engine, p.ports["main"]) for p in read.processes] == [
        ("db", "postgres", 42001)
    ]


def test_a_state_directory_where_nothing_started_is_a_supervisor_error(tmp_path: Path):
    with pytest.raises(SupervisorError, match="nothing was started in") as err:
        read_topology(tmp_path)

    assert "millionscale up" in err.value.hint


def test_a_file_that_is_not_a_resolved_topology_is_a_topology_error(tmp_path: Path):
    (tmp_path / "topology.json").write_text('{"name": "x"}')

    with pytest.raises(TopologyError, match="is not a resolved topology"):
        read_topology(tmp_path)
