"""For the photo app configured for a CDN (conftest.photo_app): its edges' discovery, a user."""

from __future__ import annotations

from pathlib import Path

from starlette.testclient import TestClient

from conftest import PhotoApp
from millionscale.discovery import Member, Snapshot


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
