"""What is not there: a 404 page for browsers, {"detail": ...} for API clients; plurals."""

import pytest

from conftest import PhotoApp

pytestmark = pytest.mark.integration

BROWSER = {"Accept": "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"}


def test_an_unknown_user_s_page_is_a_404_page(photos: PhotoApp):
    page = photos.anonymous.get("/u/nosuchuser", headers=BROWSER)

    assert page.status_code == 404
    assert page.headers["content-type"].startswith("text/html")
    assert "There is no user nosuchuser." in page.text


def test_an_unknown_path_is_a_404_page_in_a_browser(photos: PhotoApp):
    alice = photos.user("alice")

    page = alice.get("/nosuchpage", headers=BROWSER)

    assert page.status_code == 404
    assert page.headers["content-type"].startswith("text/html")
    assert "<h1>Not found</h1>" in page.text
    assert 'href="/u/alice"' in page.text  # the page knows who is logged in


@pytest.mark.parametrize("path", ["/nosuchpage", "/static/app.0000000000.css", "/media/ab/x.jpg"])
def test_an_unknown_path_is_json_for_an_api_client(photos: PhotoApp, path):
    answer = photos.anonymous.get(path, headers={"Accept": "application/json"})

    assert answer.status_code == 404
    assert set(answer.json()) == {"detail"}


def test_the_api_answers_json_even_to_a_browser(photos: PhotoApp):
    answer = photos.anonymous.get("/api/users/nosuchuser", headers=BROWSER)

    assert answer.status_code == 404
    assert answer.json() == {"detail": "no such user"}


def test_counts_of_one_are_singular(photos: PhotoApp):
    alice = photos.user("alice")
    bob = photos.user("bob")
    photos.post_photo(alice)
    assert bob.post("/api/users/alice/follow").status_code == 204

    page = photos.anonymous.get("/u/alice").text

    assert "1 photo<" in page
    assert "1 follower<" in page
    assert "0 following" in page
    assert "0 photos" in photos.anonymous.get("/u/bob").text
