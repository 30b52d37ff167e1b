"""Replication in a topology file: who streams from whom, and how many standbys commits wait for."""

from pathlib import Path

import pytest
from factories import topology
from pydantic import ValidationError

from millionscale.servers import PostgresEngine
from millionscale.topology.resolve import resolve
from millionscale.topology.supervisor import engine_for_process


def pg(**extra):
    return {"tier": "db", "engine": "postgres", **extra}


def replica(of: str = "db", **extra):
    return pg(replica_of=of, depends_on=[of], **extra)


def test_a_primary_with_two_replicas_and_quorum_commit_is_accepted():
    parsed = topology(db=pg(synchronous=1), r1=replica(), r2=replica())

    assert parsed.processes["db"].synchronous == 1
    assert parsed.processes["r2"].replica_of == "db"


@pytest.mark.parametrize(
    ("processes", "message"),
    [
        ({"db": pg(synchronous=2), "r1": replica()}, "synchronous = 2 needs at least 2 replicas"),
        ({"db": pg(replica_of="db", depends_on=[])}, "replica_of names the process itself"),
        ({"db": pg(), "r1": pg(replica_of="db")}, "does not depend on it"),
        (
            {"db": pg(), "r1": replica(), "r2": replica(of="r1")},
            "itself a replica: point every replica at the primary",
        ),
        (
            {"cache": {"tier": "cache", "engine": "redis"}, "r1": replica(of="cache")},
            "not a PostgreSQL process",
        ),
        ({"cache": {"tier": "cache", "engine": "redis", "synchronous": 1}}, "for PostgreSQL"),
        ({"db": pg(), "r1": replica(synchronous=1)}, "set 'synchronous' on the primary"),
        ({"db": pg(durability="lossy"), "r1": replica()}, "'strict' or 'available'"),
        ({"db": pg(), "r1": replica(durability="available")}, "set 'durability' on the primary"),
        ({"cache": {"tier": "cache", "engine": "redis", "durability": "available"}}, "PostgreSQL"),
    ],
)
def test_replication_mistakes_are_refused_never_downgraded(processes, message):
    with pytest.raises(ValidationError, match=message):
        topology(**processes)


def _resolve(tmp_path: Path, **processes):
    ports = iter(range(41000, 42000))
    return resolve(
        topology(**processes),
        source=tmp_path / "t.toml",
        state_dir=tmp_path / "state",
        pick_port=lambda _host: next(ports),
        is_port_free=lambda _host, _port: True,
    )


def test_a_replica_shares_its_primarys_password(tmp_path: Path):
    resolved = _resolve(tmp_path, db=pg(), r1=replica())

    assert resolved.process("r1").secret == resolved.process("db").secret


def test_the_primary_waits_for_any_k_of_its_named_replicas(tmp_path: Path):
    resolved = _resolve(tmp_path, db=pg(synchronous=1), r1=replica(), r2=replica())
    processes = {p.name: p for p in resolved.processes}

    primary = engine_for_process(processes["db"], processes)
    standby = engine_for_process(processes["r2"], processes)
    assert isinstance(standby, PostgresEngine)

    assert primary.settings["synchronous_standby_names"] == 'ANY 1 ("r1", "r2")'
    assert standby.primary is not None
    assert standby.primary.port == processes["db"].ports["main"]
    assert standby.node_name == "r2"


def test_every_member_carries_any_k_of_the_others_and_follows_the_monitors_primary(
    tmp_path: Path,
):
    resolved = _resolve(tmp_path, db=pg(synchronous=1), r1=replica(), r2=replica())
    processes = {p.name: p for p in resolved.processes}
    after_failover = "r1"  # the primary the monitor recorded

    old_primary = engine_for_process(processes["db"], processes, after_failover)
    new_primary = engine_for_process(processes["r1"], processes, after_failover)
    other = engine_for_process(processes["r2"], processes, after_failover)
    assert isinstance(old_primary, PostgresEngine)
    assert isinstance(new_primary, PostgresEngine)
    assert isinstance(other, PostgresEngine)

    assert old_primary.settings["synchronous_standby_names"] == 'ANY 1 ("r1", "r2")'
    assert new_primary.settings["synchronous_standby_names"] == 'ANY 1 ("db", "r2")'
    assert new_primary.primary is None
    for follower in (old_primary, other):
        assert follower.primary is not None
        assert follower.primary.port == processes["r1"].ports["main"]
