"""A photo belongs to its owner: nobody else may edit or delete it."""

import pytest

from conftest import PhotoApp

pytestmark = pytest.mark.integration


def test_the_owner_edits_the_caption(photos: PhotoApp):
    alice = photos.user("alice")
    photo = photos.post_photo(alice, caption="before")

    response = alice.patch(f"/api/photos/{photo['id']}", json={"caption": "after"})

    assert response.status_code == 200
    assert photos.anonymous.get(f"/api/photos/{photo['id']}").json()["caption"] == "after"


def test_another_user_cannot_edit_a_photo(photos: PhotoApp):
    alice = photos.user("alice")
    bob = photos.user("bob")
    photo = photos.post_photo(alice, caption="mine")

    response = bob.patch(f"/api/photos/{photo['id']}", json={"caption": "hacked"})

    assert response.status_code == 403
    assert photos.anonymous.get(f"/api/photos/{photo['id']}").json()["caption"] == "mine"


def test_another_user_cannot_delete_a_photo(photos: PhotoApp):
    alice = photos.user("alice")
    bob = photos.user("bob")
    photo = photos.post_photo(alice)

    response = bob.delete(f"/api/photos/{photo['id']}")

    assert response.status_code == 403
    assert photos.anonymous.get(f"/api/photos/{photo['id']}").status_code == 200
    assert len(photos.media_files()) == 2


def test_anonymous_users_cannot_edit_or_delete(photos: PhotoApp):
    alice = photos.user("alice")
    photo = photos.post_photo(alice)

    assert (
        photos.anonymous.patch(f"/api/photos/{photo['id']}", json={"caption": "x"}).status_code
        == 401
    )
    assert photos.anonymous.delete(f"/api/photos/{photo['id']}").status_code == 401


def test_the_owner_deletes_a_photo_and_its_files(photos: PhotoApp):
    alice = photos.user("alice")
    photo = photos.post_photo(alice)

    response = alice.delete(f"/api/photos/{photo['id']}")

    assert response.status_code == 204
    assert photos.anonymous.get(f"/api/photos/{photo['id']}").status_code == 404
    assert photos.media_files() == []


def test_files_shared_by_another_photo_survive_a_delete(photos: PhotoApp):
    alice = photos.user("alice")
    bob = photos.user("bob")
    first = photos.post_photo(alice)
    photos.post_photo(bob)  # the same bytes: the same stored files

    alice.delete(f"/api/photos/{first['id']}")

    assert len(photos.media_files()) == 2


@pytest.mark.parametrize("method", ["get", "delete"])
def test_missing_photos_are_404(photos: PhotoApp, method):
    alice = photos.user("alice")

    assert getattr(alice, method)("/api/photos/999999").status_code == 404
