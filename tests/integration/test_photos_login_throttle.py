"""Login throttling per account and per client address: 429 with Retry-After.

The client address is the socket's peer, or from X-Forwarded-For when the
peer is a trusted proxy (the balancer); counts live in PostgreSQL or, with
REDIS_URL, in Redis, so every web server sees them.
"""

import secrets
from collections.abc import Iterator
from pathlib import Path

import pytest
from starlette.testclient import TestClient

from conftest import PhotoApp
from millionscale.photos.app import Settings, create_app
from millionscale.servers import RunningServer
from millionscale.web.throttle import ACCOUNT_FAILURES

pytestmark = pytest.mark.integration

PASSWORD = "correct horse battery"


def login(client: TestClient, username: str, password: str, **headers: str):
    return client.post(
        "/api/login", json={"username": username, "password": password}, headers=headers
    )


def from_address(photos: PhotoApp, address: str) -> TestClient:
    client = TestClient(photos.app, client=(address, 40000))
    client.portal = photos.anonymous.portal  # one event loop, as under uvicorn
    photos.clients.append(client)
    return client


def test_forty_wrong_passwords_are_throttled_with_retry_after(photos: PhotoApp):
    photos.user("alice", PASSWORD)
    attacker = from_address(photos, "203.0.113.7")

    answers = [login(attacker, "alice", f"guess {i}") for i in range(40)]

    statuses = [a.status_code for a in answers]
    assert statuses == [401] * ACCOUNT_FAILURES + [429] * (40 - ACCOUNT_FAILURES)
    refused = answers[-1]
    assert int(refused.headers["retry-after"]) >= 1
    assert refused.json()["detail"].startswith("too many failed logins")
    # The right password is refused too while the account is throttled: no oracle.
    assert login(attacker, "alice", PASSWORD).status_code == 429


def test_the_account_is_throttled_from_every_address(photos: PhotoApp):
    photos.user("alice", PASSWORD)
    for i in range(ACCOUNT_FAILURES):
        assert login(from_address(photos, f"203.0.113.{i + 1}"), "alice", "x").status_code == 401

    assert login(from_address(photos, "198.51.100.1"), "alice", "x").status_code == 429


def test_unknown_accounts_are_throttled_alike(photos: PhotoApp):
    client = from_address(photos, "203.0.113.7")

    statuses = {login(client, "nobody", "x").status_code for _ in range(ACCOUNT_FAILURES + 1)}

    assert statuses == {401, 429}


@pytest.fixture
def strict_address(database_url: str, tmp_path: Path) -> Iterator[PhotoApp]:
    """The app with a per-address limit of 3 failed logins."""
    settings = Settings(
        database_url=database_url,
        secret_key=secrets.token_urlsafe(32),
        media_dir=tmp_path / "media",
        pool_max=4,
        login_address_failures=3,
    )
    app = create_app(settings)
    with TestClient(app) as anonymous:
        helper = PhotoApp(app, settings.media_dir, database_url, anonymous)
        yield helper
        for client in helper.clients:
            client.close()


def test_one_address_guessing_many_accounts_is_throttled(strict_address: PhotoApp):
    guesser = from_address(strict_address, "203.0.113.7")

    statuses = [login(guesser, f"user{i}", "x").status_code for i in range(5)]

    assert statuses == [401, 401, 401, 429, 429]
    other = from_address(strict_address, "198.51.100.1")
    assert login(other, "user9", "x").status_code == 401  # another address is not held back


def test_behind_the_balancer_each_client_is_its_own_address(strict_address: PhotoApp):
    balancer = from_address(strict_address, "10.1.2.3")  # a trusted proxy (private range)

    statuses = [
        login(balancer, f"user{i}", "x", **{"X-Forwarded-For": f"203.0.113.{i}"}).status_code
        for i in range(6)
    ]
    guesser = [
        login(balancer, f"user{i}", "x", **{"X-Forwarded-For": "198.51.100.7"}).status_code
        for i in range(5)
    ]

    assert statuses == [401] * 6  # six clients, one failure each
    assert guesser == [401, 401, 401, 429, 429]


def test_a_forged_forwarded_for_from_an_untrusted_peer_is_ignored(strict_address: PhotoApp):
    guesser = from_address(strict_address, "203.0.113.7")

    statuses = [
        login(guesser, f"user{i}", "x", **{"X-Forwarded-For": f"198.51.100.{i}"}).status_code
        for i in range(5)
    ]

    assert statuses == [401, 401, 401, 429, 429]


def test_spoofed_addresses_left_of_the_balancer_s_do_not_help(strict_address: PhotoApp):
    balancer = from_address(strict_address, "10.1.2.3")

    statuses = [
        login(
            balancer, f"user{i}", "x", **{"X-Forwarded-For": f"1.2.3.{i}, 203.0.113.7"}
        ).status_code
        for i in range(5)
    ]

    assert statuses == [401, 401, 401, 429, 429]


def test_successful_logins_from_one_address_are_never_throttled(strict_address: PhotoApp):
    for i in range(6):
        strict_address.user(f"user{i}", PASSWORD)
    office = from_address(strict_address, "203.0.113.7")

    statuses = [login(office, f"user{i}", PASSWORD).status_code for i in range(6) for _ in (1, 2)]

    assert statuses == [200] * 12


@pytest.fixture
def two_servers_on_redis(
    database_url: str, redis: RunningServer, tmp_path: Path
) -> Iterator[tuple[PhotoApp, PhotoApp]]:
    """Two web servers sharing one Redis (sessions and the throttle's counts)."""
    key = secrets.token_urlsafe(32)
    apps = []
    for name in ("web-1", "web-2"):
        settings = Settings(
            database_url=database_url,
            secret_key=key,
            media_dir=tmp_path / name,
            pool_max=4,
            redis_url=redis.url,
        )
        apps.append(create_app(settings))
    with TestClient(apps[0]) as first, TestClient(apps[1]) as second:
        pair = (
            PhotoApp(apps[0], tmp_path / "web-1", database_url, first),
            PhotoApp(apps[1], tmp_path / "web-2", database_url, second),
        )
        yield pair
        for client in pair[0].clients + pair[1].clients:
            client.close()


def test_web_servers_sharing_redis_share_the_counts(two_servers_on_redis):
    web1, web2 = two_servers_on_redis
    signup = from_address(web1, "192.0.2.1").post(
        "/api/signup", json={"username": "alice", "password": PASSWORD}
    )
    assert signup.status_code == 201
    half = ACCOUNT_FAILURES // 2

    one = [login(from_address(web1, "203.0.113.7"), "alice", "x").status_code for _ in range(half)]
    two = [
        login(from_address(web2, "203.0.113.8"), "alice", "x").status_code
        for _ in range(ACCOUNT_FAILURES - half + 1)
    ]

    assert one + two == [401] * ACCOUNT_FAILURES + [429]
