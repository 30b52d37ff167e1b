"""The HTML pages, their static assets, and the process's health endpoints."""

import re

import pytest

from conftest import PhotoApp

pytestmark = pytest.mark.integration


def test_pages_without_a_session_send_you_to_log_in(photos: PhotoApp):
    for path in ("/", "/upload"):
        response = photos.anonymous.get(path, follow_redirects=False)

        assert response.status_code == 303
        assert response.headers["location"] == "/login"


def test_the_timeline_page_shows_the_photos(photos: PhotoApp):
    alice = photos.user("alice")
    photo = photos.post_photo(alice, caption="hello page")

    page = alice.get("/")

    assert page.status_code == 200
    assert "hello page" in page.text
    assert photo["thumbnail_url"] in page.text


def test_the_profile_page_escapes_what_users_wrote(photos: PhotoApp):
    alice = photos.user("alice")
    photos.post_photo(alice, caption="<script>alert(1)</script>")

    page = photos.anonymous.get("/u/alice")

    assert page.status_code == 200
    assert "<script>alert(1)</script>" not in page.text
    assert "&lt;script&gt;" in page.text


def test_static_assets_are_fingerprinted_and_cached_for_a_year(photos: PhotoApp):
    page = photos.anonymous.get("/login").text
    css = re.search(r'href="(/static/app\.[0-9a-f]{10}\.css)"', page)
    js = re.search(r'src="(/static/app\.[0-9a-f]{10}\.js)"', page)

    assert css is not None
    assert js is not None
    for url in (css.group(1), js.group(1)):
        response = photos.anonymous.get(url)
        assert response.status_code == 200
        assert response.headers["cache-control"] == "public, max-age=31536000, immutable"
    assert photos.anonymous.get("/static/app.0000000000.css").status_code == 404


def test_health_readiness_and_metrics(photos: PhotoApp):
    assert photos.anonymous.get("/healthz").status_code == 200
    assert photos.anonymous.get("/readyz").status_code == 200
    photos.anonymous.get("/api/users/nobody")
    metrics = photos.anonymous.get("/metrics").text
    assert 'route="/api/users/{username}",status="4xx"' in metrics


def test_the_openapi_spec_lists_every_endpoint(photos: PhotoApp):
    spec = photos.anonymous.get("/openapi.json").json()

    assert set(spec["paths"]) == {
        "/api/signup",
        "/api/login",
        "/api/logout",
        "/api/me",
        "/api/timeline",
        "/api/photos",
        "/api/photos/{photo_id}",
        "/api/photos/{photo_id}/like",
        "/api/users/{username}",
        "/api/users/{username}/follow",
    }
