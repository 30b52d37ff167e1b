"""Pages and API answers are private: no shared cache keeps them, nor a session's cookie."""

import pytest

from conftest import PhotoApp

pytestmark = pytest.mark.integration

PRIVATE = "private, no-store"


@pytest.mark.parametrize(
    "path", ["/login", "/u/alice", "/api/users/alice", "/api/me", "/nosuchpage"]
)
def test_pages_and_api_answers_are_private(photos: PhotoApp, path):
    photos.user("alice")

    response = photos.anonymous.get(path, headers={"accept": "text/html"})

    assert response.headers["cache-control"] == PRIVATE


def test_the_timeline_of_a_session_is_private(photos: PhotoApp):
    alice = photos.user("alice")
    photos.post_photo(alice)

    response = alice.get("/")

    assert response.status_code == 200
    assert response.headers["cache-control"] == PRIVATE


@pytest.mark.parametrize("path", ["/api/signup", "/api/login"])
def test_an_answer_that_sets_the_session_cookie_is_private(photos: PhotoApp, path):
    if path == "/api/login":
        photos.user("alice")
    client = photos.client()

    response = client.post(path, json={"username": "alice", "password": "correct horse battery"})

    assert response.status_code in (200, 201)
    assert "set-cookie" in response.headers
    assert response.headers["cache-control"] == PRIVATE


def test_a_redirect_to_log_in_is_private(photos: PhotoApp):
    response = photos.anonymous.get("/", follow_redirects=False)

    assert response.status_code == 303
    assert response.headers["cache-control"] == PRIVATE
