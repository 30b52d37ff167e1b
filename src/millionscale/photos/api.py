"""The photo app's JSON API: accounts, follows, photos, likes, profiles, timeline.

Every response is JSON with a documented status. Errors are
``{"detail": "..."}``: 401 when a session is needed or credentials are wrong
(the same answer for an unknown user and a wrong password), 403 for another
user's photo, 404 for what does not exist, 400 for a bad cursor, 413 for an
upload over the limit, 415 for a file that is not a decodable JPEG or PNG, 422
for a body or parameter that does not validate (the field is named), 429 with
``Retry-After`` for a login after too many failed ones (per account and per
client address: :mod:`millionscale.web.throttle`).

The session cookie is ``Secure`` when the request came over TLS (its scheme
is https: directly, or ``X-Forwarded-Proto: https`` from a trusted proxy) or
when ``SECURE_COOKIES`` says so.
"""

from __future__ import annotations

import base64
import binascii
from datetime import datetime
from typing import Annotated, Any

from argon2.exceptions import InvalidHashError, VerificationError
from fastapi import (
    APIRouter,
    Depends,
    File,
    Form,
    HTTPException,
    Path,
    Query,
    Request,
    Response,
    UploadFile,
)
from fastapi.concurrency import run_in_threadpool
from pydantic import BaseModel, Field

from millionscale.cdn.purge import Purge, Purger
from millionscale.photos.media import InvalidImage, MediaStore
from millionscale.photos.passwords import hasher
from millionscale.photos.repository import (
    Cursor,
    PhotoRecord,
    PhotoRepository,
    Profile,
    User,
    UsernameTaken,
)
from millionscale.web.sessions import SessionCookie, SessionStore
from millionscale.web.throttle import LoginThrottle, MemoryFailureCounter

__all__ = ["Services", "decode_cursor", "encode_cursor", "router"]

CAPTION_MAX = 2200  # Instagram's caption limit
USERNAME_PATTERN = r"^[a-z0-9_]{3,30}$"
PASSWORD_MIN, PASSWORD_MAX = 8, 256  # NIST SP 800-63B: at least 8, allow long passphrases
PAGE_DEFAULT, PAGE_MAX = 20, 100
ID_MAX = 2**63 - 1  # PostgreSQL bigint

NO_NUL = r"^[^\x00]*$"  # PostgreSQL text cannot hold NUL: refuse it at the door, as a 422

PhotoId = Annotated[int, Path(ge=1, le=ID_MAX)]
Username = Annotated[str, Path(min_length=1, max_length=64, pattern=NO_NUL)]


class Services:
    """What the handlers use; one per app, built at start."""

    def __init__(
        self,
        repo: PhotoRepository,
        sessions: SessionStore,
        cookie: SessionCookie,
        media: MediaStore,
        max_upload_bytes: int,
        throttle: LoginThrottle | None = None,
        media_base: str = "",
        purger: Purger | None = None,
        deferred_thumbnails: bool = False,
    ) -> None:
        self.repo = repo
        self.throttle = throttle or LoginThrottle(MemoryFailureCounter())
        self.sessions = sessions
        self.cookie = cookie
        self.media = media
        self.max_upload_bytes = max_upload_bytes
        self.media_base = media_base  # photo URLs under this (a CDN's URL), or relative
        self.purger = purger  # deleted photos are purged from the CDN's edges through it
        # Uploads store the original only; a worker makes the thumbnail (the queued mode).
        self.deferred_thumbnails = deferred_thumbnails
        self.hasher = hasher()
        # Verified when the username is unknown, so that both failures cost the same.
        self.dummy_hash = self.hasher.hash("not a real password")


def services(request: Request) -> Services:
    return request.app.state.services  # type: ignore[no-any-return]


ServicesDep = Annotated[Services, Depends(services)]


async def current_user(request: Request, svc: ServicesDep) -> User | None:
    session_id = svc.cookie.unsign(request.cookies.get(svc.cookie.name))
    if session_id is None:
        return None
    session = await svc.sessions.get(session_id)
    if session is None:
        return None
    return await svc.repo.user(session.user_id)


async def require_user(user: Annotated[User | None, Depends(current_user)]) -> User:
    if user is None:
        raise HTTPException(401, "log in first")
    return user


Viewer = Annotated[User | None, Depends(current_user)]
Me = Annotated[User, Depends(require_user)]


# -- payloads ------------------------------------------------------------------


class Credentials(BaseModel):
    username: str = Field(pattern=USERNAME_PATTERN, description="3-30 of a-z, 0-9, _")
    password: str = Field(min_length=PASSWORD_MIN, max_length=PASSWORD_MAX)


