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
import subprocess
import sys
import time
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
    with open(tmp_path / "app.log", "wb") as log:
        app = subprocess.Popen(
            [sys.executable, "-m", "millionscale.photos.app", "--port", str(port)],
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + READY_TIMEOUT_S
        while not _ready(base):
            assert app.poll() is None, (tmp_path / "app.log").read_text()
            assert time.monotonic() < deadline, "the photo app did not become ready"
            time.sleep(0.1)
        yield base
    finally:
        app.terminate()
        try:
            app.wait(10)
        except subprocess.TimeoutExpired:
            app.kill()
            app.wait(10)
        with psycopg.connect(postgres_session.url, autocommit=True) as conn:
            conn.execute(f"DROP DATABASE {name} WITH (FORCE)")


def _ready(base: str) -> bool:
    try:
        return httpx.get(f"{base}/readyz", timeout=1.0).status_code == 200
    except httpx.HTTPError:
        return False


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
