"""The edge: an RFC 9111 shared cache on the balancer's connection code, in front of one origin.

The decisions are the pure rules' (:func:`~.lookup.lookup`, :func:`~.storable.to_store`,
:func:`~.validation.after_revalidation`, ...) and the store's (:class:`~.store.Store`);
this module moves bytes between them, the clients (:class:`~millionscale.lb.connection.
ServerConnection`, which refuses malformed requests with a 4xx before they get here) and
the origin (:class:`~.origin.Origin`). What each request gets:

- **Fresh** (RFC 9111 §4.2): answered at once, in one write, from a head built once per
  stored response (the status line and fields, kept in a side table keyed by the stored
  record) plus ``Age`` (§5.1) and the body. ``X-Cache: HIT``.
- **Stale within stale-while-revalidate** (RFC 5861 §3): answered at once
  (``X-Cache: STALE``), and one background revalidation per key is started.
- **Revalidate** (§4.3.1): a conditional fetch; a 304 updates the stored response
  (§4.3.4, ``X-Cache: REVALIDATED``), a 200 replaces it.
- **Miss**: one origin fetch per key at a time (:class:`~millionscale.cache.singleflight.
  SingleFlight`); requests that join it (``coalesced``) look the key up again once it
  lands, so each gets what the rules say *it* may reuse (its own ``Vary`` selection,
  its own request directives). A response that turns out uncacheable (``private``,
  ``no-store``, ``Set-Cookie``, over the object size) is never handed to the joined
  requests: each re-fetches on its own, and the key is remembered as uncacheable for
  ``hit_for_miss_s`` (Varnish's hit-for-miss) so later misses go straight to the
  origin instead of queueing behind one another. A cacheable answer clears the mark.
- **Errors** (RFC 5861 §4): an origin that fails (no connection: 502; no answer in
  time: 504; a response h11 cannot frame: 502) or answers 5xx is stood in for by a
  stored response that :func:`~.validation.usable_on_error` allows (``X-Cache: STALE``);
  else the client gets the 502/504 at once. Nothing of a failed or 5xx response is
  stored.
- **Range** (RFC 9110 §14): a stored 200 answers a single byte range with 206 and
  ``Content-Range``, an unsatisfiable one with 416; a miss fetches the whole object
  (``Range`` is not sent to the origin), stores it, and answers the range.
- **Client conditionals** (RFC 9110 §13.1): answered 304 from the stored response.
- **Other methods** are passed to the origin (``X-Cache: PASS``) and their non-error
  answer removes what RFC 9111 §4.4 says it invalidates.
- **Tiers**: an edge's origin may be another edge (the shield). The shield's ``Age``
  is kept (the rules count it, §4.2.3); an edge started with ``keep_surrogate_keys``
  (the shield) forwards ``Surrogate-Key`` so the edges below can purge by tag, an
  edge facing users strips it.

**Purges** (:meth:`Edge.purge`, the admin API's ``POST /v1/purge``) apply to the store
at once; a fetch that was in flight when one was applied answers its requests but
stores nothing (its response may predate the purge), and a revalidation in flight
never undoes one (:meth:`.store.Store.replace`): a purge, once answered, holds.

Every answer carries ``X-Cache``, ``Via`` (RFC 9110 §7.6.3) and, from the store,
``Age``. A body over ``max_object_bytes`` is streamed to its client, not stored.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from operator import itemgetter
from typing import Any
from urllib.parse import urlsplit

import structlog

from millionscale.cache.singleflight import SingleFlight
from millionscale.cdn import metrics

# -- the rules and the store (branches h-cdnrules, h-cdnstore): every name used is here --
from millionscale.cdn.construct import age_field, response_fields
from millionscale.cdn.invalidation import invalidated_by
from millionscale.cdn.lookup import Fresh, GatewayTimeout, Revalidate, Stale, lookup
from millionscale.cdn.message import Fields, Request, Response, Stored, cache_key
from millionscale.cdn.origin import Fetched, Origin, OriginFailure
from millionscale.cdn.purge import Purge, PurgeKind
from millionscale.cdn.ranges import RangeNotSatisfiable, parse_range, range_applies
from millionscale.cdn.rules import RulesSettings
from millionscale.cdn.settings import EdgeSettings
from millionscale.cdn.stale import usable_on_error
from millionscale.cdn.storable import to_store
from millionscale.cdn.store import Store, StoreStatistics
from millionscale.cdn.validation import (
    after_revalidation,
    client_not_modified,
    conditional_fields,
    not_modified_fields,
)
from millionscale.lb.answers import error_bytes, status_line
from millionscale.lb.connection import Exchange, NullExchange, ServerConnection
from millionscale.lb.head import RequestHead
from millionscale.lb.headers import HOP_BY_HOP, connection_tokens

__all__ = ["Edge", "EdgeStatistics"]

log = structlog.get_logger()

_HIT, _MISS, _STALE, _REVALIDATED, _PASS = b"HIT", b"MISS", b"STALE", b"REVALIDATED", b"PASS"
# Request fields that make a hit more than "write the stored answer" (RFC 9110 §13, §14).
_SLOW = frozenset({b"range", b"if-none-match", b"if-modified-since"})
# Not sent to the origin on a cache fill: the edge wants the whole, unconditional
# response to store, and answers the client's range and conditionals itself.
_FILL_DROP = frozenset(
    {
        b"range",
        b"if-range",
        b"if-none-match",
        b"if-modified-since",
        b"if-match",
        b"if-unmodified-since",
    }
)
# Never in the answer's field block: the edge frames the body itself (RFC 9112 §6).
_FRAMING = frozenset({b"content-length", b"transfer-encoding", b"age"})
_TAGS = frozenset({b"surrogate-key", b"xkey"})
_NAME, _VALUE = itemgetter(0), itemgetter(1)
_HEADS_MAX = 65_536  # pre-built heads kept; the table is cleared when it passes this
_HOSTS_MAX = 4096  # hosts remembered for path-only purges
_MARKS_MAX = 100_000  # hit-for-miss keys remembered


@dataclass(frozen=True, slots=True)
class EdgeStatistics:
    """One edge at one moment (taking it changes nothing)."""

    name: str
    hits: int
    misses: int
    stale: int  # answered stale: swr, errors, soft purges
    revalidated: int
    passed: int
    errors: int  # answered 502/504 (no stale could stand in)
    coalesced: int  # joined another request's origin fetch
    origin_fetches: int
    bytes_from_edge: int
    bytes_from_origin: int
    hit_for_miss: int  # keys remembered as uncacheable now
    clients: int  # open client connections
    store: StoreStatistics

    def to_json(self) -> dict[str, Any]:
        """The admin API's ``GET /v1/statistics`` body."""
        edge = {name: getattr(self, name) for name in self.__dataclass_fields__ if name != "store"}
        store = {name: getattr(self.store, name) for name in type(self.store).__dataclass_fields__}
        return {"edge": edge, "store": store}