class LoginCredentials(BaseModel):
    username: str = Field(min_length=1, max_length=64, pattern=NO_NUL)
    password: str = Field(min_length=1, max_length=PASSWORD_MAX)


class UserOut(BaseModel):
    id: int
    username: str


class PhotoOut(BaseModel):
    id: int
    owner: UserOut
    caption: str
    created_at: datetime
    like_count: int
    liked_by_me: bool
    url: str
    thumbnail_url: str = Field(
        description="the 320 px thumbnail; the full image (url) until thumbnail_ready"
    )
    thumbnail_ready: bool = Field(
        description="false while a worker has not made the thumbnail yet (the queued mode)"
    )
    width: int
    height: int


class CaptionIn(BaseModel):
    caption: str = Field(max_length=CAPTION_MAX, pattern=NO_NUL)


class LikeOut(BaseModel):
    liked: bool
    like_count: int


class TimelineOut(BaseModel):
    items: list[PhotoOut]
    next_cursor: str | None


class ProfileOut(BaseModel):
    id: int
    username: str
    followers: int
    following: int
    photo_count: int
    followed_by_me: bool
    photos: list[PhotoOut]


class Detail(BaseModel):
    detail: str


def photo_url(photo: PhotoRecord, path: str, base: str = "") -> str:
    """Where a photo's file ``path`` is served: ``/media/<photo id>/<path>`` under ``base``.

    ``path`` holds the file's content hash (:mod:`millionscale.photos.media`), so
    the URL changes with the photo; the id lets the server say whose it is
    (surrogate keys) and answer 404 once the photo is deleted, even where its
    file is shared with another photo.
    """
    return f"{base}/media/{photo.id}/{path}"


def photo_out(photo: PhotoRecord, base: str = "") -> PhotoOut:
    return PhotoOut(
        id=photo.id,
        owner=UserOut(id=photo.owner.id, username=photo.owner.username),
        caption=photo.caption,
        created_at=photo.created_at,
        like_count=photo.like_count,
        liked_by_me=photo.liked_by_me,
        url=photo_url(photo, photo.media_path, base),
        thumbnail_url=photo_url(photo, photo.thumbnail_path or photo.media_path, base),
        thumbnail_ready=photo.thumbnail_path is not None,
        width=photo.width,
        height=photo.height,
    )


def profile_out(profile: Profile, base: str = "") -> ProfileOut:
    return ProfileOut(
        id=profile.user.id,
        username=profile.user.username,
        followers=profile.followers,
        following=profile.following,
        photo_count=profile.photo_count,
        followed_by_me=profile.followed_by_me,
        photos=[photo_out(photo, base) for photo in profile.photos],
    )


def encode_cursor(photo: PhotoRecord) -> str:
    raw = f"{photo.created_at.isoformat()}|{photo.id}".encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(text: str) -> Cursor:
    """Parse a cursor made by :func:`encode_cursor`; ValueError if it is not one."""
    try:
        raw = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4)).decode()
        stamp, _, photo_id = raw.partition("|")
        created_at = datetime.fromisoformat(stamp)
        if created_at.tzinfo is None:
            raise ValueError("naive timestamp")
        return Cursor(created_at, int(photo_id))
    except (binascii.Error, UnicodeDecodeError, ValueError):
        raise ValueError("not a cursor from this API") from None


# -- routes --------------------------------------------------------------------

router = APIRouter(prefix="/api")
Responses = dict[int | str, dict[str, Any]]
AUTH: Responses = {401: {"model": Detail, "description": "no valid session"}}
NOT_FOUND: Responses = {404: {"model": Detail, "description": "no such thing"}}


def _cookie_attributes(svc: Services, request: Request) -> dict[str, Any]:
    """The session cookie's attributes; ``Secure`` too if the request came over TLS."""
    attributes = svc.cookie.attributes()
    if request.url.scheme == "https":
        attributes["secure"] = True
    return attributes


async def _start_session(svc: Services, request: Request, response: Response, user: User) -> None:
    session_id = await svc.sessions.create(user.id)
    response.set_cookie(value=svc.cookie.sign(session_id), **_cookie_attributes(svc, request))


@router.post(
    "/signup",
    status_code=201,
    response_model=UserOut,
    responses={409: {"model": Detail, "description": "username taken"}},
)
async def signup(
    body: Credentials, request: Request, response: Response, svc: ServicesDep
) -> UserOut:
    """Create an account and log in."""
    password_hash = await run_in_threadpool(svc.hasher.hash, body.password)
    try:
        user = await svc.repo.create_user(body.username, password_hash)
    except UsernameTaken:
        raise HTTPException(409, "username taken") from None
    await _start_session(svc, request, response, user)
    return UserOut(id=user.id, username=user.username)


