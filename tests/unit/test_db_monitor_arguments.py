"""The monitor's inputs: nodes from discovery, a fencer by name; bad ones get a clear error."""

import asyncio

import pytest

from millionscale.db.cluster import PRIMARY_ROLE, cluster_from
from millionscale.db.fencing import CommandFencer, Fencer, load_fencer
from millionscale.db.monitor import main
from millionscale.discovery import Member, RoleClaim, Snapshot
from millionscale.errors import ConfigError, DatabaseError


def node(name: str, role: str, port: int = 5432, tier: str = "db") -> Member:
    return Member(name=name, tier=tier, host="10.0.0.1", ports={"main": port}, role=role)


def snapshot(*members: Member, roles: dict[str, RoleClaim] | None = None) -> Snapshot:
    return Snapshot(1, members, roles or {})


def test_the_cluster_is_the_primary_and_replicas_of_tier_db():
    cluster = cluster_from(
        snapshot(
            node("db", "primary", 5432),
            node("db-r1", "replica", 5433),
            node("db-monitor", "monitor", 8000),
            node("web-1", "replica", 8001, tier="web"),
        ),
        synchronous=1,
        password="pw",
    )

    assert cluster.primary == "db"
    assert sorted(cluster.nodes) == ["db", "db-r1"]
    assert cluster.nodes["db-r1"].address == "10.0.0.1:5433"
    assert cluster.spec().members == {"db": "10.0.0.1:5432", "db-r1": "10.0.0.1:5433"}
    assert cluster.url("db") == "postgresql://postgres:pw@10.0.0.1:5432/postgres"


def test_the_primary_claim_wins_over_the_configured_role():
    cluster = cluster_from(
        snapshot(
            node("db", "primary"),
            node("db-r1", "replica"),
            roles={PRIMARY_ROLE: RoleClaim("db-r1", 3)},
        )
    )

    assert cluster.primary == "db-r1"


@pytest.mark.parametrize(
    ("members", "message"),
    [
        ((node("db", "primary"),), "needs a primary and at least one replica"),
        ((node("db", "replica"), node("db-r1", "replica")), "0 members with role 'primary'"),
        ((node("db", "primary"), node("db-r1", "primary")), "2 members with role 'primary'"),
    ],
)
def test_a_discovery_view_without_one_primary_and_a_replica_is_refused(members, message):
    with pytest.raises(DatabaseError, match=message) as raised:
        cluster_from(snapshot(*members))

    assert raised.value.hint


@pytest.mark.parametrize("synchronous", [-1, 2])
def test_a_commit_rule_the_replicas_cannot_meet_is_refused(synchronous):
    with pytest.raises(DatabaseError, match=f"ANY {synchronous} of the 1 replicas"):
        cluster_from(
            snapshot(node("db", "primary"), node("r1", "replica")), synchronous=synchronous
        )


def test_a_fencer_is_named_as_module_factory_and_argument():
    fencer = load_fencer("millionscale.db.fencing:command_fencer=/usr/local/bin/fence --hard")

    assert isinstance(fencer, CommandFencer)
    assert isinstance(fencer, Fencer)
    assert fencer.command == ("/usr/local/bin/fence", "--hard")


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("local", "is not MODULE:FACTORY"),
        ("millionscale.nowhere:f", "cannot import millionscale.nowhere"),
        ("millionscale.db.fencing:nothing", "has no factory nothing"),
        ("millionscale.db.cluster:Node=x", "Node refused it"),
        ("millionscale.db.cluster:read_record", "refused it"),
        ("millionscale.db.fencing:COMMAND_TIMEOUT_S", "has no factory"),
        ("millionscale.db.lsn:format_lsn=1", "refused it|not a Fencer"),
        ("millionscale.db.fencing:command_fencer=", "the fencing command is empty"),
    ],
)
def test_a_fencer_that_does_not_load_is_a_config_error(spec, message):
    with pytest.raises(ConfigError, match=message):
        load_fencer(spec)


def test_a_failing_fence_command_raises_and_says_why(tmp_path):
    script = tmp_path / "fence"
    script.write_text("#!/bin/sh\necho 'no route to the PDU' >&2\nexit 3\n")
    script.chmod(0o755)
    fencer = CommandFencer([str(script)])

    with pytest.raises(DatabaseError, match="exited 3: no route to the PDU"):
        asyncio.run(fencer.fence("db"))
    stopped = asyncio.run(fencer.shut_down("db", 5.0))
    assert stopped == f"{script} stop db exited 3: no route to the PDU"


def test_a_fence_command_that_succeeds_fences():
    fencer = CommandFencer(["true"])

    assert asyncio.run(fencer.fence("db")) == "true fenced db"
    assert asyncio.run(fencer.shut_down("db", 5.0)) is None


def test_the_monitor_refuses_a_discovery_file_without_a_cluster(tmp_path, capsys):
    nodes = tmp_path / "nodes.json"
    nodes.write_text(snapshot(node("db", "primary")).dumps())
    (tmp_path / "token").write_text("t\n")
    (tmp_path / "token").chmod(0o600)
    args = ["--record", str(tmp_path / "r.json"), "--port", "1"]
    args += ["--fence", "millionscale.db.fencing:command_fencer=true"]

    code = main(["--discovery", f"file:{nodes}", "--token-file", str(tmp_path / "token"), *args])

    assert code == 2
    assert "needs a primary and at least one replica" in capsys.readouterr().err


@pytest.mark.parametrize("token", [None, ""])
def test_the_monitor_wants_a_token_file_it_can_read(tmp_path, capsys, token):
    if token is not None:
        (tmp_path / "token").write_text(token)
        (tmp_path / "token").chmod(0o600)
    args = ["--record", str(tmp_path / "r.json"), "--port", "1", "--fence", "m:f"]

    code = main(["--discovery", "file:x", "--token-file", str(tmp_path / "token"), *args])

    assert code == 2
    assert "admin token at" in capsys.readouterr().err