_DONE = NullExchange()  # the exchange of a request answered while it was started


class _Task(NullExchange):
    """The exchange of a request answered by a task (a fetch): the client leaving cancels
    it (the origin fetch it may lead goes on for the others, see SingleFlight). Its request
    arrives whole (the buffer is the body limit)."""

    __slots__ = ("task", "writable")

    def __init__(self, work: Callable[[asyncio.Event], Coroutine[Any, Any, None]]) -> None:
        self.writable = asyncio.Event()
        self.writable.set()
        self.task = asyncio.get_running_loop().create_task(work(self.writable))

    def abort(self) -> None:
        self.task.cancel()

    def pause_writing(self) -> None:
        self.writable.clear()

    def resume_writing(self) -> None:
        self.writable.set()


@dataclass(frozen=True, slots=True)
class _Filled:
    """What one origin fetch came to: ``stored`` is what the store holds now for it."""

    owner: object  # the token of the request that started the fetch (None: no request)
    fetched: Fetched | None  # None, without a failure: a body too big to share, closed
    failure: OriginFailure | None
    stored: Stored | None
    label: bytes

    @property
    def failed(self) -> bool:
        """No answer, or a 5xx: what a stale response may stand in for (RFC 5861 §4)."""
        fetched = self.fetched
        return self.failure is not None or (fetched is not None and fetched.response.status >= 500)