@router.post(
    "/login",
    response_model=UserOut,
    responses={**AUTH, 429: {"model": Detail, "description": "too many failed logins"}},
)
async def login(
    body: LoginCredentials, request: Request, response: Response, svc: ServicesDep
) -> UserOut:
    """Log in; the same 401 for an unknown user and a wrong password, 429 after too many."""
    address = request.client.host if request.client else ""
    attempt = await svc.throttle.attempt(body.username, address)
    if attempt.refused is not None:
        wait = attempt.refused.retry_after
        raise HTTPException(
            429,
            f"too many failed logins; try again in {wait} s",
            headers={"Retry-After": str(wait)},
        )
    found = await svc.repo.credentials(body.username)
    stored = found[1] if found else svc.dummy_hash
    try:
        await run_in_threadpool(svc.hasher.verify, stored, body.password)
        ok = found is not None
    except (VerificationError, InvalidHashError):
        ok = False
    if not ok or found is None:
        raise HTTPException(401, "invalid username or password")
    await svc.throttle.succeeded(attempt)
    await _start_session(svc, request, response, found[0])
    return UserOut(id=found[0].id, username=found[0].username)


@router.post("/logout", status_code=204, response_class=Response)
async def logout(request: Request, svc: ServicesDep) -> Response:
    """End this session (on every web server at once)."""
    session_id = svc.cookie.unsign(request.cookies.get(svc.cookie.name))
    if session_id is not None:
        await svc.sessions.delete(session_id)
    response = Response(status_code=204)
    attributes = _cookie_attributes(svc, request)
    response.delete_cookie(
        svc.cookie.name,
        path="/",
        secure=attributes["secure"],
        httponly=True,
        samesite=attributes["samesite"],
    )
    return response


@router.get("/me", response_model=UserOut, responses=AUTH)
async def me(user: Me) -> UserOut:
    """Who this session belongs to."""
    return UserOut(id=user.id, username=user.username)


@router.get("/timeline", response_model=TimelineOut, responses={**AUTH, 400: {"model": Detail}})
async def timeline(
    user: Me,
    svc: ServicesDep,
    limit: Annotated[int, Query(ge=1, le=PAGE_MAX)] = PAGE_DEFAULT,
    cursor: Annotated[str | None, Query(max_length=200, pattern=NO_NUL)] = None,
) -> TimelineOut:
    """Photos of the people you follow, and yours, newest first; page with ``next_cursor``."""
    try:
        before = decode_cursor(cursor) if cursor else None
    except ValueError:
        raise HTTPException(400, "invalid cursor: pass back a next_cursor you were given") from None
    photos = await svc.repo.timeline(user.id, before, limit)
    next_cursor = encode_cursor(photos[-1]) if len(photos) == limit else None
    return TimelineOut(
        items=[photo_out(p, svc.media_base) for p in photos], next_cursor=next_cursor
    )


@router.post(
    "/photos",
    status_code=201,
    response_model=PhotoOut,
    responses={
        **AUTH,
        413: {"model": Detail, "description": "file too large"},
        415: {"model": Detail, "description": "not a decodable JPEG or PNG"},
    },
)
async def upload(
    user: Me,
    svc: ServicesDep,
    file: Annotated[UploadFile, File(description="a JPEG or PNG image")],
    caption: Annotated[str, Form(max_length=CAPTION_MAX, pattern=NO_NUL)] = "",
) -> PhotoOut:
    """Post a photo. Nothing is kept unless all of it is: files, then the row.

    With a queue the answer comes before the thumbnail exists
    (``thumbnail_ready`` false, ``thumbnail_url`` the full image): a worker
    makes it, and the photo shows it from then on.
    """
    data = await file.read(svc.max_upload_bytes + 1)
    if len(data) > svc.max_upload_bytes:
        raise HTTPException(413, f"file larger than {svc.max_upload_bytes} bytes")
    store = svc.media.store_original if svc.deferred_thumbnails else svc.media.store
    try:
        stored = await run_in_threadpool(store, data)
    except InvalidImage as error:
        raise HTTPException(415, str(error)) from None
    try:
        photo = await svc.repo.add_photo(
            user.id, caption, stored.media_path, stored.thumbnail_path, stored.width, stored.height
        )
    except BaseException:
        svc.media.remove(stored.written)
        raise
    return photo_out(photo, svc.media_base)


