"""The photo app: assembly, settings and the process entry point.

    DATABASE_URL=postgresql://... SECRET_KEY=... MEDIA_DIR=./media \\
        [REDIS_URL=redis://...] [CACHE_URL=redis://...] python -m millionscale.photos.app --port 8000

At start it applies pending schema migrations (idempotent, safe with several
processes starting at once), opens the data tier's router (a pool per
PostgreSQL node) and serves the JSON API
under ``/api``, the HTML pages, fingerprinted static assets under ``/static``,
uploaded media under ``/media`` (both cacheable for a year: their URLs change
when their content does), and ``/healthz``, ``/readyz``, ``/metrics``.

Sessions live in Redis when ``REDIS_URL`` is set (the stateless web tier:
several app processes share them), else in PostgreSQL. ``/readyz`` is 503
while the database or that Redis does not answer, naming which, and from
SIGTERM on (``draining``): the process serves on for ``DRAIN_SECONDS``, then
finishes the requests in flight (``SHUTDOWN_GRACE_SECONDS``) and exits 0
(see :mod:`millionscale.web.shutdown`).

Reads go through the cache tiers when ``CACHE_URL`` is set (a Redis for the
shared tier, L1 in the process for every key, or as ``CACHE_L1`` says: ``all``,
``hot`` or ``none``; :mod:`millionscale.photos.cached`
says what is cached and how fresh it is). The cache is not part of readiness:
with its Redis down, reads fall through to the database.

The database nodes are ``DATABASE_URL`` (the primary, or any node: the router
finds the primary) and the replicas of ``DATABASE_REPLICA_URLS=name=url,...``,
a fixed set. Or they come from discovery: with ``DATABASE_DISCOVERY=SOURCE``
(``file:PATH`` or ``unix:PATH``, as :func:`millionscale.discovery.connect`
takes; ``{discovery}`` in a topology) the router follows the PostgreSQL nodes
of tier ``DATABASE_TIER`` (``db`` by default) as they come and go
(:meth:`millionscale.db.Router.from_discovery`), and ``DATABASE_URL`` gives
only the user, password and database they share: its host and port are not
used. ``DATACENTER`` (``{datacenter}`` in a topology) names the process's data
center: reads go to the nodes there first, the primary next if it is there.

Behind a CDN (:mod:`millionscale.cdn`): with ``CDN_URL`` set (``https://cdn.example``,
``http://127.0.0.1:8300``) the pages and the API's ``url`` and
``thumbnail_url`` point the static assets and the photos at it (the
Content-Security-Policy allows it); unset, they are relative, as without one.
What an edge may keep is said per response: static assets
(``/static/app.<sha256 prefix>.css``) and photos
(``/media/<photo id>/<content hash>.jpg``) are ``public`` for a year and
``immutable``, their URLs changing with their content, and carry surrogate
keys (``Surrogate-Key: static``; ``photo-<id> user-<owner id> photos``);
everything else is ``private, no-store`` (:mod:`millionscale.web.caching`).
With ``CDN_DISCOVERY=SOURCE`` (as ``DATABASE_DISCOVERY`` takes) and the edges'
admin token in ``CDN_ADMIN_TOKEN`` (else the file ``MILLIONSCALE_DISCOVERY_TOKEN_FILE``
names), deleting a photo purges its tag ``photo-<id>`` from every edge, in the
background (:class:`millionscale.cdn.purge.Purger`). A purge that fails is
logged and never fails the delete: an edge not reached keeps the photo's files
until their lifetime runs out, and no page links them any more (the photo is
gone from every listing, and a new photo gets new URLs).

With a queue (:mod:`millionscale.photos.queued`): ``QUEUE_URL``
(``nats://TOKEN@HOST:PORT``, the broker's, as the workers take it) switches
the queued mode on. An upload stores the original and answers before its
thumbnail exists; a post's thumbnail and its fan-out to followers' timelines
are jobs enqueued in the post's transaction (the outbox), which this process
relays to the queue ``QUEUE_NAME`` (``jobs``) in the background; workers run
them (``python -m millionscale.queue --tasks millionscale.photos.jobs:tasks``).
The timeline reads precomputed entries merged with celebrities' posts. The
broker is not part of readiness: while it is down, posts commit and their
jobs wait in the outbox. Unset, the app works as without a queue: thumbnails
in the request, the timeline by fan-out on read.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import hashlib
import ipaddress
import math
import os
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from http.cookies import CookieError, SimpleCookie
from pathlib import Path
from typing import Any, TypeVar, cast
from urllib.parse import urlsplit

import psycopg
import structlog
from fastapi import FastAPI
from fastapi.concurrency import run_in_threadpool
from fastapi.exception_handlers import http_exception_handler
from psycopg_pool import PoolTimeout
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send
from uvicorn.middleware.proxy_headers import ProxyHeadersMiddleware

from millionscale.cache import CacheSettings, L1Admission, TieredCache
from millionscale.cache.l2 import redis_address
from millionscale.cdn.purge import Purger
from millionscale.db import Router, Session, Strong
from millionscale.discovery import TOKEN_FILE_ENV, Discovery, HttpDiscovery, connect
from millionscale.errors import (
    ConfigError,
    DatabaseError,
    DiscoveryError,
    MillionscaleError,
    SessionStoreUnavailable,
)
from millionscale.obs import MetricsMiddleware, configure_logging, health_routes
from millionscale.obs.admin import load_token
from millionscale.photos import pages
from millionscale.photos.api import ID_MAX, Services, router
from millionscale.photos.cached import CACHE_NAME, CachedPhotoRepository
from millionscale.photos.media import MediaStore
from millionscale.photos.queued import QueuedPhotoRepository, relay_outbox
from millionscale.photos.repository import DB_SESSION, PostgresPhotoRepository
from millionscale.photos.schema import migrate
from millionscale.queue.job import TASK_NAME
from millionscale.web.caching import PrivateByDefault
from millionscale.web.security import SecurityHeaders, content_security_policy
from millionscale.web.sessions import (
    PostgresSessionStore,
    RedisSessionStore,
    SessionCookie,
    SessionStore,
)
from millionscale.web.shutdown import GRACE_S, CloseWhileDraining, GracefulShutdown, serve
from millionscale.web.throttle import (
    ACCOUNT_FAILURES,
    ADDRESS_FAILURES,
    WINDOW_S,
    FailureCounter,
    LoginThrottle,
    PostgresFailureCounter,
    RedisFailureCounter,
    SlidingWindow,
)

__all__ = ["BodyLimit", "Settings", "StaticAssets", "create_app", "main"]

log = structlog.get_logger()

MAX_UPLOAD_BYTES = 10 * 1024 * 1024  # 10 MiB: a 12 MP phone JPEG is 3-5 MB
IMMUTABLE = "public, max-age=31536000, immutable"  # one year: URLs carry a content hash
DB_COOKIE = "ms_lsn"
STATIC_TAG = "static"  # the surrogate key of every static asset
RELAY_STOP_S = 6.0  # a relay's step (publish_timeout_s 5 s) or a broker connect (5 s), and slack
PHOTOS_TAG = "photos"  # ... of every photo's files, beside photo-<id> and user-<owner id>
STATIC_DIR = Path(__file__).parent / "static"
# Whose X-Forwarded-For and X-Forwarded-Proto are believed: loopback and the private
# ranges, where a balancer in front of the web tier sits (Rails' ActionDispatch::RemoteIp
# default). Anyone else's are ignored: the client is the socket's peer.
TRUSTED_PROXIES = (
    "127.0.0.0/8",
    "::1/128",
    "10.0.0.0/8",
    "172.16.0.0/12",
    "192.168.0.0/16",
    "fc00::/7",
)


@dataclass(frozen=True, slots=True)
class Settings:
    database_url: str
    secret_key: str
    media_dir: Path
    replica_urls: dict[str, str] = field(default_factory=dict)  # name -> DSN of a replica
    # The nodes from this discovery source instead (database_url: credentials, database).
    database_discovery: str | None = None
    database_tier: str = "db"  # the nodes' tier in that source
    datacenter: str | None = None  # this process's: reads go to its data center's nodes first
    max_upload_bytes: int = MAX_UPLOAD_BYTES
    secure_cookies: bool = False
    pool_min: int = 2
    pool_max: int = 10
    redis_url: str | None = None  # sessions in this Redis when set, else in PostgreSQL
    cache_url: str | None = None  # reads cached in this Redis (and in-process) when set
    # Which keys get a copy in this process (L1): "all", "hot" (heavy hitters) or "none".
    cache_l1: str = "all"
    # SIGTERM: fail readiness this long while serving, then stop. 0 unless a balancer
    # fronts the app (its topology sets DRAIN_SECONDS, e.g. web.shutdown.DRAIN_S).
    drain_s: float = 0.0
    grace_s: int = GRACE_S  # then give requests in flight this long to finish
    trusted_proxies: tuple[str, ...] = TRUSTED_PROXIES  # addresses and networks
    login_account_failures: int = ACCOUNT_FAILURES  # failed logins per account per window
    login_address_failures: int = ADDRESS_FAILURES  # ... per client address per window
    login_window_s: float = WINDOW_S
    # Asset and photo URLs point here when set (an origin, maybe with a path: no "/" at the end).
    cdn_url: str | None = None
    # Deleting a photo purges it from the edges of tier cdn in this discovery source.
    cdn_discovery: str | None = None
    cdn_admin_token: str | None = field(default=None, repr=False)  # the edges' admin token
    # The queued mode when set: the broker's nats:// URL (with its token), and the queue.
    queue_url: str | None = field(default=None, repr=False)
    queue_name: str = "jobs"  # the workers' --queue

    @property
    def cdn_origin(self) -> str | None:
        """The scheme, host and port of ``cdn_url`` (what CSP allows)."""
        if self.cdn_url is None:
            return None
        parts = urlsplit(self.cdn_url)
        return f"{parts.scheme}://{parts.netloc}"

    @classmethod
    def from_env(cls, env: dict[str, str] | None = None) -> Settings:
        env = dict(os.environ if env is None else env)
        missing = [key for key in ("DATABASE_URL", "SECRET_KEY") if not env.get(key)]
        if missing:
            raise ConfigError(
                f"{' and '.join(missing)} not set",
                hint="set them in the environment (the topology's env table does this)",
            )
        try:
            return cls(
                database_url=env["DATABASE_URL"],
                secret_key=env["SECRET_KEY"],
                media_dir=Path(env.get("MEDIA_DIR", "media")),
                replica_urls=_replicas(env.get("DATABASE_REPLICA_URLS", "")),
                database_discovery=_discovery(env),
                database_tier=env.get("DATABASE_TIER", "").strip() or "db",
                datacenter=env.get("DATACENTER", "").strip() or None,
                max_upload_bytes=int(env.get("MAX_UPLOAD_BYTES", MAX_UPLOAD_BYTES)),
                secure_cookies=env.get("SECURE_COOKIES", "") in ("1", "true", "yes"),
                pool_min=int(env.get("DB_POOL_MIN", 2)),
                pool_max=int(env.get("DB_POOL_MAX", 10)),
                redis_url=_redis_url(env.get("REDIS_URL", "")),
                cache_url=_redis_url(env.get("CACHE_URL", ""), "CACHE_URL"),
                cache_l1=_choice("CACHE_L1", env.get("CACHE_L1", "all"), ("all", "hot", "none")),
                drain_s=_seconds("DRAIN_SECONDS", env.get("DRAIN_SECONDS", ""), 0.0),
                grace_s=_whole_seconds(
                    "SHUTDOWN_GRACE_SECONDS", env.get("SHUTDOWN_GRACE_SECONDS", "")
                ),
                trusted_proxies=_networks("TRUSTED_PROXIES", env.get("TRUSTED_PROXIES")),
                login_account_failures=_count(
                    "LOGIN_ACCOUNT_FAILURES", env.get("LOGIN_ACCOUNT_FAILURES"), ACCOUNT_FAILURES
                ),
                login_address_failures=_count(
                    "LOGIN_ADDRESS_FAILURES", env.get("LOGIN_ADDRESS_FAILURES"), ADDRESS_FAILURES
                ),
                login_window_s=_seconds(
                    "LOGIN_WINDOW_SECONDS", env.get("LOGIN_WINDOW_SECONDS", ""), WINDOW_S
                ),
                cdn_url=_cdn_url(env.get("CDN_URL", "")),
                cdn_discovery=env.get("CDN_DISCOVERY", "").strip() or None,
                cdn_admin_token=_cdn_token(env),
                queue_url=_queue_url(env.get("QUEUE_URL", "")),
                queue_name=_queue_name(env.get("QUEUE_NAME", "")),
            )
        except ValueError as error:
            raise ConfigError(f"bad value in the environment: {error}", hint="fix it") from None


def _redis_url(text: str, name: str = "REDIS_URL") -> str | None:
    """``REDIS_URL`` (or ``name``): None when empty; a URL of a scheme redis-py speaks."""
    text = text.strip()
    if not text:
        return None
    scheme, sep, _ = text.partition("://")
    if scheme not in ("redis", "rediss", "unix"):
        found = f"not {scheme + sep!r}" if sep else "and has no scheme"  # never echo a password
        raise ValueError(f"{name} must start with redis://, rediss:// or unix://, {found}")
    return text


def _queue_url(text: str) -> str | None:
    """``QUEUE_URL``: None when empty; a nats:// or tls:// URL (never echoed: it holds a token)."""
    text = text.strip()
    if not text:
        return None
    scheme, sep, _ = text.partition("://")
    if scheme not in ("nats", "tls") or not sep:
        raise ValueError("QUEUE_URL must start with nats:// or tls://")
    return text


