"""With CDN_URL set, pages and the API point assets and photos at the CDN."""

import re
from pathlib import Path

import pytest

from conftest import PhotoApp, photo_app

pytestmark = pytest.mark.integration

CDN = "http://127.0.0.1:8300"


def test_the_pages_load_their_assets_from_the_cdn(database_url: str, tmp_path: Path):
    with photo_app(database_url, tmp_path, cdn_url=CDN) as photos:
        page = photos.anonymous.get("/login").text

    assert re.search(rf'href="{CDN}/static/app\.[0-9a-f]{{10}}\.css"', page)
    assert re.search(rf'src="{CDN}/static/app\.[0-9a-f]{{10}}\.js"', page)


def test_the_timeline_and_the_api_point_photos_at_the_cdn(database_url: str, tmp_path: Path):
    with photo_app(database_url, tmp_path, cdn_url=CDN) as photos:
        alice = photos.user("alice")
        photo = photos.post_photo(alice)
        page = alice.get("/").text
        served = photos.anonymous.get(photo["url"].removeprefix(CDN))

    assert photo["url"].startswith(f"{CDN}/media/{photo['id']}/")
    assert photo["thumbnail_url"] in page
    assert served.status_code == 200  # the origin serves what the CDN will ask it for


def test_the_content_security_policy_allows_the_cdn(database_url: str, tmp_path: Path):
    with photo_app(database_url, tmp_path, cdn_url=CDN + "/photos") as photos:
        policy = photos.anonymous.get("/login").headers["content-security-policy"]

    assert f"default-src 'self' {CDN};" in policy
    assert f"img-src 'self' data: {CDN};" in policy


def test_without_cdn_url_the_urls_stay_relative(photos: PhotoApp):
    alice = photos.user("alice")
    photo = photos.post_photo(alice)
    page = alice.get("/").text

    assert photo["url"].startswith("/media/")
    assert 'href="/static/app.' in page
