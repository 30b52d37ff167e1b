"""Uploaded photos lose their metadata (GPS included) and stay upright."""

import io

import pytest
from PIL import ExifTags, Image

from conftest import PhotoApp

pytestmark = pytest.mark.integration

GPS_IFD = 0x8825


def jpeg_with_gps(orientation: int = 1) -> bytes:
    """A 60x40 JPEG, its left half red, with GPS coordinates, a camera and an orientation."""
    image = Image.new("RGB", (60, 40), (0, 0, 255))
    image.paste((255, 0, 0), (0, 0, 30, 40))
    exif = Image.Exif()
    exif[ExifTags.Base.Make] = "SpyCam"
    exif[ExifTags.Base.Orientation] = orientation
    gps = exif.get_ifd(GPS_IFD)
    gps[ExifTags.GPS.GPSLatitudeRef] = "N"
    gps[ExifTags.GPS.GPSLatitude] = (48.0, 51.0, 24.0)
    gps[ExifTags.GPS.GPSLongitudeRef] = "E"
    gps[ExifTags.GPS.GPSLongitude] = (2.0, 21.0, 3.0)
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", exif=exif, comment=b"taken at home", quality=95)
    return buffer.getvalue()


def test_the_fixture_carries_gps():
    assert Image.open(io.BytesIO(jpeg_with_gps())).getexif().get_ifd(GPS_IFD)


def test_the_stored_original_has_no_exif_no_gps_and_no_comment(photos: PhotoApp):
    alice = photos.user("alice")

    photo = photos.post_photo(alice, jpeg_with_gps())
    served = photos.anonymous.get(photo["url"]).content

    stored = Image.open(io.BytesIO(served))
    assert stored.format == "JPEG"
    assert dict(stored.getexif()) == {}
    assert "exif" not in stored.info
    assert "comment" not in stored.info
    assert b"SpyCam" not in served
    assert b"taken at home" not in served
    thumbnail = photos.anonymous.get(photo["thumbnail_url"]).content
    assert dict(Image.open(io.BytesIO(thumbnail)).getexif()) == {}


def test_an_orientation_is_applied_before_the_tag_is_dropped(photos: PhotoApp):
    alice = photos.user("alice")

    photo = photos.post_photo(alice, jpeg_with_gps(orientation=6))  # rotate 90° clockwise
    stored = Image.open(io.BytesIO(photos.anonymous.get(photo["url"]).content)).convert("RGB")

    assert (photo["width"], photo["height"]) == (40, 60)
    assert stored.size == (40, 60)
    top = stored.getpixel((20, 5))  # the red left half is on top once upright
    assert isinstance(top, tuple)
    assert top[0] > 200
    assert top[2] < 60


def test_a_png_loses_its_exif_too(photos: PhotoApp):
    exif = Image.Exif()
    exif[ExifTags.Base.Make] = "SpyCam"
    buffer = io.BytesIO()
    Image.new("RGB", (20, 20), (1, 2, 3)).save(buffer, "PNG", exif=exif)
    alice = photos.user("alice")

    response = alice.post("/api/photos", files={"file": ("p.png", buffer.getvalue(), "image/png")})
    served = photos.anonymous.get(response.json()["url"]).content

    assert b"SpyCam" not in served
    assert dict(Image.open(io.BytesIO(served)).getexif()) == {}