def _queue_name(text: str) -> str:
    """``QUEUE_NAME``: ``jobs`` unless said; what the queue's subjects accept."""
    name = text.strip() or "jobs"
    if not TASK_NAME.fullmatch(name):
        raise ValueError(f"QUEUE_NAME must be lowercase letters, digits or '_', not {name!r}")
    return name


def _cdn_url(text: str) -> str | None:
    """``CDN_URL``: None when empty; else http(s)://host[:port][/path], no trailing "/"."""
    text = text.strip().rstrip("/")
    if not text:
        return None
    parts = urlsplit(text)
    if parts.scheme not in ("http", "https") or not parts.netloc or parts.query or parts.fragment:
        raise ValueError(f"CDN_URL must be http://HOST[:PORT] or https://..., not {text!r}")
    return text


def _cdn_token(env: dict[str, str]) -> str | None:
    """The edges' admin token when ``CDN_DISCOVERY`` is set: ``CDN_ADMIN_TOKEN``, else the
    token file the supervisor names (ConfigError from :func:`load_token` if neither)."""
    if not env.get("CDN_DISCOVERY", "").strip():
        return None
    path = env.get(TOKEN_FILE_ENV, "").strip()
    if not env.get("CDN_ADMIN_TOKEN", "").strip() and not path:
        raise ConfigError(
            "CDN_DISCOVERY is set and CDN_ADMIN_TOKEN is not",
            hint="set CDN_ADMIN_TOKEN to the edges' admin token (the topology's admin token)",
        )
    return load_token("CDN_ADMIN_TOKEN", Path(path) if path else None, environ=env)


