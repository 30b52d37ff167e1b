"""The photo-sharing JSON API, as the load generator calls it: one method per endpoint.

All knowledge of the API's paths, payloads and answers lives here, so that a
change to the API is a change to this file only. The contract:

- ``POST /api/signup {"username","password"}`` -> 201 ``{"id","username"}`` + Set-Cookie
- ``POST /api/login {"username","password"}`` -> 200 ``{"id","username"}`` + Set-Cookie; 401 on bad credentials
- ``GET /api/timeline?limit=20&cursor=...`` -> 200 ``{"items": [photo...], "next_cursor": str|null}``
- ``GET /api/photos/{id}`` -> 200 photo
- ``POST /api/photos/{id}/like`` -> 200 ``{"liked": true, "like_count": n}``
- ``POST /api/photos`` (multipart: ``file`` = JPEG/PNG bytes, optional ``caption``) -> 201 photo
- photo = ``{"id","owner":{"id","username"},"caption","created_at","like_count",
  "liked_by_me","url","thumbnail_url","width","height"}``
- ``GET <url>`` / ``GET <thumbnail_url>`` (relative: against the target; absolute:
  as is), without the session cookie (media are public) -> 200 image bytes

Every method returns a :class:`Reply`: the request's :class:`Outcome` and, when
it succeeded, the value the scenarios need (an identity, photo ids, a page
cursor). An answer with a success status but a body that breaks the contract
is the error ``other``. Transport exceptions propagate; the caller classifies
them (:func:`millionscale.bench.http.classify_exception`).
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from functools import cache
from typing import Any, Generic, TypeVar
from urllib.parse import quote

import aiohttp
from PIL import Image

from millionscale.bench.http import HttpTransport, Response
from millionscale.bench.outcome import OK, Outcome

__all__ = [
    "TIMELINE_LIMIT",
    "Fetched",
    "Identity",
    "Media",
    "Page",
    "PhotoApi",
    "Reply",
    "sample_jpeg",
]

T = TypeVar("T")

TIMELINE_LIMIT = 20  # the API's page size for a first screen of photos
SAMPLE_JPEG_SIZE = (64, 48)  # small: a post measures the upload path, not the bandwidth

_MALFORMED = Outcome.failed("other")


@dataclass(frozen=True, slots=True)
class Reply(Generic[T]):
    """The outcome of one API call and, when it succeeded, its value."""

    outcome: Outcome
    value: T | None = None


@dataclass(frozen=True, slots=True)
class Identity:
    """A logged-in user: the session cookie to send with each of their requests."""

    username: str
    cookie: str


@dataclass(frozen=True, slots=True)
class Media:
    """Where one photo's files are, as the API gave them (relative or absolute URLs)."""

    photo_id: str
    url: str
    thumbnail_url: str | None = None


@dataclass(frozen=True, slots=True)
class Fetched:
    """A fetched photo file: its size, and whether the CDN edge nearest the client answered
    it from its store (the last ``X-Cache`` value, Fastly's convention: ``MISS, HIT`` is a
    shield's miss that the edge now holds; False where no edge said anything)."""

    size: int
    from_edge: bool


@dataclass(frozen=True, slots=True)
class Page:
    """One page of a timeline: the photo ids on it, their files' URLs (for the photos
    that have them) and the cursor of the next one."""

    photo_ids: tuple[str, ...]
    next_cursor: str | None
    media: tuple[Media, ...] = ()


@cache
def sample_jpeg() -> bytes:
    """A small JPEG, made once per process and reused by every post."""
    buffer = io.BytesIO()
    Image.new("RGB", SAMPLE_JPEG_SIZE, (200, 120, 40)).save(buffer, format="JPEG", quality=80)
    return buffer.getvalue()


def _photo_id(value: Any) -> str | None:
    """A photo id from JSON (number or string) as a string, or None if it is neither."""
    if isinstance(value, bool) or not isinstance(value, int | str) or value == "":
        return None
    return str(value)


