"""The photo app with REDIS_URL: sessions live in Redis, and a dead Redis is a 503, not a 500.

Readiness names what is down; requests that carry no session do not need
Redis at all.
"""

import secrets
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
import redis as redis_py
from starlette.testclient import TestClient

from conftest import PhotoApp
from millionscale.photos.app import Settings, create_app
from millionscale.servers import RunningServer

pytestmark = pytest.mark.integration


def settings_for(database_url: str, redis_url: str, media_dir: Path) -> Settings:
    return Settings(
        database_url=database_url,
        secret_key=secrets.token_urlsafe(32),
        media_dir=media_dir,
        pool_max=4,
        redis_url=redis_url,
    )


class OneLoopPhotoApp(PhotoApp):
    """Every client on the app's one event loop, as under uvicorn.

    Redis connections belong to the loop that opened them; a TestClient
    outside a ``with`` block would run each request on a loop of its own.
    """

    def client(self) -> TestClient:
        client = super().client()
        client.portal = self.anonymous.portal
        return client


@pytest.fixture
def photos_on_redis(database_url: str, redis: RunningServer, tmp_path: Path) -> Iterator[PhotoApp]:
    app = create_app(settings_for(database_url, redis.url, tmp_path / "media"))
    with TestClient(app) as anonymous:
        helper = OneLoopPhotoApp(app, tmp_path / "media", database_url, anonymous)
        yield helper
        for client in helper.clients:
            client.close()


def redis_keys(redis: RunningServer) -> list[str]:
    client = redis_py.Redis.from_url(redis.url, decode_responses=True)
    try:
        return [str(key) for key in client.keys("ms:session:*")]
    finally:
        client.close()


def test_a_session_lives_in_redis_and_not_in_the_database(photos_on_redis, redis):
    alice = photos_on_redis.user("alice")

    assert alice.get("/api/me").json()["username"] == "alice"
    assert len(redis_keys(redis)) == 1
    assert photos_on_redis.rows("sessions") == 0


def test_logout_removes_the_session_from_redis(photos_on_redis, redis):
    alice = photos_on_redis.user("alice")
    stolen = alice.cookies.get("ms_session")

    assert alice.post("/api/logout").status_code == 204

    replay = photos_on_redis.client()
    replay.cookies.set("ms_session", stolen)
    assert replay.get("/api/me").status_code == 401
    assert redis_keys(redis) == []


def test_a_dead_redis_is_503_with_retry_after_for_requests_with_a_session(photos_on_redis, redis):
    alice = photos_on_redis.user("alice")
    redis.kill()

    api = alice.get("/api/me")
    page = alice.get("/", follow_redirects=False)

    for response in (api, page):
        assert response.status_code == 503
        assert response.headers["retry-after"] == "1"
        assert response.json() == {"detail": "the session store is unavailable; try again shortly"}


def test_requests_without_a_session_do_not_need_redis(photos_on_redis, redis):
    photos_on_redis.user("alice")
    redis.kill()

    response = photos_on_redis.anonymous.get("/api/users/alice")

    assert response.status_code == 200
    assert response.json()["username"] == "alice"


def test_readiness_names_the_session_store_when_redis_is_down(photos_on_redis, redis):
    assert photos_on_redis.anonymous.get("/readyz").status_code == 200

    redis.kill()
    response = photos_on_redis.anonymous.get("/readyz")

    assert response.status_code == 503
    reason = response.json()["reason"]
    assert reason.startswith(f"session store redis at {redis.host}:{redis.port} cannot be used")
    assert "database" not in reason


def test_readiness_names_both_when_the_database_and_redis_are_down(
    postgres: RunningServer, redis: RunningServer, tmp_path: Path
):
    app = create_app(settings_for(postgres.url, redis.url, tmp_path / "media"))
    with TestClient(app) as client:
        postgres.kill()
        redis.kill()

        response = client.get("/readyz")

    assert response.status_code == 503
    reason = response.json()["reason"]
    assert reason.startswith("database unreachable: ")
    assert "; session store redis at " in reason


def test_without_redis_url_sessions_stay_in_the_database(photos: PhotoApp):
    photos.user("alice")

    with psycopg.connect(photos.database_url) as conn:
        row = conn.execute("SELECT count(*) FROM sessions").fetchone()

    assert row == (1,)
