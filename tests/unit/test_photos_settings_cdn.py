"""The photo app's CDN settings from the environment: its URL, its edges, their token."""

from pathlib import Path

import pytest

from millionscale.discovery import TOKEN_FILE_ENV
from millionscale.errors import ConfigError
from millionscale.photos.app import Settings

BASE = {"DATABASE_URL": "postgresql://app@db/photos", "SECRET_KEY": "s3cret"}


def test_without_cdn_settings_there_is_no_cdn():
    settings = Settings.from_env(BASE)

    assert (settings.cdn_url, settings.cdn_discovery, settings.cdn_admin_token) == (
        None,
        None,
        None,
    )


@pytest.mark.parametrize(
    ("text", "url", "origin"),
    [
        ("http://127.0.0.1:8300", "http://127.0.0.1:8300", "http://127.0.0.1:8300"),
        ("https://cdn.example/", "https://cdn.example", "https://cdn.example"),
        (" https://cdn.example/photos/ ", "https://cdn.example/photos", "https://cdn.example"),
    ],
)
def test_the_cdn_url_is_kept_without_its_last_slash_and_its_origin_known(text, url, origin):
    settings = Settings.from_env({**BASE, "CDN_URL": text})

    assert (settings.cdn_url, settings.cdn_origin) == (url, origin)


@pytest.mark.parametrize("text", ["cdn.example", "ftp://cdn.example", "http://", "http://c/?a=1"])
def test_a_cdn_url_that_is_not_an_http_origin_is_refused(text):
    with pytest.raises(ConfigError, match="CDN_URL must be http://HOST"):
        Settings.from_env({**BASE, "CDN_URL": text})


def test_the_edges_token_comes_from_cdn_admin_token():
    settings = Settings.from_env(
        {**BASE, "CDN_DISCOVERY": "file:edges.json", "CDN_ADMIN_TOKEN": "t"}
    )

    assert (settings.cdn_discovery, settings.cdn_admin_token) == ("file:edges.json", "t")


def test_else_from_the_token_file_the_supervisor_names(tmp_path: Path):
    token = tmp_path / "admin-token"
    token.write_text("from-the-file\n")
    token.chmod(0o600)

    settings = Settings.from_env({**BASE, "CDN_DISCOVERY": "unix:s", TOKEN_FILE_ENV: str(token)})

    assert settings.cdn_admin_token == "from-the-file"


def test_edges_without_a_token_are_refused_at_start():
    with pytest.raises(ConfigError, match="CDN_DISCOVERY is set and CDN_ADMIN_TOKEN is not"):
        Settings.from_env({**BASE, "CDN_DISCOVERY": "file:edges.json"})


def test_the_token_is_not_in_the_settings_repr():
    settings = Settings.from_env({**BASE, "CDN_DISCOVERY": "file:e", "CDN_ADMIN_TOKEN": "hush"})

    assert "hush" not in repr(settings)
