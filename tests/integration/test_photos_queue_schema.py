"""The photo app's migration 4 makes the queue's tables from the queue's own DDL: a migrated
database's queue_outbox, queue_outbox_rejected and queue_effects are, column for column and
index for index, what create_outbox_schema and create_effects_schema make."""

import asyncio

import psycopg
import pytest

from millionscale.photos.schema import migrate
from millionscale.queue import create_effects_schema, create_outbox_schema

pytestmark = pytest.mark.integration

COLUMNS = """
SELECT table_name, column_name, data_type, is_nullable, column_default, is_identity
FROM information_schema.columns
WHERE table_schema = %s AND table_name LIKE 'queue%%'
ORDER BY table_name, ordinal_position
"""
INDEXES = """
SELECT tablename, indexname, replace(indexdef, %s || '.', '')
FROM pg_indexes
WHERE schemaname = %s AND tablename LIKE 'queue%%'
ORDER BY tablename, indexname
"""


def queue_tables(url: str, schema: str) -> tuple[list[tuple], list[tuple]]:
    with psycopg.connect(url) as conn:
        return (
            conn.execute(COLUMNS, (schema,)).fetchall(),
            conn.execute(INDEXES, (schema, schema)).fetchall(),
        )


def test_migration_4_makes_the_queues_tables_as_the_queue_does(database_url: str):
    migrate(database_url)

    async def queue_own() -> None:
        async with await psycopg.AsyncConnection.connect(database_url, autocommit=True) as conn:
            await conn.execute("CREATE SCHEMA queue_own")
            await conn.execute("SET search_path TO queue_own")
            await create_outbox_schema(conn)
            await create_effects_schema(conn)

    asyncio.run(queue_own())
    migrated, made = queue_tables(database_url, "public"), queue_tables(database_url, "queue_own")

    assert {row[0] for row in migrated[0]} == {
        "queue_effects",
        "queue_outbox",
        "queue_outbox_rejected",
    }
    assert migrated == made
