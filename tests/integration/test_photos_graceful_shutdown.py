"""Graceful shutdown of a photo app process: on SIGTERM it drains, finishes, and exits 0.

Draining: /readyz answers 503 "draining" while every other request is still
served (with Connection: close). After DRAIN_SECONDS the process stops
listening, lets requests in flight finish and exits 0. A second SIGTERM
stops it at once.
"""

import json
import secrets
import signal
import socket
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from photos_processes import AppProcess, start_app
from starlette.testclient import TestClient

from conftest import jpeg
from millionscale.photos.app import Settings, create_app
from millionscale.servers import RunningServer
from millionscale.testing import wait_ready
from millionscale.web import GracefulShutdown

pytestmark = pytest.mark.integration

DRAIN_S = 2.0  # short, to keep the test fast; the default is 5 s
EXIT_BOUND_S = 5.0  # after the drain: stop listening, close pools, exit (grace is 3 s)
STATE_TIMEOUT_S = 5.0  # a signal takes effect within uvicorn's 0.1 s tick; slack for load


@pytest.fixture
def app_env(database_url: str, redis: RunningServer) -> dict[str, str]:
    return {
        "DATABASE_URL": database_url,
        "REDIS_URL": redis.url,
        "SECRET_KEY": secrets.token_urlsafe(32),
        "DRAIN_SECONDS": str(DRAIN_S),
    }


@pytest.fixture
def started(tmp_path: Path) -> Iterator[list[AppProcess]]:
    """Apps a test starts; any still running at the end are killed, by pid."""
    apps: list[AppProcess] = []
    yield apps
    for app in apps:
        if app.process.poll() is None:
            app.process.kill()
            app.process.wait(10)


def draining(app: AppProcess) -> bool:
    try:
        return app.readiness() == (503, {"status": "not ready", "reason": "draining"})
    except httpx.HTTPError:
        return False


def refusing(app: AppProcess) -> bool:
    host, port = app.url.removeprefix("http://").split(":")
    try:
        socket.create_connection((host, int(port)), timeout=1).close()
    except OSError:
        return True
    return False


def test_sigterm_fails_readiness_while_serving_then_exits_0(app_env, tmp_path, started):
    app = start_app("web1", app_env, tmp_path)
    started.append(app)
    with app.client() as alice:
        alice.post("/api/signup", json={"username": "alice", "password": "correct horse"})

        signalled = time.monotonic()
        app.signal(signal.SIGTERM)
        wait_ready(lambda: draining(app), STATE_TIMEOUT_S, process=app.process, what="draining")
        page = alice.get("/")
        me = alice.get("/api/me")

    code = app.process.wait(DRAIN_S + EXIT_BOUND_S)
    exited = time.monotonic()

    assert page.status_code == 200
    assert me.json()["username"] == "alice"
    assert page.headers["connection"] == "close"
    assert code == 0
    assert exited - signalled >= DRAIN_S
    log = app.log()
    assert "SIGTERM: draining for 2 s; /readyz answers 503, requests are served" in log
    assert "drain period over: stopping" in log
    assert "Traceback" not in log


def test_a_request_in_flight_when_the_drain_ends_is_finished(app_env, tmp_path, started):
    # A grace longer than the test needs: what is tested is that the request finishes.
    app = start_app("web1", {**app_env, "SHUTDOWN_GRACE_SECONDS": "20"}, tmp_path)
    started.append(app)
    with app.client() as alice:
        alice.post("/api/signup", json={"username": "alice", "password": "correct horse"})
        cookie = alice.cookies["ms_session"]
    upload = httpx.Request(
        "POST", f"{app.url}/api/photos", files={"file": ("a.jpg", jpeg(), "image/jpeg")}
    )
    body = upload.read()
    head = (
        f"POST /api/photos HTTP/1.1\r\nHost: {app.url.removeprefix('http://')}\r\n"
        f"Cookie: ms_session={cookie}\r\nContent-Type: {upload.headers['content-type']}\r\n"
        f"Content-Length: {len(body)}\r\n\r\n"
    ).encode()
    host, port = app.url.removeprefix("http://").split(":")

    with socket.create_connection((host, int(port)), timeout=10) as conn:
        conn.sendall(head + body[:100])  # the request is in flight: its body is half sent
        app.signal(signal.SIGTERM)
        wait_ready(lambda: refusing(app), DRAIN_S + STATE_TIMEOUT_S, what="stopped listening")
        conn.sendall(body[100:])
        reply = b""
        while chunk := conn.recv(65536):
            reply += chunk

    status_line, _, rest = reply.partition(b"\r\n")
    assert status_line == b"HTTP/1.1 201 Created"
    assert json.loads(rest.partition(b"\r\n\r\n")[2])["owner"]["username"] == "alice"
    assert app.process.wait(EXIT_BOUND_S) == 0


def test_a_second_sigterm_stops_at_once(app_env, tmp_path, started):
    app = start_app("web1", {**app_env, "DRAIN_SECONDS": "60"}, tmp_path)
    started.append(app)

    app.signal(signal.SIGTERM)
    wait_ready(lambda: draining(app), STATE_TIMEOUT_S, process=app.process, what="draining")
    signalled = time.monotonic()
    app.signal(signal.SIGTERM)
    code = app.process.wait(EXIT_BOUND_S)

    assert code == 0
    assert time.monotonic() - signalled < EXIT_BOUND_S
    assert "SIGTERM: forced exit" in app.log()
    assert "Traceback" not in app.log()


def test_draining_in_process_fails_readiness_and_closes_connections(database_url, tmp_path):
    settings = Settings(
        database_url=database_url,
        secret_key=secrets.token_urlsafe(32),
        media_dir=tmp_path / "media",
        pool_max=2,
    )
    shutdown = GracefulShutdown(settings.drain_s)
    with TestClient(create_app(settings, shutdown)) as client:
        before = client.get("/readyz")
        serving = client.get("/login")

        shutdown.on_signal(signal.SIGTERM)
        after = client.get("/readyz")
        draining_page = client.get("/login")

    assert before.status_code == 200
    assert "connection" not in serving.headers
    assert (after.status_code, after.json()["reason"]) == (503, "draining")
    assert draining_page.status_code == 200
    assert draining_page.headers["connection"] == "close"
