"""The HTTP transport of the load generator: one aiohttp session, one pool.

Every request of a run goes through one :class:`aiohttp.ClientSession` whose
connector keeps at most ``pool_limit`` connections, alive between requests
(HTTP/1.1 keep-alive, as wrk2 and real browsers do). Requests beyond the pool
wait for a free connection; that wait is part of their latency, as it would be
for users. Each request has a total timeout. Cookies are not kept by the
session: the scenarios carry one identity per simulated user and pass it per
request (see :mod:`millionscale.bench.api`).

The target is only ever the URL the user named (validated by
:func:`parse_target`); there is no default host.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from types import TracebackType
from typing import Any
from urllib.parse import urlsplit

import aiohttp

from millionscale.bench.outcome import ErrorKind
from millionscale.errors import ConfigError

__all__ = [
    "POOL_LIMIT",
    "REQUEST_TIMEOUT_S",
    "HttpTransport",
    "Response",
    "classify_exception",
    "classify_status",
    "parse_target",
    "validate_pool",
]

POOL_LIMIT = 256  # connections; well above what one Python process can drive at once
REQUEST_TIMEOUT_S = 10.0  # total per request, connection wait included
# How long an idle pooled connection is kept (aiohttp's default is 15 s); longer
# than any gap between requests of a run, so runs do not reconnect mid-way.
KEEPALIVE_S = 30.0


def parse_target(url: str) -> str:
    """The base URL to load, without a trailing slash; ConfigError unless http(s)://host[:port]."""
    try:
        parts = urlsplit(url.strip())
        port = parts.port  # raises ValueError for a bad port
    except ValueError as error:
        raise ConfigError(
            f"target {url!r} is not a valid URL: {error}",
            hint="pass e.g. --target http://127.0.0.1:8000",
        ) from None
    if parts.scheme not in ("http", "https"):
        raise ConfigError(
            f"target {url!r} must be an http:// or https:// URL",
            hint="pass e.g. --target http://127.0.0.1:8000",
        )
    if not parts.hostname:
        raise ConfigError(
            f"target {url!r} names no host",
            hint="pass e.g. --target http://127.0.0.1:8000",
        )
    if parts.query or parts.fragment or parts.username or parts.password:
        raise ConfigError(
            f"target {url!r} must be a base URL without credentials, query or fragment",
            hint="pass scheme, host, port and optionally a path prefix",
        )
    netloc = parts.hostname if ":" not in parts.hostname else f"[{parts.hostname}]"
    if port is not None:
        netloc = f"{netloc}:{port}"
    return f"{parts.scheme}://{netloc}{parts.path.rstrip('/')}"


def validate_pool(pool_limit: int, timeout_s: float) -> None:
    """Raise :class:`ConfigError` unless the pool has a connection and the timeout is positive."""
    if pool_limit < 1:
        raise ConfigError(
            f"the connection pool needs at least 1 connection, not {pool_limit}",
            hint="pass e.g. --connections 256",
        )
    if not (math.isfinite(timeout_s) and timeout_s > 0):
        raise ConfigError(
            f"the request timeout must be a positive number of seconds, not {timeout_s!r}",
            hint="pass e.g. --timeout 10",
        )


def classify_status(status: int) -> ErrorKind | None:
    """``None`` for 1xx-3xx, else the status class as an error kind."""
    if status >= 500:
        return "status_5xx"
    if status >= 400:
        return "status_4xx"
    return None


def classify_exception(error: BaseException) -> ErrorKind:
    """The error kind of an exception raised while making a request.

    Order matters: aiohttp's timeout errors are also connection errors.
    """
    if isinstance(error, TimeoutError):  # asyncio.TimeoutError is TimeoutError since 3.11
        return "timeout"
    if isinstance(error, aiohttp.ClientConnectionError | ConnectionError):
        return "connect"
    return "other"


@dataclass(frozen=True, slots=True)
class Response:
    """A complete answer: status, body bytes, and the cookies it set (name -> value)."""

    status: int
    body: bytes
    set_cookies: tuple[tuple[str, str], ...] = ()
    x_cache: str | None = None  # the CDN tiers' X-Cache values (HIT, MISS, ...), comma-joined

    @property
    def error(self) -> ErrorKind | None:
        return classify_status(self.status)

    def json(self) -> Any:
        """The body as JSON; ``None`` when it is not JSON."""
        try:
            return json.loads(self.body)
        except ValueError:
            return None


class HttpTransport:
    """Sends requests to one base URL over one pooled, keep-alive session.

    Use as ``async with HttpTransport(url) as transport``. :meth:`request`
    reads the whole body before returning (latency covers the full answer)
    and raises aiohttp's or asyncio's exceptions, which
    :func:`classify_exception` maps to error kinds.
    """

    def __init__(
        self,
        base_url: str,
        *,
        pool_limit: int = POOL_LIMIT,
        timeout_s: float = REQUEST_TIMEOUT_S,
    ) -> None:
        validate_pool(pool_limit, timeout_s)
        self.base_url = parse_target(base_url)
        self.pool_limit = pool_limit
        self.timeout_s = timeout_s
        self._session: aiohttp.ClientSession | None = None

    async def __aenter__(self) -> HttpTransport:
        connector = aiohttp.TCPConnector(
            limit=self.pool_limit, limit_per_host=0, keepalive_timeout=KEEPALIVE_S
        )
        self._session = aiohttp.ClientSession(
            connector=connector,
            timeout=aiohttp.ClientTimeout(total=self.timeout_s),
            cookie_jar=aiohttp.DummyCookieJar(),
            raise_for_status=False,
        )
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def request(
        self,
        method: str,
        path: str,
        *,
        params: dict[str, str] | None = None,
        json_body: Any = None,
        data: aiohttp.FormData | None = None,
        cookie: str | None = None,
    ) -> Response:
        """Send one request to ``base_url + path`` and read the whole answer."""
        if self._session is None:
            raise RuntimeError("use the transport inside 'async with'")
        headers = {"Cookie": cookie} if cookie else None
        async with self._session.request(
            method,
            self.base_url + path,
            params=params,
            json=json_body,
            data=data,
            headers=headers,
        ) as answer:
            body = await answer.read()
            # coded_value: the cookie exactly as the server sent it, quoting included.
            cookies = tuple((name, morsel.coded_value) for name, morsel in answer.cookies.items())
            return Response(status=answer.status, body=body, set_cookies=cookies)

    async def fetch(self, url: str) -> Response:
        """GET ``url`` without a cookie and read the whole answer: a path (``/media/...``)
        against the base URL, an absolute ``http(s)://`` URL (a CDN's) as it is."""
        if self._session is None:
            raise RuntimeError("use the transport inside 'async with'")
        absolute = url.startswith(("http://", "https://"))
        target = url if absolute else self.base_url + "/" + url.lstrip("/")
        async with self._session.get(target) as answer:
            body = await answer.read()
            # Every tier's X-Cache, in order (the shield's and the edge's): the last is the
            # cache nearest the client, as Fastly's "X-Cache: MISS, HIT" reads.
            labels = answer.headers.getall("X-Cache", [])
            cache = ", ".join(labels) if labels else None
            return Response(status=answer.status, body=body, x_cache=cache)
