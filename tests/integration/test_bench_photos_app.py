"""The bench against the real photo-sharing app on real PostgreSQL: every action of the mix succeeds.

The app runs as users run it (``python -m millionscale.photos.app``) on a free
loopback port, on a fresh database of the session's PostgreSQL. A few users
are signed up with the seeder's names and password, then the default mix runs
for a second at a modest rate.
"""

from __future__ import annotations

import asyncio
import os
import secrets
from collections.abc import Iterator
from pathlib import Path

import httpx
import psycopg
import pytest

from millionscale.bench.api import sample_jpeg
from millionscale.bench.dataset import DEFAULT_PASSWORD, username
from millionscale.bench.run import bench_target
from millionscale.bench.scenario import Workload
from millionscale.servers import RunningServer, free_port
from millionscale.testing import spawn_module, wait_ready

pytestmark = pytest.mark.integration

USERS = 3
READY_TIMEOUT_S = 30.0


@pytest.fixture
def photos_app(postgres_session: RunningServer, tmp_path: Path) -> Iterator[str]:
    """The app's base URL, on its own new database; stopped and the database dropped after."""
    name = f"bench_{secrets.token_hex(6)}"
    with psycopg.connect(postgres_session.url, autocommit=True) as conn:
        conn.execute(f"CREATE DATABASE {name}")
    port = free_port()
    env = dict(
        os.environ,
        DATABASE_URL=postgres_session.url.rsplit("/", 1)[0] + f"/{name}",
        SECRET_KEY=secrets.token_hex(16),
        MEDIA_DIR=str(tmp_path / "media"),
    )
    log = tmp_path / "app.log"
    base = f"http://127.0.0.1:{port}"
    try:
        with spawn_module("millionscale.photos.app", "--port", str(port), env=env, log=log) as app:
            wait_ready(f"{base}/readyz", READY_TIMEOUT_S, process=app.process, log=log)
            yield base
    finally:
        with psycopg.connect(postgres_session.url, autocommit=True) as conn:
            conn.execute(f"DROP DATABASE {name} WITH (FORCE)")


def seed(base: str) -> None:
    """Sign up the first seeded users and give the first one a photo."""
    for i in range(USERS):
        answer = httpx.post(
            f"{base}/api/signup",
            json={"username": username(i), "password": DEFAULT_PASSWORD},
            timeout=10.0,
        )
        assert answer.status_code == 201, answer.text
    with httpx.Client(base_url=base, timeout=10.0) as first:
        first.post("/api/login", json={"username": username(0), "password": DEFAULT_PASSWORD})
        posted = first.post("/api/photos", files={"file": ("a.jpg", sample_jpeg(), "image/jpeg")})
        assert posted.status_code == 201, posted.text


def test_the_default_mix_runs_against_the_photos_app_without_errors(photos_app):
    seed(photos_app)
    workload = Workload(
        base_url=photos_app,
        usernames=tuple(username(i) for i in range(USERS)),
        password=DEFAULT_PASSWORD,
        seed=3,
    )
    said: list[str] = []

    summary = asyncio.run(bench_target(workload, 40.0, 1.0, say=said.append))

    assert said == [f"logged in {USERS} of {USERS} users; 1 photo ids known"]
    assert summary.requests == 40
    assert dict(summary.errors) == dict.fromkeys(dict(summary.errors), 0)
