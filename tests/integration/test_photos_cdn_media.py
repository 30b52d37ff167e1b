"""Photo files for a CDN: URLs by photo and content, cacheable for a year, tagged by photo
and owner, and gone with the photo."""

import re

import pytest

from conftest import PhotoApp, jpeg

pytestmark = pytest.mark.integration


def test_a_photos_urls_carry_its_id_and_its_content_hash(photos: PhotoApp):
    alice = photos.user("alice")

    photo = photos.post_photo(alice)

    pattern = rf"/media/{photo['id']}/[0-9a-f]{{2}}/[0-9a-f]{{32}}"
    assert re.fullmatch(pattern + r"\.jpg", photo["url"])
    assert re.fullmatch(pattern + r"\.thumb\.jpg", photo["thumbnail_url"])


def test_another_photo_gets_other_urls(photos: PhotoApp):
    alice = photos.user("alice")

    red = photos.post_photo(alice, jpeg(colour=(255, 0, 0)))
    blue = photos.post_photo(alice, jpeg(colour=(0, 0, 255)))

    assert red["url"] != blue["url"]
    assert red["thumbnail_url"] != blue["thumbnail_url"]


@pytest.mark.parametrize("which", ["url", "thumbnail_url"])
def test_a_photo_file_is_public_for_a_year_and_tagged_with_photo_and_owner(photos: PhotoApp, which):
    alice = photos.user("alice")
    photo = photos.post_photo(alice)

    response = photos.anonymous.get(photo[which])

    assert response.status_code == 200
    assert response.headers["cache-control"] == "public, max-age=31536000, immutable"
    assert (
        response.headers["surrogate-key"]
        == f"photo-{photo['id']} user-{photo['owner']['id']} photos"
    )


def test_the_file_of_another_photo_is_not_served_under_this_ones_id(photos: PhotoApp):
    alice = photos.user("alice")
    red = photos.post_photo(alice, jpeg(colour=(255, 0, 0)))
    blue = photos.post_photo(alice, jpeg(colour=(0, 0, 255)))

    mixed = red["url"].replace(f"/media/{red['id']}/", f"/media/{blue['id']}/")

    assert photos.anonymous.get(mixed).status_code == 404


def test_a_deleted_photos_url_is_404_even_when_another_photo_shares_its_file(photos: PhotoApp):
    alice = photos.user("alice")
    bob = photos.user("bob")
    first = photos.post_photo(alice)
    second = photos.post_photo(bob)  # the same bytes: the same stored file

    alice.delete(f"/api/photos/{first['id']}")

    gone = photos.anonymous.get(first["url"])
    assert gone.status_code == 404
    assert gone.headers["cache-control"] == "private, no-store"
    assert photos.anonymous.get(second["url"]).status_code == 200


@pytest.mark.parametrize(
    "path",
    ["/media/0/ab/x.jpg", "/media/x/ab/x.jpg", "/media/99999999999999999999/a", "/media/%C2%B2/a"],
)
def test_a_media_url_with_no_such_photo_is_404(photos: PhotoApp, path):
    assert photos.anonymous.get(path).status_code == 404
