"""The server-rendered pages: timeline, profile, upload, log in, sign up.

Plain HTML with one stylesheet and one script (served fingerprinted); the
forms post to the JSON API with ``fetch``, so the pages and the API share one
code path for every write. Without a session, pages that need one redirect to
``/login``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates

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

__all__ = ["router"]

templates = Jinja2Templates(directory=Path(__file__).parent / "templates")
router = APIRouter(include_in_schema=False)


def _render(request: Request, name: str, user: User | None, **context: object) -> Response:
    return templates.TemplateResponse(
        request, name, {"me": user, "asset": request.app.state.assets.urls, **context}
    )


@router.get("/", response_class=HTMLResponse)
async def home(request: Request, user: Viewer, svc: ServicesDep) -> Response:
    if user is None:
        return RedirectResponse("/login", status_code=303)
    photos = await svc.repo.timeline(user.id, None, PAGE_DEFAULT)
    return _render(request, "timeline.html", user, photos=[photo_out(p) for p in photos])


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
        return _render(request, "missing.html", user, what=f"user {username}")
    return _render(request, "profile.html", user, profile=profile_out(found))
