"""The failover monitor's admin API: a refused switchover is 409, a bad body 422, and
no body makes it answer 5xx (bodies fuzzed with hypothesis)."""

from __future__ import annotations

import json
from typing import Any, cast

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from starlette.testclient import TestClient

from millionscale.db.failover import ClusterRecord, State, SwitchoverRefused
from millionscale.db.monitor import Monitor, create_app

TOKEN = "s3cret-token"
AUTH = {"Authorization": f"Bearer {TOKEN}"}


class _Core:
    state = State.HEALTHY


class StandInMonitor:
    """What the API calls on a monitor; ``db-r1`` is the one standby it can promote."""

    ready = True
    core = _Core()

    def __init__(self) -> None:
        self.asked: list[str | None] = []

    def view(self) -> dict[str, Any]:
        return {"record": {"epoch": 1, "primary": "db"}, "state": "healthy", "nodes": {}}

    async def switchover(self, to: str | None) -> ClusterRecord:
        self.asked.append(to)
        if to not in (None, "db-r1"):
            raise SwitchoverRefused(f"{to!r} is not a standby of this cluster")
        return ClusterRecord(2, "db-r1", reason="switchover")

    async def failover(self, reason: str) -> ClusterRecord:
        raise SwitchoverRefused("the primary answers: a failover would lose nothing but time")


def client() -> tuple[StandInMonitor, TestClient]:
    monitor = StandInMonitor()
    return monitor, TestClient(create_app(cast(Monitor, monitor), TOKEN))  # no lifespan


def test_a_switchover_answers_the_new_record():
    monitor, api = client()

    reply = api.post("/switchover", headers=AUTH, json={"to": "db-r1"})

    assert reply.status_code == 200
    assert reply.json()["record"]["primary"] == "db-r1"
    assert monitor.asked == ["db-r1"]


def test_a_refused_switchover_or_failover_is_409_with_the_reason():
    _, api = client()

    switchover = api.post("/switchover", headers=AUTH, json={"to": "db-9"})
    failover = api.post("/failover", headers=AUTH)

    assert switchover.status_code == 409
    assert switchover.json() == {"detail": "'db-9' is not a standby of this cluster"}
    assert failover.status_code == 409
    assert failover.json()["detail"].startswith("the primary answers")


def test_readiness_is_open_and_metrics_too():
    _, api = client()

    assert api.get("/readyz").json() == {"status": "ready"}
    assert api.get("/metrics").status_code == 200


_JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=8),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner, max_size=3)
    ),
    max_leaves=6,
)


@settings(suppress_health_check=[HealthCheck.too_slow], max_examples=150, deadline=None)
@given(
    body=st.binary(max_size=80)
    | st.fixed_dictionaries({}, optional={"to": _JSON}).map(lambda d: json.dumps(d).encode())
    | _JSON.map(lambda d: json.dumps(d).encode())
)
def test_no_switchover_body_gets_a_5xx(body):
    monitor, api = client()

    reply = api.post("/switchover", headers=AUTH, content=body)

    assert reply.status_code in (200, 409, 422), reply.text
    if reply.status_code == 422:
        assert reply.json() == {"detail": 'the body must be {} or {"to": "NODE"}'}
        assert monitor.asked == []  # a bad body never reaches the monitor
