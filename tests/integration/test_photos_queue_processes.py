"""The queued mode as it runs in a topology: the app as a process with QUEUE_URL, and a
worker process ``python -m millionscale.queue --tasks millionscale.photos.jobs:tasks``
sharing its database and media directory. A post's thumbnail and fan-out are done
by the worker; both processes stop cleanly with no traceback."""

import os
import secrets
import signal
import sys
import time

import pytest
from photos_processes import web_servers

from conftest import jpeg
from millionscale.servers import RunningServer
from millionscale.servers.process import spawn, terminate

pytestmark = pytest.mark.integration

DONE_WITHIN_S = 20.0  # a worker's start (imports) and two jobs, on a busy two-core machine


def _until(read, what: str):
    began = time.monotonic()
    while not (value := read()):
        assert time.monotonic() - began < DONE_WITHIN_S, f"{what} did not happen"
        time.sleep(0.1)
    return value


def test_a_worker_process_makes_the_thumbnail_and_the_fan_out(
    database_url: str, nats: RunningServer, tmp_path
):
    env = {
        "DATABASE_URL": database_url,
        "SECRET_KEY": secrets.token_urlsafe(32),
        "QUEUE_URL": nats.url,
        "DRAIN_SECONDS": "0",
    }
    with web_servers(env, tmp_path, "web") as (web,):
        worker = spawn(
            [
                sys.executable,
                "-m",
                "millionscale.queue",
                "--tasks",
                "millionscale.photos.jobs:tasks",
            ],
            log_path=tmp_path / "worker.log",
            env={**os.environ, **env, "MEDIA_DIR": str(tmp_path / "media")},
        )
        try:
            with web.client() as alice, web.client() as bob:
                for client, name in ((alice, "alice"), (bob, "bob")):
                    response = client.post(
                        "/api/signup", json={"username": name, "password": "x" * 12}
                    )
                    assert response.status_code == 201
                assert alice.post("/api/users/bob/follow").status_code == 204

                posted = bob.post("/api/photos", files={"file": ("p.jpg", jpeg(), "image/jpeg")})
                assert posted.status_code == 201
                photo_id = posted.json()["id"]

                shown = _until(
                    lambda: (
                        (p := bob.get(f"/api/photos/{photo_id}").json())["thumbnail_ready"] and p
                    ),
                    "the thumbnail",
                )
                assert bob.get(shown["thumbnail_url"]).status_code == 200
                _until(
                    lambda: (
                        [p["id"] for p in alice.get("/api/timeline").json()["items"]] == [photo_id]
                    ),
                    "the fan-out to alice",
                )
        finally:
            terminate(worker)
        web.signal(signal.SIGTERM)
        web.process.wait(10)
    for log in (web.log(), (tmp_path / "worker.log").read_text()):
        assert "Traceback" not in log, log[-3000:]