def _media(item: dict[str, Any], photo_id: str | None) -> Media | None:
    """A photo's file URLs from its JSON, or None without an id or a ``url`` string."""
    url, thumbnail = item.get("url"), item.get("thumbnail_url")
    if photo_id is None or not isinstance(url, str) or not url:
        return None
    return Media(photo_id, url, thumbnail if isinstance(thumbnail, str) and thumbnail else None)


def _cookie_header(answer: Response) -> str:
    return "; ".join(f"{name}={value}" for name, value in answer.set_cookies)


class PhotoApi:
    """The API's endpoints over one :class:`HttpTransport`."""

    def __init__(self, transport: HttpTransport) -> None:
        self.transport = transport

    async def signup(self, username: str, password: str) -> Reply[Identity]:
        answer = await self.transport.request(
            "POST", "/api/signup", json_body={"username": username, "password": password}
        )
        return self._identity(answer, username)

    async def login(self, username: str, password: str) -> Reply[Identity]:
        answer = await self.transport.request(
            "POST", "/api/login", json_body={"username": username, "password": password}
        )
        return self._identity(answer, username)

    async def timeline(self, who: Identity, cursor: str | None = None) -> Reply[Page]:
        params = {"limit": str(TIMELINE_LIMIT)}
        if cursor is not None:
            params["cursor"] = cursor
        answer = await self.transport.request(
            "GET", "/api/timeline", params=params, cookie=who.cookie
        )
        if answer.error is not None:
            return Reply(Outcome.failed(answer.error))
        body = answer.json()
        if not isinstance(body, dict) or not isinstance(body.get("items"), list):
            return Reply(_MALFORMED)
        items = [item for item in body["items"] if isinstance(item, dict)]
        ids = [_photo_id(item.get("id")) for item in items]
        media = [_media(item, photo_id) for item, photo_id in zip(items, ids, strict=True)]
        cursor = body.get("next_cursor")
        page = Page(
            photo_ids=tuple(i for i in ids if i is not None),
            next_cursor=cursor if isinstance(cursor, str) else None,
            media=tuple(m for m in media if m is not None),
        )
        return Reply(OK, page)

    async def photo(self, who: Identity, photo_id: str) -> Reply[None]:
        answer = await self.transport.request(
            "GET", f"/api/photos/{quote(photo_id, safe='')}", cookie=who.cookie
        )
        return Reply(Outcome(answer.error))

    async def image(self, url: str) -> Reply[Fetched]:
        """Fetch one photo file as a browser's ``<img>`` would, without the session
        cookie (media are public, and a cookie would keep no cache from them)."""
        answer = await self.transport.fetch(url)
        if answer.error is not None:
            return Reply(Outcome.failed(answer.error))
        label = (answer.x_cache or "").split(",")[-1].strip().upper()  # the nearest cache
        return Reply(OK, Fetched(len(answer.body), label in ("HIT", "STALE")))

    async def like(self, who: Identity, photo_id: str) -> Reply[None]:
        answer = await self.transport.request(
            "POST", f"/api/photos/{quote(photo_id, safe='')}/like", cookie=who.cookie
        )
        return Reply(Outcome(answer.error))

    async def post(self, who: Identity, image: bytes, caption: str) -> Reply[str]:
        """Upload ``image`` (JPEG bytes); the value is the new photo's id."""
        form = aiohttp.FormData()  # single use: aiohttp consumes it when sending
        form.add_field("file", image, filename="bench.jpg", content_type="image/jpeg")
        form.add_field("caption", caption)
        answer = await self.transport.request("POST", "/api/photos", data=form, cookie=who.cookie)
        if answer.error is not None:
            return Reply(Outcome.failed(answer.error))
        body = answer.json()
        photo_id = _photo_id(body.get("id")) if isinstance(body, dict) else None
        return Reply(_MALFORMED) if photo_id is None else Reply(OK, photo_id)

    @staticmethod
    def _identity(answer: Response, username: str) -> Reply[Identity]:
        if answer.error is not None:
            return Reply(Outcome.failed(answer.error))
        if not answer.set_cookies:
            return Reply(_MALFORMED)  # the contract sets a session cookie
        return Reply(OK, Identity(username=username, cookie=_cookie_header(answer)))