def _choice(name: str, text: str, choices: tuple[str, ...]) -> str:
    if text.strip() not in choices:
        raise ValueError(f"{name} must be one of {', '.join(choices)}, not {text!r}")
    return text.strip()


def _whole_seconds(name: str, text: str) -> int:
    """Whole seconds, 0 or more (uvicorn's graceful shutdown timeout is an int)."""
    if not text.strip():
        return GRACE_S
    try:
        value = int(text)
    except ValueError:
        raise ValueError(f"{name} must be whole seconds, not {text!r}") from None
    if value < 0:
        raise ValueError(f"{name} must be 0 or more whole seconds, not {text!r}")
    return value


def _seconds(name: str, text: str, default: float) -> float:
    """A duration in seconds from the environment: 0 or more, finite."""
    if not text.strip():
        return default
    try:
        value = float(text)
    except ValueError:
        raise ValueError(f"{name} must be a number of seconds, not {text!r}") from None
    if not math.isfinite(value) or value < 0:
        raise ValueError(f"{name} must be 0 or more seconds, not {text!r}")
    if value == 0 and name == "LOGIN_WINDOW_SECONDS":
        raise ValueError(f"{name} must be more than 0 seconds, not {text!r}")
    return value


def _networks(name: str, text: str | None) -> tuple[str, ...]:
    """Comma-separated addresses or networks (``10.0.0.0/8``); unset means the default."""
    if text is None:
        return TRUSTED_PROXIES
    networks = tuple(part.strip() for part in text.split(",") if part.strip())
    for network in networks:
        try:
            ipaddress.ip_network(network, strict=False)
        except ValueError:
            raise ValueError(f"{name}: {network!r} is not an address or a network") from None
    return networks


