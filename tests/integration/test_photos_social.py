"""Follows, likes, profiles and the timeline."""

import pytest

from conftest import PhotoApp, jpeg

pytestmark = pytest.mark.integration


def test_following_brings_photos_into_the_timeline_newest_first(photos: PhotoApp):
    alice = photos.user("alice")
    bob = photos.user("bob")
    carol = photos.user("carol")
    first = photos.post_photo(bob, jpeg(colour=(1, 2, 3)), caption="first")
    second = photos.post_photo(bob, jpeg(colour=(4, 5, 6)), caption="second")
    photos.post_photo(carol, jpeg(colour=(7, 8, 9)), caption="not followed")

    assert alice.post("/api/users/bob/follow").status_code == 204
    timeline = alice.get("/api/timeline").json()

    assert [p["id"] for p in timeline["items"]] == [second["id"], first["id"]]
    assert timeline["next_cursor"] is None


def test_your_own_photos_are_on_your_timeline(photos: PhotoApp):
    alice = photos.user("alice")
    mine = photos.post_photo(alice)

    assert [p["id"] for p in alice.get("/api/timeline").json()["items"]] == [mine["id"]]


def test_unfollowing_removes_them_again(photos: PhotoApp):
    alice = photos.user("alice")
    bob = photos.user("bob")
    photos.post_photo(bob)
    alice.post("/api/users/bob/follow")

    assert alice.delete("/api/users/bob/follow").status_code == 204

    assert alice.get("/api/timeline").json()["items"] == []


def test_following_is_idempotent_and_counted_once(photos: PhotoApp):
    alice = photos.user("alice")
    photos.user("bob")

    alice.post("/api/users/bob/follow")
    alice.post("/api/users/bob/follow")

    profile = alice.get("/api/users/bob").json()
    assert profile["followers"] == 1
    assert profile["followed_by_me"] is True


def test_following_nobody_or_yourself_is_refused(photos: PhotoApp):
    alice = photos.user("alice")

    assert alice.post("/api/users/nobody/follow").status_code == 404
    assert alice.post("/api/users/alice/follow").status_code == 422
    assert photos.anonymous.post("/api/users/alice/follow").status_code == 401


def test_cursor_pagination_walks_every_photo_once(photos: PhotoApp):
    alice = photos.user("alice")
    posted = [photos.post_photo(alice, jpeg(colour=(i, i, i)))["id"] for i in range(7)]

    seen, cursor = [], None
    for _ in range(10):
        params = {"limit": 3} | ({"cursor": cursor} if cursor else {})
        page = alice.get("/api/timeline", params=params).json()
        seen += [p["id"] for p in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break

    assert seen == list(reversed(posted))


@pytest.mark.parametrize("cursor", ["garbage", "!!!", "MjAyNnxub3RhbmlkMQ", "eA"])
def test_a_bad_cursor_is_400(photos: PhotoApp, cursor):
    alice = photos.user("alice")

    response = alice.get("/api/timeline", params={"cursor": cursor})

    assert response.status_code == 400
    assert "cursor" in response.json()["detail"]


@pytest.mark.parametrize("limit", [0, 101, -1])
def test_a_limit_out_of_range_is_422(photos: PhotoApp, limit):
    alice = photos.user("alice")

    assert alice.get("/api/timeline", params={"limit": limit}).status_code == 422


def test_timeline_needs_a_session(photos: PhotoApp):
    assert photos.anonymous.get("/api/timeline").status_code == 401


def test_likes_are_counted_once_per_user_and_can_be_taken_back(photos: PhotoApp):
    alice = photos.user("alice")
    bob = photos.user("bob")
    photo = photos.post_photo(alice)
    url = f"/api/photos/{photo['id']}/like"

    bob.post(url)
    twice = bob.post(url).json()
    alice_like = alice.post(url).json()
    taken_back = bob.delete(url).json()

    assert twice == {"liked": True, "like_count": 1}
    assert alice_like == {"liked": True, "like_count": 2}
    assert taken_back == {"liked": False, "like_count": 1}
    assert bob.get(f"/api/photos/{photo['id']}").json()["liked_by_me"] is False
    assert alice.get(f"/api/photos/{photo['id']}").json()["liked_by_me"] is True


def test_liking_needs_a_session_and_a_photo(photos: PhotoApp):
    alice = photos.user("alice")

    assert alice.post("/api/photos/424242/like").status_code == 404
    assert photos.anonymous.post("/api/photos/1/like").status_code == 401


def test_a_profile_shows_counts_and_newest_photos(photos: PhotoApp):
    alice = photos.user("alice")
    bob = photos.user("bob")
    photos.post_photo(alice, jpeg(colour=(9, 9, 9)))
    newest = photos.post_photo(alice, jpeg(colour=(8, 8, 8)))
    bob.post("/api/users/alice/follow")

    profile = photos.anonymous.get("/api/users/alice").json()

    assert profile["username"] == "alice"
    assert (profile["photo_count"], profile["followers"], profile["following"]) == (2, 1, 0)
    assert profile["photos"][0]["id"] == newest["id"]
    assert profile["followed_by_me"] is False
    assert photos.anonymous.get("/api/users/nobody").status_code == 404
