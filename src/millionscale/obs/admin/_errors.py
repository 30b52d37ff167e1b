"""One error shape for every admin API: ``{"detail": reason}`` with the status of its type.

An admin route raises an :class:`~millionscale.errors.AdminRequestError`
subclass; :data:`STATUS_OF` is the one table from type to status, looked up
along the class's MRO, so a subclass answers as its nearest listed base.
Starlette's own refusals (an unknown route, a method a route lacks) take the
same shape, so a client reads ``detail`` whatever refused it.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.types import ExceptionHandler

from millionscale.errors import (
    AdminRequestError,
    Conflict,
    Invalid,
    NotFound,
    PayloadTooLarge,
    Unauthorized,
)

__all__ = ["STATUS_OF", "error_response", "exception_handlers", "status_of"]

STATUS_OF: Mapping[type[AdminRequestError], int] = MappingProxyType(
    {
        Unauthorized: 401,  # RFC 9110 §15.5.2
        NotFound: 404,  # RFC 9110 §15.5.5
        Conflict: 409,  # RFC 9110 §15.5.10
        PayloadTooLarge: 413,  # RFC 9110 §15.5.14
        Invalid: 422,  # RFC 9110 §15.5.21
        AdminRequestError: 400,  # RFC 9110 §15.5.1: a refusal no subclass names
    }
)


def status_of(error: AdminRequestError) -> int:
    """The HTTP status ``error`` answers with (its nearest type in :data:`STATUS_OF`)."""
    for cls in type(error).__mro__:
        if cls in STATUS_OF:
            return STATUS_OF[cls]
    raise AssertionError("AdminRequestError is in the table")  # pragma: no cover


def error_response(status: int, reason: str) -> JSONResponse:
    """``{"detail": reason}`` with ``status``; a 401 says which scheme it wants (RFC 6750 §3)."""
    headers = {"WWW-Authenticate": "Bearer"} if status == 401 else None
    return JSONResponse({"detail": reason}, status_code=status, headers=headers)


async def _refused(_request: Request, error: Exception) -> Response:
    assert isinstance(error, AdminRequestError)
    return error_response(status_of(error), error.one_line())


async def _http_error(_request: Request, error: Exception) -> Response:
    assert isinstance(error, HTTPException)
    return error_response(error.status_code, str(error.detail))


def exception_handlers() -> dict[type[Exception], ExceptionHandler]:
    """Starlette ``exception_handlers`` answering both kinds of refusal in the one shape."""
    return {AdminRequestError: _refused, HTTPException: _http_error}
