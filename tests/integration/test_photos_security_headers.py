"""Security headers on every answer; no CDN-loaded /docs; Secure cookies over TLS."""

import pytest
from starlette.testclient import TestClient

from conftest import PhotoApp, jpeg

pytestmark = pytest.mark.integration

CREDENTIALS = {"username": "alice", "password": "correct horse battery"}


@pytest.mark.parametrize("path", ["/login", "/api/me", "/nosuchpage", "/healthz", "/openapi.json"])
def test_every_answer_carries_the_security_headers(photos: PhotoApp, path):
    headers = photos.anonymous.get(path).headers

    policy = headers["content-security-policy"]
    assert "default-src 'self'" in policy
    assert "frame-ancestors 'none'" in policy
    assert "object-src 'none'" in policy
    assert headers["x-frame-options"] == "DENY"
    assert headers["x-content-type-options"] == "nosniff"
    assert headers["referrer-policy"] == "same-origin"
    assert "strict-transport-security" not in headers  # plain HTTP: RFC 6797 §7.2


def test_uploaded_media_is_never_sniffed(photos: PhotoApp):
    alice = photos.user("alice")
    photo = photos.post_photo(alice, jpeg())

    headers = photos.anonymous.get(photo["url"]).headers

    assert headers["x-content-type-options"] == "nosniff"


@pytest.mark.parametrize("path", ["/docs", "/redoc"])
def test_no_swagger_page_that_loads_scripts_from_a_cdn(photos: PhotoApp, path):
    answer = photos.anonymous.get(path)

    assert answer.status_code == 404
    assert "cdn.jsdelivr.net" not in answer.text
    assert photos.anonymous.get("/openapi.json").status_code == 200


def _signup_cookie(client: TestClient, **headers: str) -> str:
    answer = client.post("/api/signup", json=CREDENTIALS, headers=headers)
    assert answer.status_code == 201, answer.text
    return answer.headers["set-cookie"]


def test_the_cookie_is_secure_over_tls(photos: PhotoApp):
    client = TestClient(photos.app, base_url="https://testserver")

    cookie = _signup_cookie(client)
    answer = client.get("/login")

    assert "; secure" in cookie.lower()
    assert answer.headers["strict-transport-security"] == "max-age=31536000"


def test_the_cookie_is_secure_behind_a_trusted_proxy_that_terminated_tls(photos: PhotoApp):
    balancer = TestClient(photos.app, client=("10.1.2.3", 40000))

    cookie = _signup_cookie(balancer, **{"X-Forwarded-Proto": "https"})

    assert "; secure" in cookie.lower()


def test_an_untrusted_client_cannot_claim_tls(photos: PhotoApp):
    stranger = TestClient(photos.app, client=("203.0.113.9", 40000))

    cookie = _signup_cookie(stranger, **{"X-Forwarded-Proto": "https"})

    assert "secure" not in cookie.lower()
