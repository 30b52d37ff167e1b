"""The balancer's admin API: membership at run time, refusals typed, bodies fuzzed."""

from __future__ import annotations

import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from starlette.testclient import TestClient

from millionscale.errors import Conflict, NotFound
from millionscale.lb import Balancer
from millionscale.lb.admin import create_app

TOKEN = "s3cret-token"
AUTH = {"Authorization": f"Bearer {TOKEN}"}


def admin(*members: str) -> tuple[Balancer, TestClient]:
    """An admin API over a balancer that is never started (no socket is opened)."""
    balancer = Balancer()
    for i, name in enumerate(members):
        balancer.add(name, "127.0.0.1", 9000 + i, initial=True)
    return balancer, TestClient(create_app(balancer, TOKEN))


def names(reply_json: dict[str, object]) -> list[str]:
    backends = reply_json["backends"]
    assert isinstance(backends, list)
    return [b["name"] for b in backends]


def test_membership_errors_are_typed():
    balancer = Balancer()
    balancer.add("web-1", "127.0.0.1", 9001)

    with pytest.raises(Conflict, match="backend 'web-1' already exists"):
        balancer.add("web-1", "127.0.0.1", 9002)
    with pytest.raises(NotFound, match=r"no backend 'web-9' \(backends: web-1\)"):
        balancer.drain("web-9")
    with pytest.raises(NotFound):
        balancer.remove("web-9")


def test_add_lists_and_answers_201():
    balancer, client = admin("web-1")

    reply = client.post(
        "/backends", headers=AUTH, json={"name": "web-2", "address": "127.0.0.1:9102", "weight": 3}
    )

    assert reply.status_code == 201
    assert names(reply.json()) == ["web-1", "web-2"]
    assert balancer.backends["web-2"].weight == 3
    assert names(client.get("/backends", headers=AUTH).json()) == ["web-1", "web-2"]


def test_adding_a_member_again_is_409_with_its_reason():
    _, client = admin("web-1")

    reply = client.post("/backends", headers=AUTH, json={"name": "web-1", "address": "h:1"})

    assert reply.status_code == 409
    assert reply.json() == {"detail": "backend 'web-1' already exists (remove it first)"}


@pytest.mark.parametrize(
    ("method", "path"), [("POST", "/backends/web-9/drain"), ("DELETE", "/backends/web-9")]
)
def test_no_such_backend_is_404_naming_the_members(method, path):
    _, client = admin("web-1", "web-3")

    reply = client.request(method, path, headers=AUTH)

    assert reply.status_code == 404
    assert reply.json() == {"detail": "no backend 'web-9' (backends: web-1, web-3) (see lb status)"}


def test_drain_then_remove():
    balancer, client = admin("web-1", "web-2")

    drained = client.post("/backends/web-1/drain", headers=AUTH)
    removed = client.delete("/backends/web-2", headers=AUTH)

    assert drained.status_code == 200
    assert "drain" in drained.json()["result"]
    assert removed.status_code == 200
    assert list(balancer.backends) == ["web-1"]


@pytest.mark.parametrize(
    ("body", "detail"),
    [
        (b"", 'the body must be {"name": ..., "address": "host:port"}'),
        (b"{nope", 'the body must be {"name": ..., "address": "host:port"}'),
        (b"[1]", 'the body must be {"name": ..., "address": "host:port"}'),
        (b'{"name": "w", "address": "h:1", "weight": 0}', "weight must be 1 to 256"),
        (b'{"name": "w", "address": "h:1", "weight": 1e400}', 'the body must be {"name": ...'),
        (b'{"name": "", "address": "h:1"}', "a backend's name must not be empty"),
        (b'{"name": "w", "address": "nowhere"}', "backend 'w=nowhere' is not name=host:port"),
    ],
)
def test_a_bad_body_is_422_with_its_reason(body, detail):
    balancer, client = admin()

    reply = client.post("/backends", headers=AUTH, content=body)

    assert reply.status_code == 422
    assert reply.json()["detail"].startswith(detail.removesuffix("..."))
    assert balancer.backends == {}


def test_readiness_wants_a_backend_in_rotation():
    _, empty = admin()
    _, serving = admin("web-1")

    assert empty.get("/readyz").json() == {
        "status": "not ready",
        "reason": "no backend in rotation",
    }
    assert serving.get("/readyz").status_code == 200


_JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=12),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3)
    ),
    max_leaves=8,
)
_MEMBER = st.fixed_dictionaries(
    {"name": st.text(max_size=12), "address": st.text(max_size=24)},
    optional={"weight": _JSON},
)


@settings(suppress_health_check=[HealthCheck.too_slow], max_examples=150, deadline=None)
@given(body=st.binary(max_size=120) | (_MEMBER | _JSON).map(lambda d: json.dumps(d).encode()))
def test_no_body_makes_add_fail_with_a_5xx_or_a_traceback(body):
    balancer, client = admin("web-1")

    reply = client.post("/backends", headers=AUTH, content=body)

    assert reply.status_code in (201, 409, 422), reply.text
    assert isinstance(
        reply.json()["detail" if reply.status_code != 201 else "backends"], str | list
    )
    assert len(balancer.backends) == (2 if reply.status_code == 201 else 1)
