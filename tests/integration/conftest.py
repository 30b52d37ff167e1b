"""Fixtures for integration tests of the photo app: a fresh database per test, real PostgreSQL."""

from __future__ import annotations

import io
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psycopg
import pytest
from PIL import Image
from starlette.testclient import TestClient

from millionscale.photos.app import Settings, create_app
from millionscale.servers import RunningServer


@pytest.fixture
def database_url(postgres_session: RunningServer) -> Iterator[str]:
    """A new, empty database on the session's PostgreSQL, dropped after the test."""
    name = f"t_{secrets.token_hex(6)}"
    with psycopg.connect(postgres_session.url, autocommit=True) as conn:
        conn.execute(f"CREATE DATABASE {name}")
    yield postgres_session.url.rsplit("/", 1)[0] + f"/{name}"
    with psycopg.connect(postgres_session.url, autocommit=True) as conn:
        conn.execute(f"DROP DATABASE {name} WITH (FORCE)")


def jpeg(width: int = 64, height: int = 48, colour: tuple[int, int, int] = (200, 30, 30)) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (width, height), colour).save(buffer, "JPEG")
    return buffer.getvalue()


def png(width: int = 40, height: int = 40) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGBA", (width, height), (10, 200, 30, 128)).save(buffer, "PNG")
    return buffer.getvalue()


@dataclass
class PhotoApp:
    """The photo app on a fresh database, and a way to act as several users."""

    app: object
    media_dir: Path
    database_url: str
    anonymous: TestClient
    clients: list[TestClient] = field(default_factory=list)

    def client(self) -> TestClient:
        client = TestClient(self.app)  # type: ignore[arg-type]  # lifespan already running
        self.clients.append(client)
        return client

    def user(self, username: str, password: str = "correct horse battery") -> TestClient:
        client = self.client()
        response = client.post("/api/signup", json={"username": username, "password": password})
        assert response.status_code == 201, response.text
        return client

    def post_photo(self, client: TestClient, data: bytes | None = None, caption: str = "") -> dict:
        response = client.post(
            "/api/photos",
            files={"file": ("photo.jpg", data or jpeg(), "image/jpeg")},
            data={"caption": caption},
        )
        assert response.status_code == 201, response.text
        return response.json()

    def media_files(self) -> list[Path]:
        return sorted(p for p in self.media_dir.rglob("*") if p.is_file())

    def rows(self, table: str) -> int:
        with psycopg.connect(self.database_url) as conn:
            row = conn.execute(f"SELECT count(*) FROM {table}").fetchone()
        assert row is not None
        return int(row[0])


@contextmanager
def photo_app(database_url: str, tmp_path: Path, **settings: Any) -> Iterator[PhotoApp]:
    """The app on ``database_url``, its media under ``tmp_path``, with ``settings`` beyond
    the defaults (the CDN's: ``cdn_url``, ``cdn_discovery``, ``cdn_admin_token``); its
    lifespan ends (and its background purges are done) when the block does."""
    app_settings = Settings(
        database_url=database_url,
        secret_key=secrets.token_urlsafe(32),
        media_dir=tmp_path / "media",
        max_upload_bytes=256 * 1024,
        pool_max=4,
        **settings,
    )
    app = create_app(app_settings)
    with TestClient(app) as anonymous:
        helper = PhotoApp(app, app_settings.media_dir, database_url, anonymous)
        yield helper
        for client in helper.clients:
            client.close()


@pytest.fixture
def photos(database_url: str, tmp_path: Path) -> Iterator[PhotoApp]:
    with photo_app(database_url, tmp_path) as helper:
        yield helper
