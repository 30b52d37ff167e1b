"""The fault proxy's admin API: bearer token, faults in and out, 4xx with a reason."""

import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from starlette.testclient import TestClient

from millionscale.chaos import FaultProxy, Link, NewConnections, OpenConnections, Partition
from millionscale.chaos.admin import create_app

TOKEN = "s3cret-token"
AUTH = {"Authorization": f"Bearer {TOKEN}"}


def admin() -> tuple[FaultProxy, TestClient]:
    """An admin API over a proxy that is never started (no socket is opened)."""
    proxy = FaultProxy(("127.0.0.1", 9))
    return proxy, TestClient(create_app(proxy, TOKEN))


@pytest.mark.parametrize(
    ("method", "path"),
    [("GET", "/faults"), ("PUT", "/faults"), ("POST", "/partition"), ("POST", "/reset")],
)
@pytest.mark.parametrize("headers", [{}, {"Authorization": "Bearer wrong"}])
def test_every_control_route_wants_the_token(method, path, headers):
    _, client = admin()

    reply = client.request(method, path, headers=headers, content=b"{}")

    assert reply.status_code == 401
    assert reply.json() == {"detail": "missing or wrong admin token"}


def test_health_and_metrics_need_no_token():
    _, client = admin()

    assert client.get("/healthz").status_code == 200
    assert client.get("/metrics").status_code == 200


def test_put_replaces_the_faults_and_get_reads_them_back():
    proxy, client = admin()

    put = client.put("/faults", headers=AUTH, json={"downstream": {"latency_ms": 50}})
    got = client.get("/faults", headers=AUTH)

    assert put.status_code == 200
    assert put.json()["result"] == "faults set: downstream +50 ms"
    assert proxy.faults.downstream == Link(latency_s=0.05)
    assert got.json()["faults"]["downstream"]["latency_ms"] == 50
    assert got.json()["summary"] == "downstream +50 ms"


def test_delete_clears_the_faults():
    proxy, client = admin()
    client.put("/faults", headers=AUTH, json={"latency_ms": 5})

    reply = client.delete("/faults", headers=AUTH)

    assert reply.json()["result"] == "faults set: no faults"
    assert proxy.faults.clean


def test_partition_and_heal():
    proxy, client = admin()

    parted = client.post("/partition", headers=AUTH, json={"new": "refuse", "existing": "cut"})
    assert proxy.partitioned == Partition(NewConnections.REFUSE, OpenConnections.CUT)
    healed = client.post("/heal", headers=AUTH)

    assert parted.json()["partition"] == {"new": "refuse", "existing": "cut"}
    assert healed.json()["result"] == "healed: 0 held connections go on"
    assert proxy.partitioned is None


def test_an_empty_partition_body_means_hang_and_freeze():
    proxy, client = admin()

    reply = client.post("/partition", headers=AUTH)

    assert reply.status_code == 200
    assert proxy.partitioned == Partition()


def test_stats_are_the_proxy_statistics():
    _, client = admin()

    reply = client.get("/stats", headers=AUTH)

    assert reply.json()["accepted"] == 0
    assert set(reply.json()) >= {"open", "cut", "bytes_upstream", "bytes_downstream"}


@pytest.mark.parametrize(
    ("body", "status", "reason"),
    [
        (b"", 422, "the body must be a JSON fault spec"),
        (b"{nope", 422, "the body is not JSON"),
        (b"\xff\xfe", 422, "the body is not JSON"),
        (b'{"latency_ms": -5}', 422, "latency_ms must be 0 to 600000, not -5"),
        (b'{"bogus": 1}', 422, "unknown key 'bogus'"),
        (b"[" * 100_000, 413, "the body is over"),
    ],
)
def test_a_bad_fault_spec_gets_a_4xx_with_its_reason(body, status, reason):
    proxy, client = admin()

    reply = client.put("/faults", headers=AUTH, content=body)

    assert reply.status_code == status
    assert reason in reply.json()["detail"]
    assert proxy.faults.clean


def test_an_unknown_route_or_method_gets_json_404_or_405():
    _, client = admin()

    assert client.get("/nope", headers=AUTH).status_code == 404
    assert client.post("/faults", headers=AUTH).json() == {"detail": "Method Not Allowed"}


@settings(suppress_health_check=[HealthCheck.too_slow], max_examples=60)
@given(
    path=st.sampled_from(["/faults", "/partition"]),
    body=st.binary(max_size=200)
    | st.dictionaries(st.text(max_size=12), st.none() | st.floats() | st.text(max_size=8)).map(
        lambda d: json.dumps(d).encode()
    ),
)
def test_no_body_makes_the_api_fail_with_a_5xx(path, body):
    _, client = admin()

    reply = client.request("PUT" if path == "/faults" else "POST", path, headers=AUTH, content=body)

    assert reply.status_code in (200, 413, 422)


@pytest.mark.parametrize("scheme", ["bearer", "BEARER", "Bearer"])
def test_the_bearer_scheme_is_case_insensitive(scheme):
    _, client = admin()

    reply = client.get("/faults", headers={"Authorization": f"{scheme} {TOKEN}"})

    assert reply.status_code == 200