@router.get("/photos/{photo_id}", response_model=PhotoOut, responses=NOT_FOUND)
async def get_photo(photo_id: PhotoId, viewer: Viewer, svc: ServicesDep) -> PhotoOut:
    """One photo."""
    photo = await svc.repo.photo(photo_id, viewer.id if viewer else None)
    if photo is None:
        raise HTTPException(404, "no such photo")
    return photo_out(photo, svc.media_base)


async def _owned(svc: Services, photo_id: PhotoId, user: User) -> PhotoRecord:
    photo = await svc.repo.photo(photo_id, user.id)
    if photo is None:
        raise HTTPException(404, "no such photo")
    if photo.owner.id != user.id:
        raise HTTPException(403, "not your photo")
    return photo


@router.patch(
    "/photos/{photo_id}",
    response_model=PhotoOut,
    responses={**AUTH, **NOT_FOUND, 403: {"model": Detail}},
)
async def edit_photo(photo_id: PhotoId, body: CaptionIn, user: Me, svc: ServicesDep) -> PhotoOut:
    """Change the caption of your photo."""
    await _owned(svc, photo_id, user)
    if not await svc.repo.update_caption(photo_id, user.id, body.caption):
        raise HTTPException(404, "no such photo")
    photo = await svc.repo.photo(photo_id, user.id)
    if photo is None:
        raise HTTPException(404, "no such photo")
    return photo_out(photo, svc.media_base)


@router.delete(
    "/photos/{photo_id}",
    status_code=204,
    response_class=Response,
    responses={**AUTH, **NOT_FOUND, 403: {"model": Detail}},
)
async def delete_photo(photo_id: PhotoId, user: Me, svc: ServicesDep) -> Response:
    """Delete your photo, and its files when no other photo shares them.

    Then its copies on the CDN's edges are purged (tag ``photo-<id>``), in the
    background: the answer does not wait for the edges, and an edge that cannot
    be reached never fails the delete (it keeps its copy until the copy expires).
    """
    await _owned(svc, photo_id, user)
    removed = await svc.repo.delete_photo(photo_id, user.id)
    if removed is None:
        raise HTTPException(404, "no such photo")
    svc.media.remove_relative(removed.paths)
    if svc.purger is not None:
        svc.purger.submit(Purge.tag(f"photo-{photo_id}"))
    return Response(status_code=204)


async def _like(svc: Services, photo_id: PhotoId, user: User, liked: bool) -> LikeOut:
    count = await svc.repo.like(photo_id, user.id, liked)
    if count is None:
        raise HTTPException(404, "no such photo")
    return LikeOut(liked=liked, like_count=count)


@router.post("/photos/{photo_id}/like", response_model=LikeOut, responses={**AUTH, **NOT_FOUND})
async def like(photo_id: PhotoId, user: Me, svc: ServicesDep) -> LikeOut:
    """Like a photo (idempotent)."""
    return await _like(svc, photo_id, user, True)


@router.delete("/photos/{photo_id}/like", response_model=LikeOut, responses={**AUTH, **NOT_FOUND})
async def unlike(photo_id: PhotoId, user: Me, svc: ServicesDep) -> LikeOut:
    """Take a like back (idempotent)."""
    return await _like(svc, photo_id, user, False)


@router.get("/users/{username}", response_model=ProfileOut, responses=NOT_FOUND)
async def profile(
    username: Username,
    viewer: Viewer,
    svc: ServicesDep,
    limit: Annotated[int, Query(ge=1, le=PAGE_MAX)] = PAGE_DEFAULT,
) -> ProfileOut:
    """A user's profile and newest photos."""
    found = await svc.repo.profile(username, viewer.id if viewer else None, limit)
    if found is None:
        raise HTTPException(404, "no such user")
    return profile_out(found, svc.media_base)


async def _follow(svc: Services, user: User, username: str, follow: bool) -> Response:
    if username == user.username:
        raise HTTPException(422, "you cannot follow yourself")
    done = await (svc.repo.follow if follow else svc.repo.unfollow)(user.id, username)
    if not done:
        raise HTTPException(404, "no such user")
    return Response(status_code=204)


FOLLOW_RESPONSES: Responses = {**AUTH, **NOT_FOUND, 422: {"model": Detail}}


@router.post(
    "/users/{username}/follow", status_code=204, response_class=Response, responses=FOLLOW_RESPONSES
)
async def follow(username: Username, user: Me, svc: ServicesDep) -> Response:
    """Follow a user (idempotent)."""
    return await _follow(svc, user, username, True)


@router.delete(
    "/users/{username}/follow", status_code=204, response_class=Response, responses=FOLLOW_RESPONSES
)
async def unfollow(username: Username, user: Me, svc: ServicesDep) -> Response:
    """Stop following a user (idempotent)."""
    return await _follow(svc, user, username, False)
