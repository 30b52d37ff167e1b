"""Schema migrations: applied once, whoever starts first, however many start at once."""

from concurrent.futures import ThreadPoolExecutor

import psycopg
import pytest

from millionscale.photos.schema import MIGRATIONS, migrate

pytestmark = pytest.mark.integration


def test_a_fresh_database_gets_every_migration_once(database_url: str):
    first = migrate(database_url)
    second = migrate(database_url)

    assert first == [version for version, _, _ in MIGRATIONS]
    assert second == []


def test_processes_starting_together_apply_each_migration_exactly_once(database_url: str):
    with ThreadPoolExecutor(max_workers=4) as pool:
        applied = list(pool.map(lambda _: migrate(database_url), range(4)))

    assert sorted(v for batch in applied for v in batch) == [v for v, _, _ in MIGRATIONS]
    with psycopg.connect(database_url) as conn:
        rows = conn.execute("SELECT version FROM schema_migrations ORDER BY version").fetchall()
    assert [row[0] for row in rows] == [v for v, _, _ in MIGRATIONS]
