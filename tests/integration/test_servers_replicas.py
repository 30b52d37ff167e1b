"""Throwaway streaming replicas: cloned from a real primary, kept in sync, read-only."""

import psycopg
import pytest

from millionscale.errors import ServerStartError
from millionscale.servers import PostgresEngine, start_replica, start_server

pytestmark = pytest.mark.integration


def test_a_replica_replays_what_the_primary_commits_and_refuses_writes():
    engine = PostgresEngine(
        durable=True, node_name="main", settings={"synchronous_standby_names": "ANY 1 (r1)"}
    )
    with start_server(engine) as primary, start_replica(primary, "r1") as replica:
        with psycopg.connect(primary.url, autocommit=True) as conn:
            conn.execute("CREATE TABLE t (id int PRIMARY KEY)")
            conn.execute("INSERT INTO t VALUES (1)")  # waits for r1: synchronous commit
            standbys = conn.execute(
                "SELECT application_name, sync_state FROM pg_stat_replication"
            ).fetchall()
            slots = conn.execute("SELECT slot_name, active FROM pg_replication_slots").fetchall()

        with psycopg.connect(replica.url, autocommit=True) as conn:
            in_recovery = conn.execute("SELECT pg_is_in_recovery()").fetchone()
            rows = conn.execute("SELECT id FROM t").fetchall()
            with pytest.raises(psycopg.errors.ReadOnlySqlTransaction):
                conn.execute("INSERT INTO t VALUES (2)")

    assert standbys == [("r1", "quorum")]
    assert slots == [("r1", True)]
    assert in_recovery == (True,)
    assert rows == [(1,)]


def test_a_replica_of_an_unreachable_primary_says_why():
    with start_server("postgres") as primary:
        gone = primary
    with pytest.raises(ServerStartError, match=r"pg_basebackup from 127\.0\.0\.1"):
        start_replica(gone, "orphan", ready_timeout=10)
