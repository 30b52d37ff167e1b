"""Factories for the CDN rules' unit tests: what a test relies on is at its call site.

Times are wall-clock seconds (HTTP dates are wall-clock times): :data:`NOW` is a
whole second, so ``Date`` fields round-trip exactly.
"""

from __future__ import annotations

from millionscale.cdn.httpdate import format_http_date
from millionscale.cdn.message import Request, Response, Stored
from millionscale.cdn.rules import RulesSettings
from millionscale.cdn.storable import NotStored, to_store

NOW = 1_700_000_000.0
HOST = b"example.test"
BODY = b"hello, world"
DEFAULTS = RulesSettings()


def date(seconds: float) -> bytes:
    """``seconds`` as an HTTP date."""
    return format_http_date(seconds)


def request(
    *fields: tuple[bytes, bytes],
    method: str = "GET",
    target: bytes = b"/a",
    host: bytes | None = HOST,
) -> Request:
    """A request for ``target`` on ``host`` with ``fields`` after ``Host``."""
    head = ((b"host", host),) if host is not None else ()
    return Request(method=method, target=target, fields=head + tuple(fields))


def response(*fields: tuple[bytes, bytes], status: int = 200, at: float | None = NOW) -> Response:
    """A response with ``Date: at`` (none if ``at`` is None) and then ``fields``."""
    head = ((b"date", date(at)),) if at is not None else ()
    return Response(status=status, fields=head + tuple(fields))


def to_store_at(
    origin: Response,
    client: Request | None = None,
    *,
    body: bytes = BODY,
    at: float = NOW,
    delay: float = 0.0,
    settings: RulesSettings = DEFAULTS,
) -> Stored | NotStored:
    """:func:`to_store` for a request sent at ``at - delay`` and answered at ``at``."""
    return to_store(
        client or request(),
        origin,
        body,
        request_time=at - delay,
        response_time=at,
        now=at,
        settings=settings,
    )


def stored(
    origin: Response,
    client: Request | None = None,
    *,
    body: bytes = BODY,
    at: float = NOW,
    delay: float = 0.0,
    settings: RulesSettings = DEFAULTS,
) -> Stored:
    """The record :func:`to_store` makes; fails the test if it refuses."""
    made = to_store_at(origin, client, body=body, at=at, delay=delay, settings=settings)
    assert isinstance(made, Stored), made
    return made


def refused(
    origin: Response,
    client: Request | None = None,
    *,
    body: bytes = BODY,
    settings: RulesSettings = DEFAULTS,
) -> str:
    """Why :func:`to_store` refuses; fails the test if it stores."""
    made = to_store_at(origin, client, body=body, settings=settings)
    assert isinstance(made, NotStored), made
    return made.reason
