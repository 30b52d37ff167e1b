"""The photo app's workers follow the primary through discovery (DATABASE_DISCOVERY, as
the app does): after a failover their jobs write to the new primary. Before, they kept
to DATABASE_URL's node, a standby (or down) after stage 8's switchover, and no
thumbnail was made from then on."""

import asyncio
import secrets
import time
from pathlib import Path

import psycopg
import pytest
from queue_support import RELAY_WAIT_S, eventually, scalar

from conftest import jpeg
from millionscale.db.testing import replicated_cluster
from millionscale.discovery import Member, Snapshot
from millionscale.photos.jobs import JobSettings, tasks
from millionscale.photos.media import MediaStore
from millionscale.photos.queued import thumbnail_job
from millionscale.photos.schema import migrate

pytestmark = pytest.mark.integration

RETRY_S = 0.2  # how often the test runs a failed job again, as a worker's backoff would


def nodes_file(path: Path, cluster) -> Path:
    servers = {"db": cluster.primary, **cluster.replicas}
    path.write_text(
        Snapshot(
            1,
            tuple(
                Member(
                    name,
                    "db",
                    s.host,
                    {"main": s.port},
                    role="primary" if name == "db" else "replica",
                )
                for name, s in servers.items()
            ),
        ).dumps()
    )
    return path


def a_photo(url: str, media: MediaStore) -> int:
    stored = media.store_original(jpeg(320, 200))
    with psycopg.connect(url, autocommit=True) as conn:
        user = conn.execute(
            "INSERT INTO users (username, password_hash) VALUES (%s, 'x') RETURNING id",
            (f"u{secrets.token_hex(4)}",),
        ).fetchone()
        assert user is not None
        row = conn.execute(
            "INSERT INTO photos (owner_id, media_path, thumbnail_path, width, height)"
            " VALUES (%s, %s, NULL, 320, 200) RETURNING id",
            (user[0], stored.media_path),
        ).fetchone()
        assert row is not None
        return int(row[0])


def test_the_workers_write_to_the_primary_discovery_finds_after_a_failover(tmp_path: Path):
    with replicated_cluster("r1") as cluster:
        migrate(cluster.primary.url)
        media = MediaStore(tmp_path / "media")
        photo = a_photo(cluster.primary.url, media)
        credentials = cluster.primary.url.replace(
            f"@{cluster.primary.host}:{cluster.primary.port}/", "@/"
        )
        settings = JobSettings.from_env(
            {
                "DATABASE_URL": credentials,  # user, password, database: no host
                "DATABASE_DISCOVERY": f"file:{nodes_file(tmp_path / 'nodes.json', cluster)}",
                "MEDIA_DIR": str(tmp_path / "media"),
            }
        )

        async def scenario() -> int:
            async with tasks(settings=settings) as handlers:
                replica = cluster.replicas["r1"].url
                await eventually(
                    lambda: scalar(replica, f"SELECT count(*) FROM photos WHERE id = {photo}"),
                    "replay",
                )
                cluster.primary.kill()
                await asyncio.to_thread(cluster.sql, "r1", "SELECT pg_promote(true, 30)")
                deadline, tries = time.monotonic() + RELAY_WAIT_S, 0
                while True:  # the worker's retries, quicker
                    tries += 1
                    try:
                        await handlers["thumbnail"](thumbnail_job(photo))
                        return tries
                    except psycopg.Error:
                        if time.monotonic() > deadline:
                            raise
                        await asyncio.sleep(RETRY_S)

        asyncio.run(scenario())
        with psycopg.connect(cluster.replicas["r1"].url) as conn:
            made = conn.execute(
                "SELECT thumbnail_path FROM photos WHERE id = %s", (photo,)
            ).fetchone()

    assert settings.database_discovery is not None
    assert made is not None
    assert made[0] is not None
    assert made[0].endswith(".thumb.jpg")
