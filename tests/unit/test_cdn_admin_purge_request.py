"""A purge request's body: exactly one of url, prefix, tag; soft a boolean; issued_at a
number; anything else an AdminRequestError (400)."""

from __future__ import annotations

import json

import pytest

from millionscale.cdn.admin import WAIT_S, purge_request
from millionscale.errors import AdminRequestError

NO_WAIT = {"wait": False, "wait_s": WAIT_S}


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ({"url": "/a"}, {"url": "/a", "soft": False, "issued_at": None, **NO_WAIT}),
        (
            {"prefix": "http://h/s/", "soft": True},
            {"prefix": "http://h/s/", "soft": True, "issued_at": None, **NO_WAIT},
        ),
        (
            {"tag": "photo-1", "issued_at": 5},
            {"tag": "photo-1", "soft": False, "issued_at": 5.0, **NO_WAIT},
        ),
    ],
)
def test_a_purge_body_gives_the_purge(body: dict[str, object], expected: dict[str, object]) -> None:
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