def _count(name: str, text: str | None, default: int) -> int:
    if text is None or not text.strip():
        return default
    if not text.strip().isdigit() or int(text) < 1:
        raise ValueError(f"{name} must be a whole number of 1 or more, not {text!r}")
    return int(text)


def _discovery(env: dict[str, str]) -> str | None:
    """``DATABASE_DISCOVERY``: None when empty; never beside a fixed replica list."""
    source = env.get("DATABASE_DISCOVERY", "").strip()
    if not source:
        return None
    if env.get("DATABASE_REPLICA_URLS", "").strip():
        raise ValueError(
            "DATABASE_DISCOVERY and DATABASE_REPLICA_URLS both name the replicas; give one"
        )
    return source


def _replicas(text: str) -> dict[str, str]:
    """``name=url,name=url`` (what the topology renders) as a mapping."""
    replicas: dict[str, str] = {}
    for item in filter(None, (part.strip() for part in text.split(","))):
        name, sep, url = item.partition("=")
        if not sep or not name or not url:
            raise ValueError(f"DATABASE_REPLICA_URLS: {item!r} is not name=postgresql://...")
        replicas[name] = url
    return replicas


class DbSessionCookie:
    """ASGI middleware: each request's database session (read-your-writes) from a cookie.

    The cookie ``ms_lsn`` holds the WAL position of the user's last write; the
    repository routes that user's reads only to replicas that have replayed
    it. It is not a secret and needs no signature: a forged value can only
    slow down the forger's own reads (to a bounded wait, then the primary).
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        cookie = SimpleCookie()
        for name, value in scope["headers"]:
            if name == b"cookie":
                with contextlib.suppress(CookieError):
                    cookie.load(value.decode("latin-1"))
        morsel = cookie.get(DB_COOKIE)
        try:
            session = Session.from_token(morsel.value if morsel else "")
        except MillionscaleError:
            session = Session()
        before = session.token()
        token = DB_SESSION.set(session)

        async def send_with_cookie(message: Message) -> None:
            if message["type"] == "http.response.start" and session.token() != before:
                value = f"{DB_COOKIE}={session.token()}; Path=/; HttpOnly; SameSite=Lax"
                if scope.get("scheme") == "https":
                    value += "; Secure"
                message = {
                    **message,
                    "headers": [*message.get("headers", []), (b"set-cookie", value.encode())],
                }
            await send(message)

        try:
            await self.app(scope, receive, send_with_cookie)
        finally:
            DB_SESSION.reset(token)


class BodyLimit:
    """ASGI middleware: refuse request bodies over ``limit`` bytes with 413.

    Checked on ``Content-Length`` before anything is read, and again while
    the body streams in (chunked uploads), so that an oversized upload is cut
    off without being spooled to disk.
    """

    def __init__(self, app: ASGIApp, *, limit: int) -> None:
        self.app = app
        self.limit = limit

    async def _refuse(self, send: Send) -> None:
        body = b'{"detail":"request body too large"}'
        await send(
            {
                "type": "http.response.start",
                "status": 413,
                "headers": [(b"content-type", b"application/json"), (b"connection", b"close")],
            }
        )
        await send({"type": "http.response.body", "body": body})

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        length = dict(scope["headers"]).get(b"content-length")
        if length is not None and length.isdigit() and int(length) > self.limit:
            await self._refuse(send)
            return
        seen = 0
        started = False

        class TooLarge(Exception):
            pass

        async def counted() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.limit:
                    raise TooLarge
            return message

        async def tracked(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, counted, tracked)
        except TooLarge:
            if not started:
                await self._refuse(send)


class StaticAssets:
    """The app's own CSS and JS under fingerprinted URLs (``app.3f2a9c1b2d.css``).

    The fingerprint is the first :data:`FINGERPRINT` hex digits of the file's
    SHA-256, computed once at start: a changed file gets a new URL, so every
    copy of the old one (in browsers, on CDN edges) may be kept for a year and
    never needs a purge. :attr:`urls` maps a file's own name to its URL, under
    ``base`` (the CDN's URL, or "" for URLs relative to the app).
    """

    FINGERPRINT = 10  # hex digits: 40 bits, no collision among a site's few assets

    def __init__(self, directory: Path, base: str = "") -> None:
        self.files: dict[str, Path] = {}  # fingerprinted name -> file
        self.urls: dict[str, str] = {}  # logical name -> URL
        for path in sorted(directory.iterdir()):
            if path.is_file():
                digest = hashlib.sha256(path.read_bytes()).hexdigest()[: self.FINGERPRINT]
                name = f"{path.stem}.{digest}{path.suffix}"
                self.files[name] = path
                self.urls[path.name] = f"{base}/static/{name}"

    async def serve(self, request: Request) -> Response:
        path = self.files.get(request.path_params["name"])
        if path is None:
            raise HTTPException(404, "no such file")
        return FileResponse(path, headers={"Cache-Control": IMMUTABLE, "Surrogate-Key": STATIC_TAG})


T = TypeVar("T")


class PrimaryStatements:
    """Session-store statements through the router: on the primary, across a failover."""

    def __init__(self, router: Router) -> None:
        self.router = router

    async def write(self, work: Callable[[Any], Awaitable[T]]) -> T:
        return await self.router.run_write(work)

    async def read(self, work: Callable[[Any], Awaitable[T]]) -> T:
        return await self.router.run_read(work, consistency=Strong())


def create_app(settings: Settings, shutdown: GracefulShutdown | None = None) -> FastAPI:
    """The photo app, ready to serve once its lifespan has started.

    ``shutdown`` is the process's drain state (:func:`main` passes the one its
    server drives); without it the app never drains.
    """
    shutdown = shutdown or GracefulShutdown(settings.drain_s)
    # DiscoveryError for a source that cannot be opened (an unknown scheme, no token).
    discovery = connect(settings.database_discovery) if settings.database_discovery else None
    cdn_discovery: Discovery | None = None
    if settings.cdn_discovery is not None:
        cdn_discovery = (
            discovery
            if settings.cdn_discovery == settings.database_discovery
            else connect(settings.cdn_discovery)
        )
    purger = (
        Purger(cdn_discovery, settings.cdn_admin_token or "") if cdn_discovery is not None else None
    )
    db_router = (
        Router(
            settings.database_url,
            settings.replica_urls,
            pool_min=settings.pool_min,
            pool_max=settings.pool_max,
        )
        if discovery is None
        else Router.from_discovery(  # the nodes as they come and go
            discovery,
            settings.database_url,
            tier=settings.database_tier,
            pool_min=settings.pool_min,
            pool_max=settings.pool_max,
            datacenter=settings.datacenter,
        )
    )
    media = MediaStore(settings.media_dir)
    redis_sessions = RedisSessionStore(settings.redis_url) if settings.redis_url else None
    sessions: SessionStore = (
        redis_sessions
        if redis_sessions is not None
        else PostgresSessionStore(PrimaryStatements(db_router))  # across failovers
    )
    truth = (
        PostgresPhotoRepository(db_router)
        if settings.queue_url is None
        else QueuedPhotoRepository(db_router)
    )
    cache = (
        TieredCache(
            settings.cache_url,
            name=CACHE_NAME,
            settings=CacheSettings(l1_admission=cast(L1Admission, settings.cache_l1)),
        )
        if settings.cache_url
        else None
    )
    # Failed logins are counted where the sessions are: every web server sees them.
    failures: FailureCounter = (
        RedisFailureCounter(redis_sessions.client, redis_sessions.address)
        if redis_sessions is not None
        else PostgresFailureCounter(PrimaryStatements(db_router))
    )
    throttle = LoginThrottle(
        failures,
        per_account=SlidingWindow(settings.login_account_failures, settings.login_window_s),
        per_address=SlidingWindow(settings.login_address_failures, settings.login_window_s),
    )
    services = Services(
        repo=truth if cache is None else CachedPhotoRepository(truth, cache),
        sessions=sessions,
        cookie=SessionCookie(settings.secret_key, secure=settings.secure_cookies),
        media=media,
        max_upload_bytes=settings.max_upload_bytes,
        throttle=throttle,
        media_base=settings.cdn_url or "",
        purger=purger,
        deferred_thumbnails=settings.queue_url is not None,
    )
    assets = StaticAssets(STATIC_DIR, settings.cdn_url or "")

    @asynccontextmanager
    async def relaying(conninfo: Callable[[], str]) -> AsyncIterator[None]:
        """The outbox relay in the background while the app serves (with a queue)."""
        if settings.queue_url is None:
            yield
            return
        stop = asyncio.Event()
        relay = asyncio.create_task(
            relay_outbox(conninfo, settings.queue_url, settings.queue_name, stop)
        )
        log.info("posts' jobs relayed to the queue", queue=settings.queue_name)
        try:
            yield
        finally:
            stop.set()
            try:
                await asyncio.wait_for(relay, RELAY_STOP_S)
            except TimeoutError:
                log.warning(f"the outbox relay did not stop within {RELAY_STOP_S:g} s")

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        try:
            await db_router.open()  # finds the primary, wherever a failover has put it
            try:
                applied = await run_in_threadpool(migrate, db_router.primary_dsn)
                log.info("schema ready", migrations_applied=applied, primary=db_router.primary)
                if redis_sessions is not None:
                    log.info("sessions in redis", at=redis_sessions.address)
                # The relay asks the router for the primary at each connection: it
                # follows a failover, as the requests do.
                async with relaying(lambda: db_router.primary_dsn):
                    if cache is None:
                        yield
                    else:
                        async with cache:  # not part of readiness: a cache outage falls through
                            where = redis_address(settings.cache_url or "")
                            log.info("reads cached", l1=settings.cache_l1, l2=where)
                            yield
            finally:
                if purger is not None:
                    await purger.aclose()  # purges issued by the last deletes still go out
                await db_router.close()
        finally:
            for source in {id(d): d for d in (discovery, cdn_discovery) if d}.values():
                if isinstance(source, HttpDiscovery):
                    await source.aclose()
            if redis_sessions is not None:
                await redis_sessions.close()

    async def database_ready() -> str | None:
        try:
            async with db_router.primary_pool.connection(timeout=2) as conn:
                await conn.execute("SELECT 1")
        except (psycopg.Error, TimeoutError) as error:
            return f"database unreachable: {type(error).__name__}"
        return None

    async def session_store_ready() -> str | None:
        if redis_sessions is None:
            return None  # sessions live in the database, checked above
        try:
            await redis_sessions.ping()
        except SessionStoreUnavailable as error:
            return error.message
        return None

    async def ready() -> str | None:
        reasons = await asyncio.gather(database_ready(), session_store_ready())
        return "; ".join(reason for reason in reasons if reason) or None

    async def serve_media(request: Request) -> Response:
        """A photo's file or thumbnail at ``/media/<photo id>/<path>``, while the photo exists.

        The photo is read from the primary: after a delete and its purge, an
        edge's refetch must not find a replica that has not replayed the delete
        yet (and keep the photo for a year). Its id and owner become the
        response's surrogate keys, so that a purge of ``photo-<id>`` (or
        ``user-<owner id>``) reaches every copy.
        """
        photo_id, relative = request.path_params["photo_id"], request.path_params["path"]
        if not (photo_id.isascii() and photo_id.isdigit()) or not 0 < int(photo_id) <= ID_MAX:
            raise HTTPException(404, "no such file")
        photo = await truth.photo(int(photo_id), None, strong=True)
        if photo is None or relative not in (photo.media_path, photo.thumbnail_path):
            raise HTTPException(404, "no such file")
        path = (settings.media_dir / relative).resolve()
        root = settings.media_dir.resolve()
        if root not in path.parents or not path.is_file():
            raise HTTPException(404, "no such file")
        tags = f"photo-{photo.id} user-{photo.owner.id} {PHOTOS_TAG}"
        return FileResponse(path, headers={"Cache-Control": IMMUTABLE, "Surrogate-Key": tags})

    app = FastAPI(
        title="millionscale photos",
        version="1",
        summary="The reference photo-sharing app that every tier of millionscale scales.",
        lifespan=lifespan,
        # The spec stays at /openapi.json; no Swagger UI or ReDoc, which FastAPI loads
        # from a public CDN (blank offline, and scripts from elsewhere under our origin).
        docs_url=None,
        redoc_url=None,
        middleware=[
            # The client's address and scheme from a trusted balancer, for everything below.
            Middleware(ProxyHeadersMiddleware, trusted_hosts=list(settings.trusted_proxies)),
            Middleware(
                SecurityHeaders,
                policy=content_security_policy(
                    *([settings.cdn_origin] if settings.cdn_origin else [])
                ),
            ),
            Middleware(PrivateByDefault),  # shared caches keep only what says it is public
            Middleware(MetricsMiddleware),
            Middleware(CloseWhileDraining, shutdown=shutdown),
            Middleware(DbSessionCookie),
            Middleware(BodyLimit, limit=settings.max_upload_bytes + 64 * 1024),
        ],
    )
    app.state.services = services
    app.state.assets = assets

    async def database_unavailable(_request: Request, error: Exception) -> Response:
        # A failover in progress, or no primary: tell clients to retry, not that we broke.
        log.warning("database unavailable", error=type(error).__name__)
        return JSONResponse(
            {"detail": "the database is unavailable; try again shortly"},
            status_code=503,
            headers={"Retry-After": "1"},
        )

    async def session_store_unavailable(_request: Request, error: Exception) -> Response:
        # Redis down or restarting: the session is not known to be gone, so not 401.
        reason = error.one_line() if isinstance(error, MillionscaleError) else type(error).__name__
        log.warning("session store unavailable", error=reason)
        return JSONResponse(
            {"detail": "the session store is unavailable; try again shortly"},
            status_code=503,
            headers={"Retry-After": "1"},
        )

    async def http_error(request: Request, error: Exception) -> Response:
        # A browser asking for a page that is not there gets a page; API clients, JSON.
        assert isinstance(error, HTTPException)
        if error.status_code == 404 and pages.wants_html(request):
            return await pages.not_found(request, f"page {request.url.path}")
        return await http_exception_handler(request, error)

    app.add_exception_handler(HTTPException, http_error)
    for kind in (psycopg.OperationalError, PoolTimeout, DatabaseError):
        app.add_exception_handler(kind, database_unavailable)
    app.add_exception_handler(SessionStoreUnavailable, session_store_unavailable)
    app.include_router(router)
    app.include_router(pages.router)
    for route in health_routes(shutdown.ready(ready)):
        app.router.routes.append(route)
    app.router.routes.append(Route("/static/{name}", assets.serve, methods=["GET", "HEAD"]))
    app.router.routes.append(
        Route("/media/{photo_id}/{path:path}", serve_media, methods=["GET", "HEAD"])
    )
    return app


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="millionscale-photos", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--name", default="photos", help="process name for the logs")
    args = parser.parse_args(argv)
    configure_logging(args.name)
    try:
        settings = Settings.from_env()
        shutdown = GracefulShutdown(settings.drain_s)
        app = create_app(settings, shutdown)
    except (ConfigError, DiscoveryError) as error:
        log.error("cannot start", error=error.one_line())
        raise SystemExit(2) from None
    serve(
        app,
        shutdown,
        grace_s=settings.grace_s,
        host=args.host,
        port=args.port,
        log_config=None,
        access_log=False,
        proxy_headers=False,  # the app's own ProxyHeadersMiddleware, with TRUSTED_PROXIES
        loop="auto",
        timeout_keep_alive=75,  # above the load balancer's idle timeout (nginx: 60 s)
    )


if __name__ == "__main__":
    main()
