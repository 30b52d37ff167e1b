"""The placeholder web process against a real PostgreSQL: health, readiness, metrics."""

import pytest
from starlette.testclient import TestClient

from millionscale.servers import RunningServer, free_port
from millionscale.web.placeholder import create_app

pytestmark = pytest.mark.integration


def test_counts_visits_in_the_database(postgres: RunningServer):
    with TestClient(create_app(postgres.url)) as client:
        first = client.get("/").json()
        second = client.get("/").json()

    assert (first["visits"], second["visits"]) == (1, 2)


def test_is_ready_when_the_database_answers(postgres: RunningServer):
    with TestClient(create_app(postgres.url)) as client:
        health = client.get("/healthz")
        ready = client.get("/readyz")

    assert health.status_code == 200
    assert ready.status_code == 200


def test_is_alive_but_not_ready_without_its_database():
    unreachable = f"postgresql://postgres:x@127.0.0.1:{free_port()}/postgres"

    with TestClient(create_app(unreachable)) as client:
        health = client.get("/healthz")
        ready = client.get("/readyz")
        index = client.get("/")

    assert health.status_code == 200
    assert ready.status_code == 503
    assert "database unreachable" in ready.json()["reason"]
    assert index.status_code == 503


def test_metrics_label_requests_by_route_template(postgres: RunningServer):
    with TestClient(create_app(postgres.url)) as client:
        client.get("/")
        client.get("/no/such/page/12345")
        body = client.get("/metrics").text

    assert 'http_requests_total{method="GET",route="/",status="2xx"}' in body
    assert 'route="unmatched",status="4xx"' in body
    assert "12345" not in body  # raw paths never become labels
