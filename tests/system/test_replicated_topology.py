"""The replicated stage: a primary and two streaming replicas with quorum commit, via the CLI;
the web server's router takes them from discovery."""

import re
from pathlib import Path

import psycopg
import pytest

from conftest import Cli, all_dead, postgres_urls

pytestmark = pytest.mark.system

TOPOLOGY = Path(__file__).parents[2] / "topologies" / "replicated.toml"


def test_commits_wait_for_a_replica_and_every_replica_replays_them(cli: Cli):
    assert cli.run("up", str(TOPOLOGY), "--detach").returncode == 0
    urls = postgres_urls(cli)

    with psycopg.connect(urls["db"], autocommit=True) as primary:
        primary.execute("CREATE TABLE acks (id int PRIMARY KEY)")
        for i in range(20):
            primary.execute("INSERT INTO acks VALUES (%s)", (i,))
        standbys = primary.execute(
            "SELECT application_name, sync_state FROM pg_stat_replication ORDER BY 1"
        ).fetchall()
        (lsn,) = primary.execute("SELECT pg_current_wal_lsn()").fetchone() or (None,)

    assert standbys == [("db-r1", "quorum"), ("db-r2", "quorum")]
    for name in ("db-r1", "db-r2"):
        with psycopg.connect(urls[name], autocommit=True) as replica:
            for _ in range(100):  # replay is asynchronous to the ack: wait for it, bounded
                caught_up = replica.execute(
                    "SELECT pg_last_wal_replay_lsn() >= %s::pg_lsn", (lsn,)
                ).fetchone()
                if caught_up == (True,):
                    break
                replica.execute("SELECT pg_sleep(0.05)")
            count = replica.execute("SELECT count(*) FROM acks").fetchone()
        assert count == (20,)

    # The web server's router found its nodes through discovery, the monitor left out.
    web_log = (cli.state_dir / "logs" / "web.log").read_text()
    found = set(re.findall(r"([\w-]+) \((?:primary|replica)\) is in the db tier at ", web_log))
    assert found == {"db", "db-r1", "db-r2"}

    assert cli.run("down").returncode == 0
    log = (cli.state_dir / "logs" / "supervisor.log").read_text()
    assert all_dead([int(pid) for pid in re.findall(r"started as pid (\d+)", log)])
