"""Uploading photos: validated by decoding, stored whole or not at all."""

import io

import pytest
from PIL import Image

from conftest import PhotoApp, jpeg, png

pytestmark = pytest.mark.integration


def test_a_jpeg_is_stored_with_a_thumbnail_under_fingerprinted_urls(photos: PhotoApp):
    alice = photos.user("alice")

    photo = photos.post_photo(alice, jpeg(640, 480), caption="sunset")

    assert photo["caption"] == "sunset"
    assert (photo["width"], photo["height"]) == (640, 480)
    assert photo["owner"]["username"] == "alice"
    original = photos.anonymous.get(photo["url"])
    thumbnail = photos.anonymous.get(photo["thumbnail_url"])
    assert original.status_code == thumbnail.status_code == 200
    stored = Image.open(io.BytesIO(original.content))
    assert (stored.format, stored.size) == ("JPEG", (640, 480))  # re-encoded without metadata
    assert "immutable" in original.headers["cache-control"]
    assert "max-age=31536000" in thumbnail.headers["cache-control"]
    assert len(photos.media_files()) == 2


def test_a_png_is_accepted(photos: PhotoApp):
    alice = photos.user("alice")

    response = alice.post("/api/photos", files={"file": ("p.png", png(), "image/png")})

    assert response.status_code == 201
    assert response.json()["url"].endswith(".png")


def test_the_url_changes_with_the_content(photos: PhotoApp):
    alice = photos.user("alice")

    red = photos.post_photo(alice, jpeg(colour=(255, 0, 0)))
    blue = photos.post_photo(alice, jpeg(colour=(0, 0, 255)))

    assert red["url"] != blue["url"]


def test_an_oversized_upload_is_413_and_leaves_nothing(photos: PhotoApp):
    alice = photos.user("alice")
    huge = b"\xff\xd8" + b"0" * (300 * 1024)

    response = alice.post("/api/photos", files={"file": ("big.jpg", huge, "image/jpeg")})

    assert response.status_code == 413
    assert photos.media_files() == []
    assert photos.rows("photos") == 0


@pytest.mark.parametrize(
    "data",
    [
        pytest.param(b"GIF89a" + b"\x00" * 100, id="gif-header"),
        pytest.param(b"not an image at all", id="text"),
        pytest.param(jpeg()[:200], id="truncated-jpeg"),
        pytest.param(b"", id="empty"),
    ],
)
def test_a_file_that_is_not_a_decodable_image_is_415_and_leaves_nothing(photos: PhotoApp, data):
    alice = photos.user("alice")

    response = alice.post("/api/photos", files={"file": ("x.jpg", data, "image/jpeg")})

    assert response.status_code == 415
    assert photos.media_files() == []
    assert photos.rows("photos") == 0


def test_a_caption_over_the_limit_is_422_and_leaves_nothing(photos: PhotoApp):
    alice = photos.user("alice")

    response = alice.post(
        "/api/photos",
        files={"file": ("a.jpg", jpeg(), "image/jpeg")},
        data={"caption": "x" * 2201},
    )

    assert response.status_code == 422
    assert photos.media_files() == []
    assert photos.rows("photos") == 0


def test_a_failed_insert_removes_the_files_it_wrote(photos: PhotoApp):
    import psycopg

    alice = photos.user("alice")
    with psycopg.connect(photos.database_url, autocommit=True) as conn:
        conn.execute(  # make every insert fail after the files are written
            "ALTER TABLE photos ADD CONSTRAINT no_more CHECK (caption <> 'doomed')"
        )

    with pytest.raises(Exception, match="no_more"):
        alice.post(
            "/api/photos",
            files={"file": ("a.jpg", jpeg(), "image/jpeg")},
            data={"caption": "doomed"},
        )

    assert photos.media_files() == []
    assert photos.rows("photos") == 0


def test_uploading_needs_a_session(photos: PhotoApp):
    response = photos.anonymous.post("/api/photos", files={"file": ("a.jpg", jpeg(), "image/jpeg")})

    assert response.status_code == 401
    assert photos.media_files() == []


def test_media_paths_cannot_escape_the_media_directory(photos: PhotoApp):
    assert photos.anonymous.get("/media/../../etc/passwd").status_code == 404
    assert photos.anonymous.get("/media/%2e%2e/%2e%2e/etc/passwd").status_code == 404
