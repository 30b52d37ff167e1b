"""The admin plumbing every admin API shares: the token file, the guard, the error
table, the open routes, and the host's graceful stop."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

import httpx
import pytest
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from starlette.testclient import TestClient

from millionscale import obs
from millionscale.errors import (
    AdminRequestError,
    ConfigError,
    Conflict,
    Invalid,
    NotFound,
    PayloadTooLarge,
    Unauthorized,
)
from millionscale.obs import admin
from millionscale.obs.admin import (
    STATUS_OF,
    admin_app,
    create_token,
    listen,
    load_token,
    read_token,
    serve_app,
    status_of,
)

TOKEN = "s3cret-token"
AUTH = {"Authorization": f"Bearer {TOKEN}"}


def token_file(tmp_path: Path, text: str, mode: int = 0o600) -> Path:
    path = tmp_path / "admin-token"
    path.write_text(text)
    path.chmod(mode)
    return path


# -- the token file -----------------------------------------------------------------


def test_the_exported_names_are_exactly_these():
    assert set(admin.__all__) == {
        "OPEN_PATHS",
        "SHUTDOWN_GRACE_S",
        "STATUS_OF",
        "TOKEN_FILE",
        "UNAUTHORIZED",
        "BearerGuard",
        "admin_app",
        "create_token",
        "error_response",
        "listen",
        "load_token",
        "read_secret",
        "read_token",
        "run_admin_process",
        "token_file",
        "serve_app",
        "status_of",
    }
    assert all(hasattr(admin, name) for name in admin.__all__)
    assert "admin" not in obs.__all__  # a subpackage, imported by name


def test_an_owner_only_token_is_read_without_its_newline(tmp_path):
    assert read_token(token_file(tmp_path, TOKEN + "\n")) == TOKEN


def test_a_missing_token_is_refused_and_not_created(tmp_path):
    path = tmp_path / "admin-token"

    with pytest.raises(ConfigError, match="no admin token at") as refused:
        read_token(path)

    assert "millionscale up" in refused.value.hint
    assert not path.exists()


@pytest.mark.parametrize("text", ["", "\n", "  \n\t"])
def test_an_empty_token_is_refused(tmp_path, text):
    with pytest.raises(ConfigError, match="is empty"):
        read_token(token_file(tmp_path, text))


@pytest.mark.parametrize("mode", [0o640, 0o604, 0o644, 0o620, 0o601])
def test_a_token_open_to_group_or_others_is_refused(tmp_path, mode):
    path = token_file(tmp_path, TOKEN, mode)

    with pytest.raises(ConfigError, match=f"open to others \\(mode {mode:04o}\\)") as refused:
        read_token(path)

    assert refused.value.hint == f"make it owner-only: chmod 600 {path}"


def test_a_directory_or_a_link_is_not_a_token(tmp_path):
    (tmp_path / "dir").mkdir()
    target = token_file(tmp_path, TOKEN)
    (tmp_path / "link").symlink_to(target)

    with pytest.raises(ConfigError, match="not a regular file"):
        read_token(tmp_path / "dir")
    with pytest.raises(ConfigError, match="cannot read the admin token"):
        read_token(tmp_path / "link")


def test_the_environment_wins_over_the_file_and_neither_is_an_error(tmp_path):
    path = token_file(tmp_path, "from-file")

    assert load_token("X_TOKEN", path, environ={"X_TOKEN": " from-env "}) == "from-env"
    assert load_token("X_TOKEN", path, environ={"X_TOKEN": ""}) == "from-file"
    with pytest.raises(ConfigError, match="needs a token") as refused:
        load_token("X_TOKEN", None, environ={})
    assert refused.value.hint == "set X_TOKEN or --state-dir"


def test_create_makes_an_owner_only_token_once_and_keeps_it(tmp_path):
    path = tmp_path / "admin-token"

    made = create_token(path)
    again = create_token(path)

    assert made == again == read_token(path)
    assert len(made) >= 43  # 32 random bytes, URL-safe base64
    assert os.stat(path).st_mode & 0o777 == 0o600


def test_create_replaces_an_empty_token_but_refuses_one_others_could_read(tmp_path):
    empty = token_file(tmp_path, "")
    assert create_token(empty) == read_token(empty)

    leaked = token_file(tmp_path, TOKEN, 0o644)
    with pytest.raises(ConfigError, match="open to others"):
        create_token(leaked)
    assert leaked.read_text() == TOKEN  # kept, for the operator to look at


# -- the error table ------------------------------------------------------------------


def test_each_refusal_has_one_status():
    assert dict(STATUS_OF) == {
        Unauthorized: 401,
        NotFound: 404,
        Conflict: 409,
        PayloadTooLarge: 413,
        Invalid: 422,
        AdminRequestError: 400,
    }


def test_a_subclass_answers_as_its_nearest_listed_base():
    class NoSuchNode(NotFound):
        pass

    assert status_of(NoSuchNode("no node 'db-9'")) == 404
    assert status_of(AdminRequestError("refused")) == 400


def test_the_refusals_are_millionscale_errors_but_not_config_errors():
    for kind in STATUS_OF:
        assert not issubclass(kind, ConfigError)
        assert kind("x", hint="y").one_line() == "x (y)"


# -- an admin app: guard, errors, open routes ----------------------------------------------


def small_app(ready_reason: str | None = None) -> TestClient:
    async def thing(request: Request) -> Response:
        name = request.path_params["name"]
        if name == "taken":
            raise Conflict(f"{name!r} already exists", hint="remove it first")
        if name == "bad":
            raise Invalid("the body must be {}")
        if name != "known":
            raise NotFound(f"no thing {name!r}")
        return JSONResponse({"name": name})

    async def ready() -> str | None:
        return ready_reason

    app = admin_app([Route("/things/{name}", thing, methods=["GET"])], token=TOKEN, ready=ready)
    return TestClient(app)


@pytest.mark.parametrize("scheme", ["Bearer", "bearer", "BEARER", "bEaReR"])
def test_the_guard_takes_the_scheme_in_any_case(scheme):
    reply = small_app().get("/things/known", headers={"Authorization": f"{scheme} {TOKEN}"})

    assert reply.status_code == 200
    assert reply.json() == {"name": "known"}


@pytest.mark.parametrize(
    "field", [None, "", "Bearer", "Bearer wrong", f"Bearer {TOKEN.upper()}", f"Basic {TOKEN}"]
)
@pytest.mark.parametrize("path", ["/things/known", "/nowhere"])
def test_the_guard_refuses_before_any_route_runs(field, path):
    headers = {} if field is None else {"Authorization": field}

    reply = small_app().get(path, headers=headers)

    assert reply.status_code == 401
    assert reply.json() == {"detail": "missing or wrong admin token"}
    assert reply.headers["www-authenticate"] == "Bearer"


def test_an_empty_expected_token_lets_nobody_in():
    client = TestClient(admin_app([], token=""))

    assert client.get("/x", headers={"Authorization": "Bearer "}).status_code == 401
    assert client.get("/healthz").status_code == 200


@pytest.mark.parametrize(
    ("name", "status", "detail"),
    [
        ("taken", 409, "'taken' already exists (remove it first)"),
        ("bad", 422, "the body must be {}"),
        ("other", 404, "no thing 'other'"),
    ],
)
def test_a_typed_refusal_is_its_status_with_detail(name, status, detail):
    reply = small_app().get(f"/things/{name}", headers=AUTH)

    assert reply.status_code == status
    assert reply.json() == {"detail": detail}


def test_starlettes_own_refusals_take_the_same_shape():
    client = small_app()

    assert client.get("/nowhere", headers=AUTH).json() == {"detail": "Not Found"}
    refused = client.post("/things/known", headers=AUTH)
    assert refused.status_code == 405
    assert refused.json() == {"detail": "Method Not Allowed"}


def test_health_readiness_and_metrics_are_open():
    client = small_app()

    assert client.get("/healthz").json() == {"status": "ok"}
    assert client.get("/readyz").json() == {"status": "ready"}
    metrics = client.get("/metrics")
    assert metrics.status_code == 200
    assert metrics.headers["content-type"].startswith("text/plain")
    assert "http_requests_total" in metrics.text


def test_readiness_says_why_not():
    reply = small_app("no backend in rotation").get("/readyz")

    assert reply.status_code == 503
    assert reply.json() == {"status": "not ready", "reason": "no backend in rotation"}


def test_requests_are_counted_by_route_template_not_by_path():
    client = small_app()
    client.get("/things/known", headers=AUTH)

    text = client.get("/metrics").text

    assert 'route="/things/{name}"' in text
    assert 'route="/things/known"' not in text


# -- the host ----------------------------------------------------------------------------


def test_a_taken_port_is_a_config_error_with_a_hint():
    first = listen("127.0.0.1", 0, "test API")
    try:
        port = first.getsockname()[1]
        with pytest.raises(ConfigError, match=f"cannot listen on 127.0.0.1:{port} for the x") as e:
            listen("127.0.0.1", port, "x")
        assert e.value.hint == "choose another port"
    finally:
        first.close()


def test_serve_app_answers_on_its_socket_and_stops_when_asked():
    async def scenario() -> tuple[int, int, bool]:
        sock = listen("127.0.0.1", 0, "test API")
        port = sock.getsockname()[1]
        stop = asyncio.Event()
        app = admin_app([], token=TOKEN)
        serving = asyncio.create_task(serve_app(app, sock, stop=stop))
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=2) as client:
            for _ in range(200):  # bounded: uvicorn starts in milliseconds
                try:
                    health = await client.get("/healthz")
                    break
                except httpx.TransportError:
                    await asyncio.sleep(0.01)
            else:
                raise AssertionError("the admin API never answered")
            refused = await client.get("/anything")
        stop.set()
        await asyncio.wait_for(serving, timeout=10)
        return health.status_code, refused.status_code, sock.fileno() == -1

    assert asyncio.run(scenario()) == (200, 401, True)
