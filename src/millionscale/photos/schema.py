"""The photo app's schema, as numbered migrations applied at start.

Each migration runs once, in its own transaction, recorded in
``schema_migrations``. Several app processes starting at once are serialised
by an advisory lock, so exactly one applies a pending migration and the others
see it applied: starting is idempotent however many web servers start.
"""

from __future__ import annotations

import psycopg

from millionscale.queue.idempotency import EFFECTS_SCHEMA
from millionscale.queue.outbox import OUTBOX_SCHEMA
from millionscale.web.sessions import SESSIONS_SCHEMA
from millionscale.web.throttle import FAILURE_TABLE_SCHEMA

__all__ = ["MIGRATIONS", "migrate"]

_LOCK_KEY = 0x6D_73_70_68  # "msph": the advisory lock of this app's migrations

MIGRATIONS: tuple[tuple[int, str, str], ...] = (
    (
        1,
        "users, follows, photos, likes",
        """
        CREATE TABLE users (
            id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
            username      text NOT NULL UNIQUE,
            password_hash text NOT NULL,
            created_at    timestamptz NOT NULL DEFAULT now()
        );
        CREATE TABLE follows (
            follower_id  bigint NOT NULL REFERENCES users (id) ON DELETE CASCADE,
            followee_id  bigint NOT NULL REFERENCES users (id) ON DELETE CASCADE,
            created_at   timestamptz NOT NULL DEFAULT now(),
            PRIMARY KEY (follower_id, followee_id),
            CHECK (follower_id <> followee_id)
        );
        CREATE INDEX follows_followee ON follows (followee_id);
        CREATE TABLE photos (
            id             bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
            owner_id       bigint NOT NULL REFERENCES users (id) ON DELETE CASCADE,
            caption        text NOT NULL DEFAULT '',
            media_path     text NOT NULL,
            thumbnail_path text NOT NULL,
            width          int NOT NULL,
            height         int NOT NULL,
            like_count     bigint NOT NULL DEFAULT 0,
            created_at     timestamptz NOT NULL DEFAULT clock_timestamp()
        );
        CREATE INDEX photos_owner_recent ON photos (owner_id, created_at DESC, id DESC);
        CREATE TABLE likes (
            user_id    bigint NOT NULL REFERENCES users (id) ON DELETE CASCADE,
            photo_id   bigint NOT NULL REFERENCES photos (id) ON DELETE CASCADE,
            created_at timestamptz NOT NULL DEFAULT now(),
            PRIMARY KEY (photo_id, user_id)
        );
        """,
    ),
    (2, "sessions of the web tier", SESSIONS_SCHEMA),
    (3, "failed logins, counted by the login throttle", FAILURE_TABLE_SCHEMA),
    (
        4,
        "the queued mode: thumbnails made later, precomputed timelines, the outbox",
        """
        ALTER TABLE photos ALTER COLUMN thumbnail_path DROP NOT NULL;
        CREATE TABLE timeline_entries (
            user_id    bigint NOT NULL REFERENCES users (id) ON DELETE CASCADE,
            photo_id   bigint NOT NULL REFERENCES photos (id) ON DELETE CASCADE,
            created_at timestamptz NOT NULL,
            PRIMARY KEY (user_id, photo_id)
        );
        CREATE INDEX timeline_entries_recent
            ON timeline_entries (user_id, created_at DESC, photo_id DESC);
        CREATE INDEX timeline_entries_photo ON timeline_entries (photo_id);
        -- the fan-out's keyset over an author's followers
        CREATE INDEX follows_followee_follower ON follows (followee_id, follower_id);
        CREATE TABLE celebrities (
            user_id   bigint PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
            since     timestamptz NOT NULL DEFAULT now()
        );
        """
        # The queue's own DDL, written once in millionscale.queue (what
        # create_outbox_schema and create_effects_schema run; idempotent). This
        # migration has run on existing databases: a change to that DDL needs a
        # migration of its own here, not an edit that only new databases would see.
        + OUTBOX_SCHEMA
        + EFFECTS_SCHEMA,
    ),
)


def migrate(conninfo: str) -> list[int]:
    """Apply pending migrations to the database at ``conninfo``; return those applied."""
    applied: list[int] = []
    with psycopg.connect(conninfo, autocommit=True) as conn:
        conn.execute("SELECT pg_advisory_lock(%s)", (_LOCK_KEY,))
        try:
            conn.execute(
                "CREATE TABLE IF NOT EXISTS schema_migrations ("
                " version int PRIMARY KEY, description text NOT NULL,"
                " applied_at timestamptz NOT NULL DEFAULT now())"
            )
            done = {row[0] for row in conn.execute("SELECT version FROM schema_migrations")}
            for version, description, sql in MIGRATIONS:
                if version in done:
                    continue
                with conn.transaction():
                    conn.execute(sql.encode())  # our own constant SQL, several statements
                    conn.execute(
                        "INSERT INTO schema_migrations (version, description) VALUES (%s, %s)",
                        (version, description),
                    )
                applied.append(version)
        finally:
            conn.execute("SELECT pg_advisory_unlock(%s)", (_LOCK_KEY,))
    return applied
