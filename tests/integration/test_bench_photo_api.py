"""The scenarios against the photo-sharing API contract, and `millionscale bench` end to end.

The server here is a small in-memory implementation of the JSON API contract
that :mod:`millionscale.bench.api` documents (signup, login, timeline, photo,
like, post with a session cookie), running on 127.0.0.1 in a thread of its
own so that the command line can be run against it as a user would.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import secrets
import subprocess
import sys
import threading
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from aiohttp import web

from millionscale.bench.api import PhotoApi
from millionscale.bench.dataset import DEFAULT_PASSWORD, username
from millionscale.bench.http import HttpTransport
from millionscale.bench.run import bench_target
from millionscale.bench.scenario import Scenario, Workload, parse_mix
from millionscale.errors import ConfigError

pytestmark = pytest.mark.integration

SEEDED_USERS = 5
CLI_TIMEOUT_S = 60


@dataclass
class FakePhotoApi:
    """The API contract in memory; ``hits`` counts requests by route."""

    users: dict[str, str] = field(default_factory=dict)
    sessions: dict[str, str] = field(default_factory=dict)
    photos: dict[int, dict] = field(default_factory=dict)
    uploads: list[bytes] = field(default_factory=list)
    hits: Counter = field(default_factory=Counter)
    ids: Iterator[int] = field(default_factory=lambda: itertools.count(1))

    def app(self) -> web.Application:
        app = web.Application()
        app.add_routes(
            [
                web.post("/api/signup", self.signup),
                web.post("/api/login", self.login),
                web.get("/api/timeline", self.timeline),
                web.get("/api/photos/{id}", self.photo),
                web.post("/api/photos/{id}/like", self.like),
                web.post("/api/photos", self.post),
            ]
        )
        return app

    def add_photo(self, owner: str, caption: str = "") -> dict:
        photo_id = next(self.ids)
        photo = {
            "id": photo_id,
            "owner": {"id": 1, "username": owner},
            "caption": caption,
            "created_at": "2026-01-01T00:00:00Z",
            "like_count": 0,
            "liked_by_me": False,
            "url": f"/media/{photo_id}.jpg",
            "thumbnail_url": f"/media/{photo_id}_t.jpg",
            "width": 64,
            "height": 48,
        }
        self.photos[photo_id] = photo
        return photo

    def _session(self, response: web.Response, name: str) -> web.Response:
        token = secrets.token_hex(8)
        self.sessions[token] = name
        response.set_cookie("session", token, httponly=True)
        return response

    def _me(self, request: web.Request) -> str:
        name = self.sessions.get(request.cookies.get("session", ""))
        if name is None:
            raise web.HTTPUnauthorized(text='{"detail": "log in"}')
        return name

    async def signup(self, request: web.Request) -> web.Response:
        self.hits["signup"] += 1
        body = await request.json()
        if body["username"] in self.users:
            return web.json_response({"detail": "username taken"}, status=409)
        self.users[body["username"]] = body["password"]
        answer = web.json_response(
            {"id": len(self.users), "username": body["username"]}, status=201
        )
        return self._session(answer, body["username"])

    async def login(self, request: web.Request) -> web.Response:
        self.hits["login"] += 1
        body = await request.json()
        if self.users.get(body["username"]) != body["password"]:
            return web.json_response({"detail": "invalid username or password"}, status=401)
        answer = web.json_response({"id": 1, "username": body["username"]})
        return self._session(answer, body["username"])

    async def timeline(self, request: web.Request) -> web.Response:
        self.hits["timeline"] += 1
        self._me(request)
        limit = int(request.query.get("limit", "20"))
        items = sorted(self.photos.values(), key=lambda p: -p["id"])[:limit]
        return web.json_response({"items": items, "next_cursor": None})

    async def photo(self, request: web.Request) -> web.Response:
        self.hits["photo"] += 1
        self._me(request)
        photo = self.photos.get(int(request.match_info["id"]))
        if photo is None:
            return web.json_response({"detail": "no such photo"}, status=404)
        return web.json_response(photo)

    async def like(self, request: web.Request) -> web.Response:
        self.hits["like"] += 1
        self._me(request)
        photo = self.photos[int(request.match_info["id"])]
        photo["like_count"] += 1
        return web.json_response({"liked": True, "like_count": photo["like_count"]})

    async def post(self, request: web.Request) -> web.Response:
        self.hits["post"] += 1
        owner = self._me(request)
        form = await request.post()
        upload = form["file"]
        data = upload.file.read()  # type: ignore[union-attr]
        if not data.startswith(b"\xff\xd8"):
            return web.json_response({"detail": "not a JPEG"}, status=422)
        self.uploads.append(data)
        return web.json_response(self.add_photo(owner, str(form.get("caption", ""))), status=201)


@dataclass
class Served:
    api: FakePhotoApi
    url: str


@pytest.fixture
def served() -> Iterator[Served]:
    """The fake API with seeded users and three photos, on 127.0.0.1 in a thread."""
    api = FakePhotoApi()
    for i in range(SEEDED_USERS):
        api.users[username(i)] = DEFAULT_PASSWORD
    for caption in ("a", "b", "c"):
        api.add_photo(username(0), caption)
    loop = asyncio.new_event_loop()
    runner = web.AppRunner(api.app(), shutdown_timeout=0.5)
    ready = threading.Event()

    def serve() -> None:
        asyncio.set_event_loop(loop)
        loop.run_until_complete(runner.setup())
        loop.run_until_complete(web.TCPSite(runner, "127.0.0.1", 0).start())
        ready.set()
        loop.run_forever()
        loop.run_until_complete(runner.cleanup())
        loop.close()

    thread = threading.Thread(target=serve, name="fake-photo-api", daemon=True)
    thread.start()
    assert ready.wait(10), "the fake API did not start"
    try:
        yield Served(api, f"http://127.0.0.1:{runner.addresses[0][1]}")
    finally:
        loop.call_soon_threadsafe(loop.stop)
        thread.join(10)


def workload(url: str, mix: str = "timeline=1", users: int = SEEDED_USERS, **kw) -> Workload:
    return Workload(
        base_url=url,
        usernames=tuple(username(i) for i in range(users)),
        password=kw.pop("password", DEFAULT_PASSWORD),
        mix=parse_mix(mix),
        seed=kw.pop("seed", 1),
        **kw,
    )


def act(w: Workload, times: int) -> tuple[list, Scenario, str]:
    async def main():
        async with HttpTransport(w.base_url) as transport:
            scenario = Scenario(w, PhotoApi(transport))
            sentence = await scenario.log_in()
            outcomes = [await scenario.send() for _ in range(times)]
        return outcomes, scenario, sentence

    return asyncio.run(main())


def test_logging_in_logs_in_every_user_and_learns_photo_ids(served):
    _, scenario, sentence = act(workload(served.url), 0)

    assert sentence == "logged in 5 of 5 users; 3 photo ids known"
    assert [u.username for u in scenario.users] == [username(i) for i in range(5)]
    assert all(u.cookie.startswith("session=") for u in scenario.users)


@pytest.mark.parametrize("action", ["timeline", "photo", "like", "post", "signup"])
def test_each_action_follows_the_contract(served, action):
    before = served.api.hits[action]

    outcomes, _, _ = act(workload(served.url, mix=f"{action}=1"), 6)

    assert all(o.ok for o in outcomes), outcomes
    assert served.api.hits[action] - before >= 6


def test_posts_upload_a_jpeg_and_their_photos_join_the_pool(served):
    outcomes, scenario, _ = act(workload(served.url, mix="post=1"), 3)

    assert all(o.ok for o in outcomes)
    assert len(served.api.uploads) == 3
    assert len(scenario.photos.ids) == 6


def test_signups_create_new_accounts_that_do_not_clash_across_runs(served):
    act(workload(served.url, mix="signup=1"), 3)
    act(workload(served.url, mix="signup=1"), 3)  # same seed, new run

    assert len(served.api.users) == SEEDED_USERS + 6


def test_a_wrong_password_is_a_config_error_saying_to_seed(served):
    with pytest.raises(ConfigError, match="no user could log in") as caught:
        act(workload(served.url, password="not the password"), 0)

    assert "seed" in caught.value.hint


def test_an_unreachable_target_is_a_config_error(served):
    url = served.url.rsplit(":", 1)[0] + ":1"

    with pytest.raises(ConfigError, match="cannot reach"):
        act(workload(url), 0)


def test_the_default_mix_runs_without_errors(served):
    w = Workload(
        base_url=served.url,
        usernames=tuple(username(i) for i in range(SEEDED_USERS)),
        password=DEFAULT_PASSWORD,
    )

    summary = asyncio.run(bench_target(w, 50.0, 1.0))

    assert summary.requests == 50
    assert summary.error_count == 0


def cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "millionscale.cli", "bench", *args],
        capture_output=True,
        text=True,
        timeout=CLI_TIMEOUT_S,
        check=False,
    )


def test_the_command_runs_a_bench_and_writes_the_json(served, tmp_path: Path):
    out = tmp_path / "result.json"

    result = cli(
        "--target", served.url, "--rate", "40", "--duration", "0.5", "--users", "5",
        "--json", str(out),
    )  # fmt: skip

    assert result.returncode == 0, result.stderr
    data = json.loads(out.read_text())
    assert data["requests"] == 20
    assert sum(data["errors"].values()) == 0
    assert "latency p99" in result.stdout
    assert "logged in 5 of 5 users" in result.stderr


def test_the_command_searches_capacity_and_reports_every_step(served, tmp_path: Path):
    out = tmp_path / "capacity.json"

    result = cli(
        "--target", served.url, "--rate", "20", "--duration", "0.25", "--users", "2",
        "--find-capacity", "--slo-p99-ms", "0.001", "--json", str(out),
    )  # fmt: skip

    assert result.returncode == 0, result.stderr
    data = json.loads(out.read_text())
    assert data["highest_holding_rate"] is None  # nothing answers within a microsecond
    assert [step["rate"] for step in data["steps"]] == [20.0, 10.0, 5.0, 2.5, 1.25]
    assert "20/s fails" in result.stderr


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        pytest.param(["--rate", "0"], "'--rate': 0 is out of range", id="zero-rate"),
        pytest.param(["--mix", "timeline=1,feed=2"], "'feed=2' names no known action", id="mix"),
        pytest.param(["--users", "5", "--password", "nope"], "no user could log in", id="login"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(served, args, needle):
    result = cli("--target", served.url, "--duration", "0.5", *args)

    assert result.returncode == 2, result.stderr
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("error: ")
    assert needle in lines[0]


def test_a_bad_target_is_one_line_and_exit_2():
    result = cli("--target", "ftp://127.0.0.1", "--duration", "0.5")

    assert result.returncode == 2
    assert result.stderr.strip().startswith("error: target 'ftp://127.0.0.1' must be an http")
