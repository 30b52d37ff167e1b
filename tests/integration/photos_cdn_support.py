"""The photo app configured for a CDN: its URL, its edges' discovery, on a fresh database."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from starlette.testclient import TestClient

from conftest import PhotoApp
from millionscale.discovery import Member, Snapshot
from millionscale.photos.app import Settings, create_app


@contextmanager
def photo_app(database_url: str, tmp_path: Path, **cdn: Any) -> Iterator[PhotoApp]:
    """The app with ``cdn`` settings (``cdn_url``, ``cdn_discovery``, ``cdn_admin_token``);
    its lifespan ends (and its background purges are done) when the block does."""
    settings = Settings(
        database_url=database_url,
        secret_key=secrets.token_urlsafe(32),
        media_dir=tmp_path / "media",
        max_upload_bytes=256 * 1024,
        pool_max=4,
        **cdn,
    )
    app = create_app(settings)
    with TestClient(app) as anonymous:
        helper = PhotoApp(app, settings.media_dir, database_url, anonymous)
        yield helper
        for client in helper.clients:
            client.close()


def discovery_file(path: Path, *members: Member) -> str:
    """A discovery source (``file:PATH``) holding ``members``."""
    path.write_text(Snapshot(1, members).dumps())
    return f"file:{path}"


def signed_up(photos: PhotoApp, username: str) -> TestClient:
    """``photos.anonymous``, signed up as ``username``: the client whose requests run on
    the app's own event loop (the one its lifespan runs on), where background purges
    live on after the answer. (A client made by ``photos.client()`` runs each request
    on an event loop of its own, closed when the answer is in: a background task
    would be cancelled with it.)"""
    client = photos.anonymous
    response = client.post(
        "/api/signup", json={"username": username, "password": "correct horse battery"}
    )
    assert response.status_code == 201, response.text
    return client
