"""Static assets for a CDN: fingerprinted URLs, cacheable for a year, tagged ``static``."""

import re
from pathlib import Path

import pytest

from conftest import PhotoApp
from millionscale.photos.app import StaticAssets

pytestmark = pytest.mark.integration


def assets_dir(path: Path, css: str) -> Path:
    path.mkdir()
    (path / "app.css").write_text(css)
    (path / "app.js").write_text("console.log(1)")
    return path


def test_the_fingerprint_is_the_same_for_the_same_content(tmp_path: Path):
    first = StaticAssets(assets_dir(tmp_path / "a", "body { margin: 0 }"))
    second = StaticAssets(assets_dir(tmp_path / "b", "body { margin: 0 }"))

    assert first.urls == second.urls
    assert re.fullmatch(r"/static/app\.[0-9a-f]{10}\.css", first.urls["app.css"])


def test_the_fingerprint_changes_with_the_content(tmp_path: Path):
    before = StaticAssets(assets_dir(tmp_path / "a", "body { margin: 0 }"))
    after = StaticAssets(assets_dir(tmp_path / "b", "body { margin: 1px }"))

    assert before.urls["app.css"] != after.urls["app.css"]
    assert before.urls["app.js"] == after.urls["app.js"]  # unchanged file, unchanged URL


def test_the_urls_go_under_the_cdn_when_given_one(tmp_path: Path):
    assets = StaticAssets(assets_dir(tmp_path / "a", "x"), "http://127.0.0.1:8300")

    assert assets.urls["app.css"].startswith("http://127.0.0.1:8300/static/app.")


def test_an_asset_is_public_immutable_for_a_year_and_tagged_static(photos: PhotoApp):
    url = photos.app.state.assets.urls["app.css"]

    response = photos.anonymous.get(url)

    assert response.status_code == 200
    assert response.headers["cache-control"] == "public, max-age=31536000, immutable"
    assert response.headers["surrogate-key"] == "static"
    assert "set-cookie" not in response.headers


def test_an_unknown_fingerprint_is_a_404_no_cache_may_keep(photos: PhotoApp):
    response = photos.anonymous.get("/static/app.0000000000.css")

    assert response.status_code == 404
    assert response.headers["cache-control"] == "private, no-store"
