"""A user's session survives the death of the web process that created it.

Two photo app processes share PostgreSQL, Redis and the secret key, as the
web servers behind a balancer do. A user logs in on one; it is SIGKILLed (no
chance to flush or hand anything over); the other serves the same cookie.
"""

import secrets
import signal
from collections.abc import Iterator
from pathlib import Path

import pytest
from photos_processes import EXIT_TIMEOUT_S, AppProcess, web_servers

from millionscale.servers import RunningServer

pytestmark = pytest.mark.integration


@pytest.fixture
def two_web_servers(
    database_url: str, redis: RunningServer, tmp_path: Path
) -> Iterator[tuple[AppProcess, AppProcess]]:
    env = {
        "DATABASE_URL": database_url,
        "REDIS_URL": redis.url,
        "SECRET_KEY": secrets.token_urlsafe(32),
        "DRAIN_SECONDS": "0",
    }
    with web_servers(env, tmp_path, "web1", "web2") as (web1, web2):
        yield web1, web2


def test_a_session_made_on_a_killed_server_works_on_another(two_web_servers):
    web1, web2 = two_web_servers
    with web1.client() as on_web1:
        login = on_web1.post("/api/signup", json={"username": "alice", "password": "correct horse"})
        cookie = on_web1.cookies["ms_session"]

    web1.signal(signal.SIGKILL)
    assert web1.process.wait(EXIT_TIMEOUT_S) == -signal.SIGKILL
    with web2.client() as on_web2:
        on_web2.cookies.set("ms_session", cookie)
        me = on_web2.get("/api/me")
        timeline = on_web2.get("/")

    assert login.status_code == 201
    assert me.status_code == 200
    assert me.json()["username"] == "alice"
    assert timeline.status_code == 200


def test_logging_out_on_one_server_ends_the_session_on_the_other(two_web_servers):
    web1, web2 = two_web_servers
    with web1.client() as on_web1, web2.client() as on_web2:
        on_web1.post("/api/signup", json={"username": "alice", "password": "correct horse"})
        on_web2.cookies.set("ms_session", on_web1.cookies["ms_session"])
        before = on_web2.get("/api/me").status_code

        on_web1.post("/api/logout")
        after = on_web2.get("/api/me").status_code

    assert (before, after) == (200, 401)