def _connection_line(keep_alive: bool, http_11: bool) -> bytes:
    if keep_alive:
        return b"" if http_11 else b"connection: keep-alive\r\n"
    return b"connection: close\r\n"


def _as_site(request: Request, site: bytes) -> Request:
    """``request`` under ``Host: site`` (the one site an edge serves, whatever Host the
    client sent): what is forwarded, and what a stored response's Vary selects on."""
    fields = (*(f for f in request.fields if f[0] != b"host"), (b"host", site))
    return Request(request.method, request.target, fields)


def _lines(fields: Fields, drop: frozenset[bytes]) -> bytes:
    return b"".join(name + b": " + value + b"\r\n" for name, value in fields if name not in drop)


class Edge:
    """One edge cache (see the module's docstring); :meth:`start`, :meth:`serve`, :meth:`stop`."""

    def __init__(
        self,
        settings: EdgeSettings,
        *,
        store: Store | None = None,
        rules: RulesSettings | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.settings = settings
        self.clock = clock
        self.store = store or Store(
            max_memory_bytes=settings.memory_bytes,
            max_disk_bytes=settings.disk_bytes,
            spill_dir=settings.spill_dir,
            policy=settings.policy,
            max_object_bytes=min(settings.max_object_bytes, settings.memory_bytes),
        )
        self.rules = rules or RulesSettings(default_stale_if_error_s=settings.stale_if_error_s)
        self.counts = metrics.Counts()
        self.origin: Origin | None = None
        self._via = b"via: 1.1 " + settings.name.encode("ascii", "replace") + b"\r\n"
        self._origin_host = settings.origin_host
        self._site = settings.site.lower().encode()
        self._keep_tags = settings.keep_surrogate_keys
        self._strip = frozenset() if self._keep_tags else _TAGS
        self._flights: SingleFlight[bytes] = SingleFlight()
        self._heads: dict[int, tuple[Fields, bytes]] = {}
        self._uncacheable: dict[bytes, float] = {}  # key -> until (hit-for-miss)
        self._revalidating: set[bytes] = set()
        self._hosts: set[bytes] = set()
        self._purges = 0  # purges applied so far: a fetch that spans one stores nothing
        self._tasks: set[asyncio.Task[None]] = set()
        self._clients: set[ServerConnection] = set()
        self._servers: list[asyncio.Server] = []
        self._unregister: Callable[[], None] | None = None

    # -- life -------------------------------------------------------------------------

    def start(self) -> None:
        """Open the origin client and export the metrics (inside the event loop)."""
        settings = self.settings
        self.origin = Origin(
            settings.origin,
            name=settings.name,
            connect_timeout_s=settings.connect_timeout_s,
            read_timeout_s=settings.read_timeout_s,
            max_connections=settings.max_connections,
            max_object_bytes=settings.max_object_bytes,
            clock=self.clock,
        )
        self._unregister = metrics.register(settings.name, self.counts, self._gauges)

    async def serve(self, host: str, port: int, *, backlog: int = 1024) -> asyncio.Server:
        """Listen for clients on ``host:port`` (0: a free port); starts the edge if need be."""
        if self.origin is None:
            self.start()
        limits = self.settings.limits
        loop = asyncio.get_running_loop()
        server = await loop.create_server(
            lambda: ServerConnection(
                self._start, limits, buffer_bytes=limits.max_body_bytes, registry=self._clients
            ),
            host,
            port,
            backlog=backlog,
        )
        self._servers.append(server)
        return server

    async def stop(self, grace_s: float | None = None) -> None:
        """Stop listening, give requests in flight ``grace_s`` (the settings'), then close."""
        for server in self._servers:
            server.close()
        for conn in list(self._clients):
            conn.close()  # once the requests read so far are answered
        grace = self.settings.shutdown_grace_s if grace_s is None else grace_s
        if self._tasks:
            await asyncio.wait(set(self._tasks), timeout=grace)
        for task in list(self._tasks):
            task.cancel()
        for conn in list(self._clients):
            conn.abandon()
        if self.origin is not None:
            await self.origin.aclose()
        if self._unregister is not None:
            self._unregister()
            self._unregister = None
        self.store.close()

    def statistics(self) -> EdgeStatistics:
        counts = self.counts
        outcomes = counts.outcomes
        now = self.clock()
        return EdgeStatistics(
            name=self.settings.name,
            hits=outcomes["hit"],
            misses=outcomes["miss"],
            stale=outcomes["stale"],
            revalidated=outcomes["revalidated"],
            passed=outcomes["pass"],
            errors=outcomes["error"],
            coalesced=self._flights.statistics().joined,
            origin_fetches=counts.origin_fetches,
            bytes_from_edge=counts.bytes_from_edge,
            bytes_from_origin=counts.bytes_from_origin,
            hit_for_miss=sum(1 for until in self._uncacheable.values() if until > now),
            clients=len(self._clients),
            store=self.store.statistics(),
        )

    def _gauges(self) -> tuple[int, int, int, int]:
        stats = self.store.statistics()
        joined = self._flights.statistics().joined
        return stats.objects, stats.memory_bytes, stats.disk_bytes, joined

    # -- purge ------------------------------------------------------------------------

    def purge(
        self,
        *,
        url: str | None = None,
        prefix: str | None = None,
        tag: str | None = None,
        everything: bool = False,
        soft: bool = False,
        issued_at: float | None = None,
    ) -> int:
        """Purge by exactly one of ``url``, ``prefix``, ``tag``, ``everything``; the
        responses purged.

        ``url`` and ``prefix`` are a full URL (``http://host/path``: that host) or
        a path (``/path``: every host this edge has stored responses for). Soft
        marks them stale (kept for stale-if-error), hard removes them.
        """
        given = [v for v in (url, prefix, tag, everything or None) if v is not None]
        if len(given) != 1:
            raise ValueError("give exactly one of url, prefix, tag, everything")
        store = self.store
        kind: PurgeKind
        if everything:
            kind, purged = "all", store.purge_all(soft=soft)
        elif tag is not None:
            kind, purged = "tag", store.purge_tag(tag.encode(), soft=soft)
        else:
            text = url if url is not None else prefix
            assert text is not None
            keys = self._purge_keys(text)
            if url is not None:
                kind, purged = "url", sum(store.purge_url(k, soft=soft) for k in keys)
            else:
                kind, purged = "prefix", sum(store.purge_prefix(k, soft=soft) for k in keys)
        self.counts.purges[kind] += 1
        self._purges += 1
        if issued_at is not None:
            metrics.PURGE_LAG.labels(self.settings.name).observe(max(0.0, self.clock() - issued_at))
        log.info("cdn: purged", kind=kind, purged=purged, soft=soft)
        return purged

    def apply(self, purge: Purge, *, issued_at: float | None = None) -> int:
        """:meth:`purge` what ``purge`` names (kind ``all``: everything); the
        responses purged."""
        if purge.kind == "all":
            return self.purge(everything=True, soft=purge.soft, issued_at=issued_at)
        what: dict[str, Any] = {purge.kind: purge.value}
        return self.purge(**what, soft=purge.soft, issued_at=issued_at)

    def _purge_keys(self, text: str) -> list[bytes]:
        if text.startswith("/"):
            target = text.encode()
            return [host + target for host in {*self._hosts, self._origin_host, self._site} if host]
        parts = urlsplit(text)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise ValueError(f"{text!r} is neither a path nor an http URL")
        path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        return [cache_key(parts.netloc.encode(), path.encode())]

    # -- a request --------------------------------------------------------------------

    def _start(
        self, conn: ServerConnection, head: RequestHead, chunks: list[bytes], _complete: bool
    ) -> Exchange:
        now = self.clock()
        headers = head.headers  # lower-cased in C (map, zip): this runs on every hit
        fields = tuple(
            zip(map(bytes.lower, map(_NAME, headers)), map(_VALUE, headers), strict=True)
        )
        request = Request(head.method, head.target, fields)
        site = self._site
        method = head.method
        if method != "GET" and method != "HEAD":
            body = b"".join(chunks)
            if site:
                request = _as_site(request, site)
            return self._spawn(lambda writable: self._pass(conn, head, request, body, writable))
        key = cache_key(site or head.host or self._origin_host, head.target)
        variants = self.store.variants(key)
        # With a site, the request goes to the origin under its Host, and was stored so:
        # rewritten only where that shows, a Vary on Host (a hit only reads fields).
        if site and any(b"host" in variant.vary for variant in variants):
            request = _as_site(request, site)
        found = lookup(request, variants, now, settings=self.rules)
        kind = type(found)
        if kind is Fresh:
            self.counts.outcomes["hit"] += 1
            self._serve(conn, head, request, found.stored, now, _HIT)  # type: ignore[union-attr]
            return _DONE
        if kind is Stale:
            stale: Stale = found  # type: ignore[assignment]
            self._stale(conn, head, request, stale.stored, now, "swr")
            if stale.revalidate_in_background:
                forwarded = _as_site(request, site) if site else request
                self._revalidate_later(key, forwarded, stale.stored, conn.peer)
            return _DONE
        if kind is GatewayTimeout:  # only-if-cached, nothing usable (RFC 9111 §5.2.1.7)
            self.counts.outcomes["error"] += 1
            self._error(conn, head, 504, "not in cache (only-if-cached)")
            return _DONE
        if site:
            request = _as_site(request, site)
        return self._spawn(
            lambda writable: self._fetch(conn, head, request, key, variants, found, writable)
        )

    def _spawn(self, work: Callable[[asyncio.Event], Coroutine[Any, Any, None]]) -> Exchange:
        exchange = _Task(work)
        self._tasks.add(exchange.task)
        exchange.task.add_done_callback(self._tasks.discard)
        return exchange

    async def _fetch(
        self,
        conn: ServerConnection,
        head: RequestHead,
        request: Request,
        key: bytes,
        variants: list[Stored],
        found: object,
        writable: asyncio.Event,
    ) -> None:
        stale = found.stored if isinstance(found, Revalidate) else None
        conditional = found.conditional if isinstance(found, Revalidate) else ()
        peer = conn.peer
        try:
            if self._uncacheable.get(key, 0.0) > self.clock():  # hit-for-miss: no queueing
                filled = await self._fill(request, key, peer, stale, conditional, None)
            else:
                token = object()
                filled = await self._flights.do(
                    key, lambda: self._fill(request, key, peer, stale, conditional, token)
                )
                if filled.fetched is None and filled.failure is None:  # too big to share
                    filled = await self._fill(request, key, peer, stale, conditional, None)
                elif filled.owner is not token and not filled.failed:
                    # Joined another's fetch: what it stored, if the rules let *this*
                    # request reuse it; else (uncacheable, another variant) our own fetch.
                    # Failures and 5xx are shared: they say the origin is down, not who.
                    now = self.clock()
                    again = lookup(request, self.store.variants(key), now, settings=self.rules)
                    if isinstance(again, Fresh):
                        self._count(filled.label)
                        self._serve(conn, head, request, again.stored, now, filled.label)
                        return
                    filled = await self._fill(request, key, peer, stale, conditional, None)
            await self._answer(conn, head, request, variants, filled, writable)
        except asyncio.CancelledError:
            raise
        except Exception:  # a bug of ours: never a traceback to the client, never a hang
            log.exception("cdn: request failed", target=head.target.decode("latin-1"))
            if not conn.response_started:
                self._error(conn, head, 500, "internal error")
            else:
                conn.abandon()

    def _count(self, label: bytes) -> None:
        outcome = "revalidated" if label == _REVALIDATED else "miss"
        self.counts.outcomes[outcome] += 1

    async def _fill(
        self,
        request: Request,
        key: bytes,
        peer: bytes,
        stale: Stored | None,
        conditional: Fields,
        owner: object,
    ) -> _Filled:
        """One origin fetch for ``key`` (conditional when ``stale``), stored if it may be."""
        origin = self.origin
        assert origin is not None, "Edge.start() first"
        fields = origin.request_fields(request.fields, peer, drop=_FILL_DROP)
        fields += conditional
        self.counts.origin_fetches += 1
        purges = self._purges
        fetched = await origin.fetch("GET", request.target, fields)
        if isinstance(fetched, OriginFailure):
            log.info("cdn: origin failed", reason=fetched.reason, status=fetched.status)
            return _Filled(owner, None, fetched, None, _MISS)
        self.counts.bytes_from_origin += len(fetched.body)
        if fetched.rest is not None:  # over max_object_bytes: streamed, never stored
            self._mark_uncacheable(key)
            if owner is not None:  # a shared fetch: nobody may be left to read the stream
                await fetched.aclose()
                return _Filled(owner, None, None, None, _MISS)
            return _Filled(owner, fetched, None, None, _MISS)
        response = fetched.response
        now = self.clock()
        if stale is not None and response.status == 304:
            updated = after_revalidation(
                stale,
                response,
                request_time=fetched.request_time,
                response_time=fetched.response_time,
                now=now,
                settings=self.rules,
            )
            if updated is not None:
                self.store.replace(stale, updated)
                return _Filled(owner, fetched, None, updated, _REVALIDATED)
            return await self._fill(request, key, peer, None, (), owner)  # validator mismatch
        if response.status >= 500:  # never displaces what may stand in for it
            return _Filled(owner, fetched, None, None, _MISS)
        kept = tuple((name, value) for name, value in request.fields if name not in _FILL_DROP)
        if request.get(b"host") is None:  # HTTP/1.0 without Host: keyed by the origin's
            kept += ((b"host", self._origin_host),)
        filled = Request("GET", request.target, kept)
        outcome = to_store(
            filled,
            response,
            fetched.body,
            request_time=fetched.request_time,
            response_time=fetched.response_time,
            now=now,
            settings=self.rules,
        )
        if self._purges != purges:  # it may predate the purge: answer with it, keep nothing
            return _Filled(owner, fetched, None, None, _MISS)
        if isinstance(outcome, Stored) and self.store.put(outcome):
            self._uncacheable.pop(key, None)
            self._remember_host(key, request.target)
            return _Filled(owner, fetched, None, outcome, _MISS)
        if stale is not None and response.status == 200:
            self.store.remove(key)  # a newer, uncacheable answer: the old one is no good
        self._mark_uncacheable(key)
        return _Filled(owner, fetched, None, None, _MISS)

    def _mark_uncacheable(self, key: bytes) -> None:
        marks = self._uncacheable
        if len(marks) >= _MARKS_MAX:
            now = self.clock()
            for old in [k for k, until in marks.items() if until <= now]:
                del marks[old]
            if len(marks) >= _MARKS_MAX:
                marks.clear()
        marks[key] = self.clock() + self.settings.hit_for_miss_s

    def _remember_host(self, key: bytes, target: bytes) -> None:
        if len(self._hosts) < _HOSTS_MAX and key.endswith(target):
            self._hosts.add(key[: len(key) - len(target)])

    def _revalidate_later(self, key: bytes, request: Request, stored: Stored, peer: bytes) -> None:
        """One background revalidation per key (RFC 5861 §3)."""
        if key in self._revalidating or self.origin is None:
            return
        self._revalidating.add(key)
        conditional = conditional_fields(stored)
        token = object()  # a shared fetch: requests may join it

        async def revalidate() -> None:
            try:
                filled = await self._flights.do(
                    key, lambda: self._fill(request, key, peer, stored, conditional, token)
                )
                if filled.fetched is not None:
                    await filled.fetched.aclose()
            except Exception:
                log.exception("cdn: background revalidation failed")
            finally:
                self._revalidating.discard(key)

        task = asyncio.get_running_loop().create_task(revalidate())
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _answer(
        self,
        conn: ServerConnection,
        head: RequestHead,
        request: Request,
        variants: list[Stored],
        filled: _Filled,
        writable: asyncio.Event,
    ) -> None:
        fetched = filled.fetched
        if filled.failed:
            now = self.clock()
            for stored in variants:
                if usable_on_error(stored, now, request):
                    if fetched is not None:
                        await fetched.aclose()
                    reason = "soft-purge" if stored.invalidated else "error"
                    self._stale(conn, head, request, stored, now, reason)
                    return
            if filled.failure is not None:
                self.counts.outcomes["error"] += 1
                self._error(conn, head, filled.failure.status, filled.failure.reason)
                return
        if filled.stored is not None:
            self._count(filled.label)
            self._serve(conn, head, request, filled.stored, self.clock(), filled.label)
            return
        assert fetched is not None
        self.counts.outcomes["miss"] += 1
        await self._relay(conn, head, fetched, _MISS, writable)

    async def _pass(
        self,
        conn: ServerConnection,
        head: RequestHead,
        request: Request,
        body: bytes,
        writable: asyncio.Event,
    ) -> None:
        """An unsafe (or unknown) method: to the origin and back; RFC 9111 §4.4 after."""
        origin = self.origin
        assert origin is not None, "Edge.start() first"
        fields = origin.request_fields(request.fields, conn.peer)
        self.counts.origin_fetches += 1
        fetched = await origin.fetch(head.method, head.target, fields, body)
        if isinstance(fetched, OriginFailure):
            self.counts.outcomes["error"] += 1
            self._error(conn, head, fetched.status, fetched.reason)
            return
        self.counts.bytes_from_origin += len(fetched.body)
        if request.get(b"host") is None:  # keyed by the origin's host, as its GETs are
            request = Request(
                request.method, request.target, (*request.fields, (b"host", self._origin_host))
            )
        for key in invalidated_by(request, fetched.response):
            self.store.remove(key)
        self.counts.outcomes["pass"] += 1
        await self._relay(conn, head, fetched, _PASS, writable)

    # -- writing answers ----------------------------------------------------------------

    def _stale(
        self,
        conn: ServerConnection,
        head: RequestHead,
        request: Request,
        stored: Stored,
        now: float,
        reason: str,
    ) -> None:
        self.counts.outcomes["stale"] += 1
        self.counts.stale[reason] += 1
        self._serve(conn, head, request, stored, now, _STALE)

    def _head(self, stored: Stored) -> bytes:
        """The stored response's status line and fields, less ``Age``, with
        ``Content-Length``: built once per stored record."""
        slot = id(stored)
        known = self._heads.get(slot)
        if known is not None and known[0] is stored.fields:
            return known[1]
        fields = response_fields(stored, stored.response_time, keep_tags=self._keep_tags)
        built = b"".join(
            (
                status_line(stored.status),
                _lines(fields, _FRAMING),
                b"content-length: %d\r\n" % len(stored.body),
            )
        )
        if len(self._heads) >= _HEADS_MAX:
            self._heads.clear()
        self._heads[slot] = (stored.fields, built)
        return built

    def _ending(self, label: bytes, keep_alive: bool, http_11: bool) -> bytes:
        """The end of every answer's head: ``X-Cache: label``, ``Via``, the
        connection line (``keep_alive`` for an ``http_11`` client or not), the blank line."""
        return b"x-cache: %b\r\n%b%b\r\n" % (
            label,
            self._via,
            _connection_line(keep_alive, http_11),
        )

    def _serve(
        self,
        conn: ServerConnection,
        head: RequestHead,
        request: Request,
        stored: Stored,
        now: float,
        label: bytes,
    ) -> None:
        """Answer from ``stored``: whole in one write, or 304, 206, 416 (RFC 9110 §13-14)."""
        if not _SLOW.isdisjoint(map(_NAME, request.fields)):
            self._serve_partly(conn, head, request, stored, now, label)
            return
        start = (
            self._head(stored)
            + b"age: "
            + age_field(stored.age(now))
            + b"\r\n"
            + self._ending(label, head.keep_alive, head.http_11)
        )
        if head.method == "HEAD":
            conn.write(start)
        else:
            body = stored.body
            conn.write(start + body)
            self.counts.bytes_from_edge += len(body)
        conn.finish(head.keep_alive)

    def _serve_partly(
        self,
        conn: ServerConnection,
        head: RequestHead,
        request: Request,
        stored: Stored,
        now: float,
        label: bytes,
    ) -> None:
        ending = self._ending(label, head.keep_alive, head.http_11)
        if client_not_modified(request, stored):
            kept = not_modified_fields(stored, now)
            conn.write(status_line(304) + _lines(kept, frozenset()) + ending)
            conn.finish(head.keep_alive)
            return
        body = stored.body
        size = len(body)
        wanted = request.get(b"range")
        chosen = None
        if wanted is not None and stored.status == 200 and range_applies(request, stored):
            chosen = parse_range(wanted, size)
        sent = response_fields(stored, now, keep_tags=self._keep_tags)
        fields = _lines(sent, frozenset({b"content-length", b"transfer-encoding"}))
        if isinstance(chosen, RangeNotSatisfiable):
            conn.write(
                status_line(416)
                + b"content-range: "
                + chosen.content_range
                + b"\r\ncontent-length: 0\r\n"
                + ending
            )
        elif chosen is not None:
            first, last = chosen
            part = body[first : last + 1]
            conn.write(
                status_line(206)
                + fields
                + b"content-range: bytes %d-%d/%d\r\ncontent-length: %d\r\n"
                % (first, last, size, len(part))
                + ending
                + (b"" if head.method == "HEAD" else part)
            )
            self.counts.bytes_from_edge += len(part)
        else:
            conn.write(
                status_line(stored.status)
                + fields
                + b"content-length: %d\r\n" % size
                + ending
                + (b"" if head.method == "HEAD" else body)
            )
            self.counts.bytes_from_edge += size
        conn.finish(head.keep_alive)

    def _error(self, conn: ServerConnection, head: RequestHead, status: int, reason: str) -> None:
        conn.write(error_bytes(status, reason, keep_alive=head.keep_alive))
        conn.finish(head.keep_alive)

    async def _relay(
        self,
        conn: ServerConnection,
        head: RequestHead,
        fetched: Fetched,
        label: bytes,
        writable: asyncio.Event,
    ) -> None:
        """An answer that is not stored: the origin's, less hop-by-hop fields, reframed."""
        response: Response = fetched.response
        named: frozenset[bytes] = frozenset()
        for name, value in response.fields:
            if name == b"connection":
                named = named | connection_tokens(value)[2]
        drop = HOP_BY_HOP | named | self._strip | {b"content-length", b"transfer-encoding"}
        block = _lines(tuple(f for f in response.fields if not f[0].startswith(b"proxy-")), drop)
        status = response.status
        bodiless = head.method == "HEAD" or status < 200 or status in (204, 304)
        keep_alive = head.keep_alive
        framing = b""
        if fetched.rest is None:
            if not bodiless or head.method == "HEAD":
                framing = b"content-length: %d\r\n" % len(fetched.body)
        else:
            length = response.get(b"content-length")
            if length is not None and length.isdigit():
                framing = b"content-length: " + length + b"\r\n"
            elif head.http_11:
                framing = b"transfer-encoding: chunked\r\n"
            else:
                keep_alive = False
        chunked = framing.startswith(b"transfer-encoding")
        start = (
            status_line(status) + block + framing + self._ending(label, keep_alive, head.http_11)
        )
        if bodiless:
            await fetched.aclose()
            conn.write(start)
            conn.finish(keep_alive)
            return
        if fetched.rest is None:
            conn.write(start + fetched.body)
            self.counts.bytes_from_edge += len(fetched.body)
            conn.finish(keep_alive)
            return
        await self._stream(conn, fetched, start, chunked, keep_alive, writable)

    async def _stream(
        self,
        conn: ServerConnection,
        fetched: Fetched,
        start: bytes,
        chunked: bool,
        keep: bool,
        writable: asyncio.Event,
    ) -> None:
        """The rest of a body over the object size, as it comes; reading the origin
        waits while the client's write buffer is over its high water mark."""
        assert fetched.rest is not None

        def piece(data: bytes) -> bytes:
            return b"%x\r\n%b\r\n" % (len(data), data) if chunked else data

        try:
            conn.write(start + (piece(fetched.body) if fetched.body else b""))
            async for data in fetched.rest:
                await writable.wait()
                if data:
                    self.counts.bytes_from_origin += len(data)
                    conn.write(piece(data))
            if chunked:
                conn.write(b"0\r\n\r\n")
        except asyncio.CancelledError:
            raise
        except Exception as error:  # the origin failed half-way: cut the client's answer
            log.warning("cdn: streamed response cut", reason=type(error).__name__)
            conn.abandon()
            return
        finally:
            with contextlib.suppress(Exception):
                await fetched.aclose()
        conn.finish(keep)
