"""The photo app on a primary and two replicas: every user reads their own writes, and
the nodes may come from a discovery file."""

import secrets
from pathlib import Path

import psycopg
import pytest
from starlette.testclient import TestClient

from conftest import jpeg
from millionscale.db.testing import replicated_cluster
from millionscale.discovery import Member, Snapshot
from millionscale.photos.app import Settings, create_app

pytestmark = pytest.mark.integration


def replay(url: str, paused: bool) -> None:
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("SELECT pg_wal_replay_pause()" if paused else "SELECT pg_wal_replay_resume()")


def test_a_user_sees_their_own_post_while_every_replica_lags(tmp_path: Path):
    with replicated_cluster("r1", "r2") as cluster:
        settings = Settings(
            database_url=cluster.primary.url,
            replica_urls={name: server.url for name, server in cluster.replicas.items()},
            secret_key=secrets.token_urlsafe(32),
            media_dir=tmp_path / "media",
        )
        app = create_app(settings)
        router = app.state.services.repo.router
        with TestClient(app) as alice:
            alice.post("/api/signup", json={"username": "alice", "password": "correct horse"})
            for _ in range(10):
                photos_before = alice.get("/api/timeline").json()["items"]
            reads_before = router.statistics()
            for server in cluster.replicas.values():
                replay(server.url, paused=True)
            try:
                posted = alice.post(
                    "/api/photos",
                    files={"file": ("a.jpg", jpeg(), "image/jpeg")},
                    data={"caption": "fresh"},
                )
                timeline = alice.get("/api/timeline").json()
                lsn_cookie = alice.cookies.get("ms_lsn")
                reads_after = router.statistics()
            finally:
                for server in cluster.replicas.values():
                    replay(server.url, paused=False)

    assert photos_before == []
    assert reads_before.reads["r1"] + reads_before.reads["r2"] > 0  # reads do go to replicas
    assert reads_after.fallbacks_to_primary > reads_before.fallbacks_to_primary
    assert posted.status_code == 201
    assert [p["caption"] for p in timeline["items"]] == ["fresh"]
    assert lsn_cookie is not None
    assert "/" in lsn_cookie  # a WAL position such as 0/3000148


def test_the_app_takes_its_database_nodes_from_a_discovery_file(tmp_path: Path):
    with replicated_cluster("r1", "r2") as cluster:
        nodes = tmp_path / "nodes.json"
        servers = {"db": cluster.primary, **cluster.replicas}
        nodes.write_text(
            Snapshot(
                1,
                tuple(
                    Member(
                        name,
                        "db",
                        server.host,
                        {"main": server.port},
                        role="primary" if name == "db" else "replica",
                    )
                    for name, server in servers.items()
                ),
            ).dumps()
        )
        credentials = cluster.primary.url.replace(
            f"@{cluster.primary.host}:{cluster.primary.port}/", "@/"
        )
        settings = Settings.from_env(
            {
                "DATABASE_URL": credentials,  # user, password, database: no host
                "DATABASE_DISCOVERY": f"file:{nodes}",
                "SECRET_KEY": secrets.token_urlsafe(32),
                "MEDIA_DIR": str(tmp_path / "media"),
            }
        )
        app = create_app(settings)
        router = app.state.services.repo.router
        with TestClient(app) as alice:
            signup = alice.post(
                "/api/signup", json={"username": "alice", "password": "correct horse"}
            )
            for _ in range(10):
                alice.get("/api/timeline")
            stats = router.statistics()

    assert credentials.count("@/postgres") == 1
    assert signup.status_code == 201
    assert router.primary == "db"
    assert {n.name for n in stats.nodes} == {"db", "r1", "r2"}
    assert stats.reads["r1"] + stats.reads["r2"] > 0  # reads go to the discovered replicas
    assert stats.discovery_version == 1
