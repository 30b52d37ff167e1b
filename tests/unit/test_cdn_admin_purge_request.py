"""A purge request's body: exactly one of url, prefix, tag; soft a boolean; issued_at a
number; anything else an AdminRequestError (400)."""

from __future__ import annotations

import json

import pytest

from millionscale.cdn.admin import PurgeRequest, purge_request
from millionscale.cdn.purge import Purge
from millionscale.errors import AdminRequestError


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ({"url": "/a"}, PurgeRequest(Purge.url("/a"))),
        (
            {"prefix": "http://h/s/", "soft": True},
            PurgeRequest(Purge.prefix("http://h/s/", soft=True)),
        ),
        ({"tag": "photo-1", "issued_at": 5}, PurgeRequest(Purge.tag("photo-1"), issued_at=5.0)),
        (
            {"tag": "photo-1", "wait": True, "wait_s": 2},
            PurgeRequest(Purge.tag("photo-1"), wait=True, wait_s=2.0),
        ),
    ],
)
def test_a_purge_body_gives_the_purge(body: dict[str, object], expected: PurgeRequest) -> None:
    # Act
    arguments = purge_request(json.dumps(body).encode())
    # Assert
    assert arguments == expected


@pytest.mark.parametrize(
    "body",
    [
        b"",
        b"{",
        b"[]",
        b'{"url": "/a", "prefix": "/b"}',
        b'{"tag": 1}',
        b'{"url": "a"}',
        b'{"url": "/\xc3\xa9"}',
        b'{"tag": "two words"}',
        b'{"all": ""}',
        b'{"tag": "a", "soft": 1}',
        b'{"tag": "a", "issued_at": true}',
        b'{"tag": "a", "issued_at": NaN}',
        b'{"tag": "a", "wait": 1}',
        b'{"tag": "a", "wait": true, "wait_s": 3600}',
        b'{"tag": "a", "what": 1}',
        b"[" * 100_000,
    ],
)
def test_anything_else_is_refused(body: bytes) -> None:
    # Act / Assert
    with pytest.raises(AdminRequestError):
        purge_request(body)
