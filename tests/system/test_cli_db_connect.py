"""`db url` and `db psql`: a user connects to the database with their own tools."""

import psycopg
import pytest

from conftest import Cli

pytestmark = pytest.mark.system

TOPOLOGY = """
[topology]
name = "with-db"

[processes.db]
tier = "db"
engine = "postgres"
durable = false

[processes.cache]
tier = "cache"
engine = "redis"
durable = false
"""


@pytest.fixture
def running(cli: Cli) -> Cli:
    up = cli.run("up", str(cli.write_topology(TOPOLOGY)), "--detach")
    assert up.returncode == 0, up.stderr
    return cli


def test_db_url_prints_the_primarys_url_a_client_can_connect_with(running: Cli):
    result = running.run("db", "url")

    url = result.stdout.strip()
    assert result.returncode == 0, result.stderr
    assert url == running.process("db")["url"]
    with psycopg.connect(url, connect_timeout=5) as conn:
        assert conn.execute("SELECT NOT pg_is_in_recovery()").fetchone() == (True,)


def test_db_psql_runs_psql_on_the_current_primary(running: Cli):
    result = running.run("db", "psql", "-c", "SELECT current_setting('port'), 40 + 2")

    port = running.process("db")["address"].rsplit(":", 1)[1]
    assert result.returncode == 0, result.stderr
    assert "42" in result.stdout
    assert port in result.stdout


def test_a_node_that_is_not_a_database_is_refused_with_the_ones_that_are(running: Cli):
    result = running.run("db", "url", "cache")

    assert result.returncode == 2
    assert result.stderr.strip() == (
        "error: 'cache' is not a PostgreSQL node of topology 'with-db' (known: db)"
    )
