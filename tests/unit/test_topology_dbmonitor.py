"""A topology's failover monitor: its command line, the role it claims, its fencer."""

import asyncio
import json
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from factories import topology

from millionscale.db.cluster import PRIMARY_ROLE
from millionscale.discovery import RoleClaim, Snapshot
from millionscale.errors import SupervisorError
from millionscale.servers.process import pid_alive, start_ticks
from millionscale.topology.dbmonitor import main, monitor_argv
from millionscale.topology.fencing import LocalFencer
from millionscale.topology.replication import PRIMARY_CLAIM, claimed_primary, cluster_of
from millionscale.topology.resolve import resolve
from millionscale.topology.state import StateDir, control_socket_for
from millionscale.topology.supervisor import Supervisor


def pg(**extra):
    return {"tier": "db", "engine": "postgres", **extra}


def replica(of: str = "db", **extra):
    return pg(replica_of=of, depends_on=[of], **extra)


def _resolve(tmp_path: Path, **processes):
    ports = iter(range(41000, 42000))
    return resolve(
        topology(**processes),
        source=tmp_path / "t.toml",
        state_dir=tmp_path / "state",
        pick_port=lambda _host: next(ports),
        is_port_free=lambda _host, _port: True,
    )


def test_each_member_takes_its_role_from_the_claimed_primary(tmp_path: Path):
    resolved = _resolve(tmp_path, db=pg(synchronous=1), r1=replica(), r2=replica())
    cluster = cluster_of(resolved.processes)
    assert cluster is not None

    assert cluster.roles(None) == {"db": "primary", "r1": "replica", "r2": "replica"}
    assert cluster.roles("r2") == {"db": "replica", "r1": "replica", "r2": "primary"}
    # a claim naming a node this topology no longer has: the topology file's primary
    assert cluster.roles("gone") == cluster.roles(None)


def test_the_members_start_after_the_claimed_primary_not_the_files(tmp_path: Path):
    web = {"tier": "web", "command": ["sh"], "depends_on": ["db", "r1"]}
    resolved = _resolve(tmp_path, db=pg(synchronous=1), r1=replica(), r2=replica(), web=web)
    cluster = cluster_of(resolved.processes)
    assert cluster is not None
    after = {
        claim: {p.name: cluster.depends_on(p, claim) for p in resolved.processes}
        for claim in (None, "r1")
    }

    assert after[None] == {"db": [], "r1": ["db"], "r2": ["db"], "web": ["db", "r1"]}
    # After a failover to r1 (the old primary a standby that needs r1 to start), r1 first.
    assert after["r1"] == {"db": ["r1"], "r1": [], "r2": ["r1"], "web": ["db", "r1"]}


def test_the_seam_is_the_role_the_monitor_claims():
    assert PRIMARY_CLAIM == PRIMARY_ROLE  # neither package imports the other
    assert claimed_primary({PRIMARY_CLAIM: RoleClaim("r1", 3)}) == "r1"
    assert claimed_primary({"cache/leader": RoleClaim("r1", 3)}) is None


def test_a_home_with_a_failover_record_and_no_claims_is_refused(tmp_path: Path):
    resolved = _resolve(tmp_path, db=pg(synchronous=1), r1=replica(), r2=replica())
    state = resolved.state()
    state.cluster.parent.mkdir(parents=True, exist_ok=True)
    state.cluster.write_text(json.dumps({"epoch": 3, "primary": "r1", "state": "healthy"}))

    with pytest.raises(SupervisorError, match="no role claims") as refused:
        Supervisor(resolved)  # an older version's home: who is primary is unknown

    assert "down --purge" in (refused.value.hint or "")
    state.roles.write_text(Snapshot(0, roles={PRIMARY_CLAIM: RoleClaim("r1", 3)}).dumps())
    assert claimed_primary(Supervisor(resolved).view.snapshot().roles) == "r1"


def test_the_monitor_gets_the_topologys_record_fencer_token_and_commit_rule(tmp_path: Path):
    resolved = _resolve(
        tmp_path, db=pg(synchronous=1, durability="available"), r1=replica(), r2=replica()
    )
    cluster = cluster_of(resolved.processes)
    assert cluster is not None
    state = resolved.state()

    argv = monitor_argv(state, cluster, ["--port", "9000"])

    assert argv[1:3] == ["-m", "millionscale.db.monitor"]
    options = dict(zip(argv[3::2], argv[4::2], strict=True))
    assert options == {
        "--discovery": f"unix:{control_socket_for(state.root)}",
        "--record": str(state.cluster),
        "--fence": f"millionscale.topology.fencing:local_fencer={state.root}",
        "--token-file": str(state.admin_token_file),
        "--synchronous": "1",
        "--durability": "available",
        "--port": "9000",
    }


def _postmaster() -> subprocess.Popen[bytes]:
    """A stand-in server, its own group's leader as the supervisor spawns one."""
    sleeper = [sys.executable, "-c", "import time; time.sleep(60)"]
    return subprocess.Popen(sleeper, start_new_session=True)


def _state_with(tmp_path: Path, name: str, pid: int, started: int | None) -> StateDir:
    state = StateDir(tmp_path)
    entry = {"name": name, "pid": pid, "started": started}
    state.state.write_text(json.dumps({"processes": [entry]}))
    return state


def test_the_local_fencer_kills_the_process_the_supervisor_published(tmp_path: Path):
    child = _postmaster()
    try:
        fencer = LocalFencer(_state_with(tmp_path, "db", child.pid, start_ticks(child.pid)))

        said = asyncio.run(fencer.fence("db"))

        assert said == f"killed db (pid {child.pid})"
        assert child.wait(timeout=5) == -signal.SIGKILL
    finally:
        child.kill()
        child.wait()


def test_the_local_fencer_never_signals_a_reused_pid(tmp_path: Path):
    child = _postmaster()
    try:
        wrong_start = (start_ticks(child.pid) or 0) + 1
        fencer = LocalFencer(_state_with(tmp_path, "db", child.pid, wrong_start))

        assert asyncio.run(fencer.fence("db")) == "db was not running"
        assert asyncio.run(fencer.shut_down("db", 1.0)) is None
        assert pid_alive(child.pid)
    finally:
        child.kill()
        child.wait()


def test_a_fast_shutdown_is_sigint_to_the_postmaster(tmp_path: Path):
    child = _postmaster()
    try:
        fencer = LocalFencer(_state_with(tmp_path, "db", child.pid, start_ticks(child.pid)))

        assert asyncio.run(fencer.shut_down("db", 5.0)) is None
        assert child.wait(timeout=5) == -signal.SIGINT
    finally:
        child.kill()
        child.wait()


def test_the_launcher_says_what_is_wrong_without_a_resolved_topology(tmp_path: Path, capsys):
    assert main([str(tmp_path), "--port", "1"]) == 2
    assert "cannot read the resolved topology" in capsys.readouterr().err
    assert main([]) == 2
    assert "usage: python -m millionscale.topology.dbmonitor" in capsys.readouterr().err


def test_the_launcher_refuses_a_topology_without_a_replicated_cluster(tmp_path: Path, capsys):
    resolved = _resolve(tmp_path, db=pg())
    state = resolved.state()
    state.create()
    state.topology.write_text(resolved.model_dump_json())

    assert main([str(state.root), "--port", "1"]) == 2
    assert "no PostgreSQL primary with replicas" in capsys.readouterr().err
