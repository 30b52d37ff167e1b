"""A throwaway PostgreSQL: real server, real client, its own account, its own secret."""

import os

import psycopg
import pytest

from millionscale.servers import RunningServer

pytestmark = pytest.mark.integration


def test_serves_sql_over_loopback(postgres: RunningServer):
    with psycopg.connect(postgres.url) as conn:
        conn.execute("CREATE TABLE t (id int PRIMARY KEY, body text)")
        conn.execute("INSERT INTO t VALUES (1, 'hello')")
        row = conn.execute("SELECT body FROM t WHERE id = 1").fetchone()

    assert row == ("hello",)
    assert postgres.host == "127.0.0.1"


def test_is_ready_for_replication_and_rewind(postgres: RunningServer):
    with psycopg.connect(postgres.url) as conn:
        settings: dict[str, str] = dict(
            conn.execute(
                "SELECT name, setting FROM pg_settings WHERE name IN "
                "('wal_level', 'wal_log_hints', 'listen_addresses')"
            ).fetchall()
        )

    assert settings == {
        "wal_level": "replica",
        "wal_log_hints": "on",
        "listen_addresses": "127.0.0.1",
    }


def test_refuses_a_wrong_password(postgres: RunningServer):
    wrong = postgres.url.replace(postgres.endpoint.secret, "not-the-secret")

    with pytest.raises(psycopg.OperationalError, match="password authentication failed"):
        psycopg.connect(wrong, connect_timeout=2)


@pytest.mark.skipif(os.geteuid() != 0, reason="only root must hand PostgreSQL to another account")
def test_runs_as_an_unprivileged_account_when_we_are_root(postgres: RunningServer):
    with open(f"/proc/{postgres.pid}/status") as status:
        uid_line = next(line for line in status if line.startswith("Uid:"))

    assert int(uid_line.split()[1]) != 0


def test_session_server_is_shared(postgres_session: RunningServer):
    with psycopg.connect(postgres_session.url) as conn:
        conn.execute("CREATE TABLE IF NOT EXISTS shared_marker (id int)")
        conn.execute("INSERT INTO shared_marker VALUES (1)")

    assert postgres_session.alive()


def test_session_server_keeps_what_earlier_tests_wrote(postgres_session: RunningServer):
    with psycopg.connect(postgres_session.url) as conn:
        conn.execute("CREATE TABLE IF NOT EXISTS shared_marker (id int)")
        conn.execute("INSERT INTO shared_marker VALUES (2)")
        count = conn.execute("SELECT count(*) FROM shared_marker").fetchone()

    assert count is not None
    assert count[0] >= 1
