"""The server-rendered pages: timeline, profile, upload, log in, sign up.

Plain HTML with one stylesheet and one script (served fingerprinted); the
forms post to the JSON API with ``fetch``, so the pages and the API share one
code path for every write. Without a session, pages that need one redirect to
``/login``. A page that is not there (an unknown user, an unknown path asked
for by a browser) is a 404 page with status 404; API clients get JSON.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates

from millionscale.errors import MillionscaleError
from millionscale.photos.api import (
    PAGE_DEFAULT,
    ServicesDep,
    Username,
    Viewer,
    current_user,
    photo_out,
    profile_out,
)
from millionscale.photos.repository import User

__all__ = ["not_found", "plural", "router", "wants_html"]


def plural(count: int, noun: str, nouns: str | None = None) -> str:
    """``1 photo``, ``0 photos``, ``2 followers``."""
    return f"{count} {noun if count == 1 else nouns or noun + 's'}"


templates = Jinja2Templates(directory=Path(__file__).parent / "templates")
templates.env.filters["plural"] = plural
router = APIRouter(include_in_schema=False)


def _render(
    request: Request, name: str, user: User | None, status_code: int = 200, **context: object
) -> Response:
    return templates.TemplateResponse(
        request,
        name,
        {"me": user, "asset": request.app.state.assets.urls, **context},
        status_code=status_code,
    )


def wants_html(request: Request) -> bool:
    """A browser's request for a page: not under ``/api/``, and ``text/html`` accepted."""
    if request.url.path.startswith("/api/"):
        return False
    return "text/html" in request.headers.get("accept", "")


async def not_found(request: Request, what: str, user: User | None = None) -> Response:
    """The 404 page; the viewer is looked up if not given (none if that fails)."""
    if user is None:
        try:
            user = await current_user(request, request.app.state.services)
        except MillionscaleError:
            user = None  # the session store is down: the page still says "not found"
    return _render(request, "missing.html", user, status_code=404, what=what)


@router.get("/", response_class=HTMLResponse)
async def home(request: Request, user: Viewer, svc: ServicesDep) -> Response:
    if user is None:
        return RedirectResponse("/login", status_code=303)
    photos = await svc.repo.timeline(user.id, None, PAGE_DEFAULT)
    photos_out = [photo_out(p, svc.media_base) for p in photos]
    return _render(request, "timeline.html", user, photos=photos_out)


@router.get("/login", response_class=HTMLResponse)
async def login_page(request: Request, user: Viewer) -> Response:
    return _render(request, "login.html", user, mode="login")


@router.get("/signup", response_class=HTMLResponse)
async def signup_page(request: Request, user: Viewer) -> Response:
    return _render(request, "login.html", user, mode="signup")


@router.get("/upload", response_class=HTMLResponse)
async def upload_page(
    request: Request, user: Annotated[User | None, Depends(current_user)]
) -> Response:
    if user is None:
        return RedirectResponse("/login", status_code=303)
    return _render(request, "upload.html", user)


@router.get("/u/{username}", response_class=HTMLResponse)
async def profile_page(
    request: Request, username: Username, user: Viewer, svc: ServicesDep
) -> Response:
    found = await svc.repo.profile(username, user.id if user else None, PAGE_DEFAULT)
    if found is None:
        return await not_found(request, f"user {username}", user)
    return _render(request, "profile.html", user, profile=profile_out(found, svc.media_base))
