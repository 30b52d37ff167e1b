"""Purge: tell every CDN edge to drop, or mark stale, what a URL, a prefix or a tag names.

A :class:`Purger` finds the edges in a :class:`~millionscale.discovery.Discovery`
(every member of tier ``cdn`` but those ``stopped`` or ``failed``; each serves
its admin API on the port named ``admin``) and posts one purge to each, all at
once: ``POST /v1/purge`` with ``{"tag": "photo-12", "soft": false,
"issued_at": <wall clock>}`` and ``Authorization: Bearer <token>``; an edge
answers ``{"purged": n}``, the objects it removed (hard) or marked stale (soft).

What it guarantees, and what it does not:

- **Bounded.** Each edge gets :data:`ATTEMPTS` tries of at most
  :data:`TIMEOUT_S` each, with a doubling pause between them; a purge never
  waits longer than that for an edge that does not answer. A refusal (a 4xx:
  a wrong token, a body the edge cannot take) is not retried: it would be
  refused again. A purge is idempotent, so a retry after an answer that was
  lost does no harm.
- **Told, never raised.** The answer is a :class:`PurgeResult`: per edge, the
  count it purged or why it did not, how many attempts it took, and the time
  from the purge's issue to that edge's acknowledgement; :attr:`PurgeResult.lag_s`
  is the time until the last edge acknowledged. Only discovery that cannot be
  read raises (:class:`~millionscale.errors.DiscoveryError`). An edge that was
  not purged keeps its copy until the copy's freshness lifetime runs out
  (RFC 9111 §4.2); that is what a purge failure costs.
- **At the top of the tree.** Where the tier has shields (discovery role
  ``shield``), only they are purged: the edges below follow a shield's purge
  log (:mod:`millionscale.cdn.feed`), and a shield answers once every edge
  following it applied the purge (``"wait": true``, at most
  :data:`FOLLOWERS_WAIT_S`), so the lag measured is the whole tier's. Purging
  the shield first matters: an edge purged before it could refetch the old copy
  from it and keep that for its whole lifetime again. Without shields every
  edge is purged directly.
- **Counted.** ``millionscale_cdn_purger_purges_total{outcome}`` (complete,
  incomplete, no_edges, unsent), ``millionscale_cdn_purger_attempts_total{result}``
  (acknowledged, refused, timeout, failed) and the lag's histogram
  ``millionscale_cdn_purger_lag_seconds``, in the process's registry;
  :meth:`Purger.statistics` for this purger alone.
- **In the background.** :meth:`Purger.submit` runs a purge as a task and logs
  its one-sentence result (:meth:`PurgeResult.sentence`); :meth:`Purger.aclose`
  waits for those still running (each is bounded, see above), so a purge
  issued just before a process stops is still delivered.

The transport is plain HTTP/1.1 over a connection per attempt (``Connection:
close``; a purge is rare next to the requests it affects), made by a
:data:`Connector`: TCP to the edge's address by default; the command line
passes one that connects from inside an edge's network namespace.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Literal, get_args

import httptools
import structlog
from prometheus_client import Counter, Histogram

from millionscale.discovery import Discovery, Member
from millionscale.errors import ConfigError, DiscoveryError

__all__ = [
    "ADMIN_PORT",
    "ATTEMPTS",
    "KINDS",
    "PURGE_PATH",
    "TIER",
    "TIMEOUT_S",
    "AdminAddress",
    "Connector",
    "EdgeResult",
    "Purge",
    "PurgeKind",
    "PurgeResult",
    "Purger",
    "PurgerStatistics",
    "admin_edge",
    "open_tcp",
]

log = structlog.get_logger()

PURGE_PATH = "/v1/purge"  # the edge's admin API (millionscale.cdn.admin)
TIER = "cdn"  # the edges' tier in discovery, as the topology files name it
ADMIN_PORT = "admin"  # the port an edge serves its admin API on (topology: extra_ports)
SHIELD_ROLE = "shield"  # an edge the other edges fetch from: purged first
SKIPPED = frozenset({"stopped", "failed"})  # health of a member that holds no cache now
# Ours. An edge applies a purge in memory (a scan of its keys or its tag index): an
# answer takes milliseconds, so 2 s means the edge or the way to it is down.
TIMEOUT_S = 2.0
ATTEMPTS = 3  # the first try and two retries (AWS' SDKs default to 3 attempts too)
BACKOFF_S = 0.1  # before the second attempt; doubled before each next one
FOLLOWERS_WAIT_S = 1.0  # a shield's wait for its edges: under TIMEOUT_S, so it answers in time
MAX_ANSWER_BYTES = 64 * 1024  # ours: an answer is {"purged": n}; more is not an edge's
MAX_VALUE_BYTES = 8 * 1024  # RFC 9110 §4.1 recommends senders support 8000-octet URIs

# Bounded labels: an outcome, never a tag or an edge's name from outside.
PURGES = Counter(
    "millionscale_cdn_purger_purges",
    "Purges this process sent, by outcome (complete: every edge acknowledged)",
    ["outcome"],
)
EDGE_ATTEMPTS = Counter(
    "millionscale_cdn_purger_attempts", "Requests sent to edges' admin APIs, by result", ["result"]
)
LAG = Histogram(
    "millionscale_cdn_purger_lag_seconds",
    "From a purge's issue to the last edge's acknowledgement",
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0),
)

PurgeKind = Literal["url", "prefix", "tag", "all"]
KINDS: tuple[PurgeKind, ...] = get_args(PurgeKind)


@dataclass(frozen=True, slots=True)
class Purge:
    """What to purge: the object at a URL, every object under a prefix, or every object
    carrying a surrogate key (a tag); ``soft`` marks them stale instead of removing
    them (an edge may then still serve them where stale is allowed, RFC 5861).

    A ``url`` or ``prefix`` is a path (``/a``: on every host an edge holds) or an
    http URL (``http://host/a``: that host), in ASCII. Kind ``all`` (everything,
    with an empty value) is what a purge log passes on for a follower that missed
    purges (:mod:`millionscale.cdn.feed`); an edge's admin API does not take it.
    """

    kind: PurgeKind
    value: str
    soft: bool = False

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ConfigError(
                f"{self.kind!r} is not a kind of purge", hint=f"use one of {', '.join(KINDS)}"
            )
        if self.kind == "all":
            if self.value:
                raise ConfigError("a purge of everything names no value", hint="give ''")
            return
        if not self.value or len(self.value.encode()) > MAX_VALUE_BYTES:
            raise ConfigError(
                f"a {self.kind} to purge must be 1 to {MAX_VALUE_BYTES} bytes long",
                hint=f"give the {self.kind}",
            )
        if not self.value.isprintable() or (self.kind == "tag" and " " in self.value):
            raise ConfigError(
                f"{self.value!r} cannot be a {self.kind}: "
                + ("a tag has no spaces" if self.value.isprintable() else "control characters"),
                hint="tags are the words of a Surrogate-Key header: photo-12, static",
            )
        if self.kind == "tag":
            return
        if not self.value.startswith(("/", "http://", "https://")):
            raise ConfigError(
                f"{self.value!r} is not a path",
                hint=f"give the {self.kind} as /path (say /static/) or http://host/path",
            )
        if not self.value.isascii():
            raise ConfigError(
                f"a {self.kind} to purge must be ASCII", hint="percent-encode the rest"
            )

    @classmethod
    def url(cls, path: str, *, soft: bool = False) -> Purge:
        return cls("url", path, soft)

    @classmethod
    def prefix(cls, path: str, *, soft: bool = False) -> Purge:
        return cls("prefix", path, soft)

    @classmethod
    def tag(cls, tag: str, *, soft: bool = False) -> Purge:
        return cls("tag", tag, soft)

    @classmethod
    def everything(cls, *, soft: bool = False) -> Purge:
        return cls("all", "", soft)

    def body(self, issued_at: float) -> dict[str, object]:
        """The JSON the edge's admin API takes; ``issued_at`` lets it measure purge lag."""
        return {self.kind: self.value, "soft": self.soft, "issued_at": issued_at}

    def describe(self) -> str:
        what = "everything" if self.kind == "all" else f"{self.kind} {self.value}"
        return f"{'soft purge' if self.soft else 'purge'} of {what}"


@dataclass(frozen=True, slots=True)
class AdminAddress:
    """Where one edge's admin API listens."""

    name: str
    host: str
    port: int

    @property
    def address(self) -> str:
        return f"{self.host}:{self.port}"


@dataclass(frozen=True, slots=True)
class EdgeResult:
    """What one edge did with a purge.

    ``purged`` is the count it answered (None if it never acknowledged);
    ``elapsed_s`` runs from the purge's issue to its acknowledgement, or to the
    last failed attempt; ``error`` says why it was not purged (None: it was).
    """

    edge: str
    address: str
    purged: int | None
    attempts: int
    elapsed_s: float
    error: str | None = None
    followers: tuple[str, ...] = ()  # the edges below a shield that applied it in time
    pending: tuple[str, ...] = ()  # ... and those that had not (they follow on)

    @property
    def ok(self) -> bool:
        return self.error is None and not self.pending


@dataclass(frozen=True, slots=True)
class PurgeResult:
    """A purge's outcome on every edge discovery named."""

    purge: Purge
    issued_at: float  # wall clock, as sent to the edges
    edges: tuple[EdgeResult, ...]

    @property
    def acknowledged(self) -> tuple[EdgeResult, ...]:
        return tuple(result for result in self.edges if result.ok)

    @property
    def failed(self) -> tuple[EdgeResult, ...]:
        return tuple(result for result in self.edges if not result.ok)

    @property
    def complete(self) -> bool:
        """Every edge acknowledged (and there was at least one)."""
        return bool(self.edges) and not self.failed

    @property
    def purged(self) -> int:
        return sum(result.purged or 0 for result in self.edges)

    @property
    def lag_s(self) -> float | None:
        """From the issue to the last acknowledgement; None if no edge acknowledged."""
        acknowledged = self.acknowledged
        return max(result.elapsed_s for result in acknowledged) if acknowledged else None

    def sentence(self) -> str:
        """One line: ``purge of tag photo-12: 3 of 3 edges, 2 objects, in 4 ms``."""
        if not self.edges:
            return f"{self.purge.describe()}: no edge to purge"
        lag = f", in {self.lag_s * 1000:.0f} ms" if self.lag_s is not None else ""
        objects = f"{self.purged} object{'' if self.purged == 1 else 's'}"
        below = sum(len(result.followers) for result in self.edges)
        following = f" and the {below} following {'it' if len(self.edges) == 1 else 'them'}"
        line = (
            f"{self.purge.describe()}: {len(self.acknowledged)} of {len(self.edges)} "
            f"edge{'' if len(self.edges) == 1 else 's'}{following if below else ''}, "
            f"{objects}{lag}"
        )
        failures = "; ".join(f"{result.edge}: {result.error}" for result in self.failed)
        return f"{line}; not purged: {failures}" if failures else line


@dataclass(frozen=True, slots=True)
class PurgerStatistics:
    issued: int  # purges started
    complete: int  # ... that every edge acknowledged
    incomplete: int  # ... that some edge (or discovery) did not
    pending: int  # background purges still running


Connector = Callable[[AdminAddress], Awaitable[tuple[asyncio.StreamReader, asyncio.StreamWriter]]]
"""Opens a connection to an edge's admin API."""

Locate = Callable[[Member], AdminAddress]
"""Where a member's admin API is; DiscoveryError if it has none."""


async def open_tcp(edge: AdminAddress) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    """A TCP connection to ``edge``'s address: the default :data:`Connector`."""
    return await asyncio.open_connection(edge.host, edge.port)


def admin_edge(member: Member) -> AdminAddress:
    """The admin API of ``member``: its address, on its port named ``admin``."""
    member.address(ADMIN_PORT)  # DiscoveryError naming the ports it has, if not that one
    return AdminAddress(member.name, member.host, member.ports[ADMIN_PORT])


class _Refused(Exception):
    """The edge answered with a status that a retry will not change (4xx)."""


class Purger:
    """Purges on every edge of tier ``tier`` in ``discovery``, with the admin ``token``.

    ``clock`` (monotonic) times the acknowledgements, ``wall`` stamps
    ``issued_at`` (the edges compare it with their own wall clock), ``sleep``
    waits between attempts: tests inject all three.
    """

    def __init__(
        self,
        discovery: Discovery,
        token: str,
        *,
        tier: str = TIER,
        timeout_s: float = TIMEOUT_S,
        attempts: int = ATTEMPTS,
        backoff_s: float = BACKOFF_S,
        path: str = PURGE_PATH,
        locate: Locate = admin_edge,
        connect: Connector = open_tcp,
        clock: Callable[[], float] = time.monotonic,
        wall: Callable[[], float] = time.time,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        if attempts < 1 or not timeout_s > 0 or backoff_s < 0:
            raise ConfigError(
                "a purger needs 1 or more attempts, a timeout above 0 and a pause of 0 or more",
                hint=f"the defaults: {ATTEMPTS} attempts of {TIMEOUT_S} s",
            )
        self.discovery = discovery
        self.tier = tier
        self.timeout_s = timeout_s
        self.attempts = attempts
        self.backoff_s = backoff_s
        self._token = token
        self._path = path
        self._locate = locate
        self._connect = connect
        self._clock = clock
        self._wall = wall
        self._sleep = sleep
        self._tasks: set[asyncio.Task[PurgeResult | None]] = set()
        self._issued = self._complete = self._incomplete = 0

    @property
    def longest_s(self) -> float:
        """The longest one edge can hold a purge up: every attempt timing out."""
        pauses = sum(self.backoff_s * float(2**n) for n in range(self.attempts - 1))
        return self.attempts * self.timeout_s + pauses

    async def purge(self, purge: Purge) -> PurgeResult:
        """Send ``purge`` to the shields, or without shields to every edge, and say
        what each did.

        Raises DiscoveryError only when discovery cannot be read.
        """
        self._issued += 1
        issued_at, start = self._wall(), self._clock()
        try:
            snapshot = await self.discovery.snapshot()
        except DiscoveryError:
            self._incomplete += 1
            PURGES.labels("unsent").inc()
            raise
        members = [m for m in snapshot.tier(self.tier) if m.health not in SKIPPED]
        shields = [m for m in members if m.role == SHIELD_ROLE]
        body = purge.body(issued_at)
        if shields:  # the edges below follow them
            members, body = shields, body | {"wait": True, "wait_s": FOLLOWERS_WAIT_S}
        payload = json.dumps(body).encode()
        results = list(await asyncio.gather(*(self._one(m, payload, start) for m in members)))
        result = PurgeResult(purge, issued_at, tuple(results))
        if result.complete:
            self._complete += 1
        else:
            self._incomplete += 1
        outcome = "complete" if result.complete else "incomplete" if members else "no_edges"
        PURGES.labels(outcome).inc()
        if result.lag_s is not None:
            LAG.observe(result.lag_s)
        return result

    def submit(self, purge: Purge) -> asyncio.Task[PurgeResult | None]:
        """Run ``purge`` in the background; its result is logged (a warning if incomplete).

        The task never raises: a discovery failure is logged too, and ends it with None.
        """
        task = asyncio.get_running_loop().create_task(self._logged(purge))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    async def aclose(self) -> None:
        """Wait for the background purges still running (each ends within
        :attr:`longest_s` of its discovery read), then cancel any left."""
        if not self._tasks:
            return
        pending = set(self._tasks)
        _, late = await asyncio.wait(pending, timeout=self.longest_s + self.timeout_s)
        for task in late:
            task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await asyncio.gather(*late, return_exceptions=True)

    def statistics(self) -> PurgerStatistics:
        return PurgerStatistics(self._issued, self._complete, self._incomplete, len(self._tasks))

    # -- inside --------------------------------------------------------------

    async def _logged(self, purge: Purge) -> PurgeResult | None:
        try:
            result = await self.purge(purge)
        except DiscoveryError as error:
            log.warning(
                "purge not sent",
                purge=purge.describe(),
                error=error.one_line(),
                then="cached copies expire by their own lifetime",
            )
            return None
        if result.complete or not result.edges:  # no edge: nothing holds a copy
            log.info(result.sentence(), purge=purge.describe(), lag_s=result.lag_s)
        else:
            log.warning(
                result.sentence(),
                purge=purge.describe(),
                lag_s=result.lag_s,
                then="edges not purged keep their copy until it expires",
            )
        return result

    async def _one(self, member: Member, payload: bytes, start: float) -> EdgeResult:
        try:
            edge = self._locate(member)
        except DiscoveryError as error:
            return EdgeResult(member.name, "", None, 0, self._clock() - start, error.message)
        last = ""
        for attempt in range(1, self.attempts + 1):
            try:
                async with asyncio.timeout(self.timeout_s):
                    purged = await self._exchange(edge, payload)
            except _Refused as refused:
                EDGE_ATTEMPTS.labels("refused").inc()
                return EdgeResult(
                    edge.name, edge.address, None, attempt, self._clock() - start, str(refused)
                )
            except TimeoutError:
                EDGE_ATTEMPTS.labels("timeout").inc()
                last = f"no answer within {self.timeout_s:g} s"
            except (OSError, ValueError) as failure:
                EDGE_ATTEMPTS.labels("failed").inc()
                last = _reason(failure)
            else:
                EDGE_ATTEMPTS.labels("acknowledged").inc()
                count, followers, pending = purged
                return EdgeResult(
                    edge.name,
                    edge.address,
                    count,
                    attempt,
                    self._clock() - start,
                    f"edges below not yet purged: {', '.join(pending)}" if pending else None,
                    followers,
                    pending,
                )
            if attempt < self.attempts:
                await self._sleep(self.backoff_s * 2 ** (attempt - 1))
        return EdgeResult(
            edge.name,
            edge.address,
            None,
            self.attempts,
            self._clock() - start,
            f"{last} ({self.attempts} attempt{'' if self.attempts == 1 else 's'})",
        )

    async def _exchange(
        self, edge: AdminAddress, payload: bytes
    ) -> tuple[int, tuple[str, ...], tuple[str, ...]]:
        """One POST on a new connection; the count the edge answered, and the edges
        below it that did and did not apply it (a shield asked to wait for them)."""
        reader, writer = await self._connect(edge)
        try:
            writer.write(
                (
                    f"POST {self._path} HTTP/1.1\r\nHost: {edge.address}\r\n"
                    f"Authorization: Bearer {self._token}\r\n"
                    "Content-Type: application/json\r\nAccept: application/json\r\n"
                    f"Content-Length: {len(payload)}\r\nConnection: close\r\n\r\n"
                ).encode("latin-1")
                + payload
            )
            await writer.drain()
            status, body = await _read_answer(reader)
        finally:
            writer.close()
            with contextlib.suppress(OSError):
                await writer.wait_closed()
        return _count(status, body)


class _Answer:
    """httptools' callbacks: the body, and whether the message is complete."""

    def __init__(self) -> None:
        self.body = bytearray()
        self.done = False

    def on_body(self, body: bytes) -> None:
        self.body += body

    def on_message_complete(self) -> None:
        self.done = True


async def _read_answer(reader: asyncio.StreamReader) -> tuple[int, bytes]:
    """Status and body of one HTTP/1.1 response (framed by Content-Length or chunked)."""
    answer = _Answer()
    parser = httptools.HttpResponseParser(answer)
    seen = 0
    while not answer.done:
        chunk = await reader.read(16 * 1024)
        seen += len(chunk)
        if seen > MAX_ANSWER_BYTES:
            raise ValueError(f"an answer of more than {MAX_ANSWER_BYTES} bytes")
        if not chunk:
            break
        try:
            parser.feed_data(chunk)
        except httptools.HttpParserError as error:
            raise ValueError(f"not an HTTP answer ({error})") from None
    if not answer.done:
        raise ValueError("the connection closed before the answer ended")
    return parser.get_status_code(), bytes(answer.body)


def _count(status: int, body: bytes) -> tuple[int, tuple[str, ...], tuple[str, ...]]:
    """The ``purged`` count of a 2xx answer, with its ``applied`` and ``pending``
    followers (empty if it names none); _Refused for a 4xx, ValueError for the rest."""
    try:
        data = json.loads(body) if body else {}
    except (json.JSONDecodeError, UnicodeDecodeError):
        data = {}
    detail = data.get("detail") if isinstance(data, dict) else None
    if 400 <= status < 500:
        raise _Refused(f"refused: HTTP {status}" + (f" ({detail})" if detail else ""))
    if not 200 <= status < 300:
        raise ValueError(f"HTTP {status}" + (f" ({detail})" if detail else ""))
    purged = data.get("purged") if isinstance(data, dict) else None
    if not isinstance(purged, int) or isinstance(purged, bool) or purged < 0:
        raise _Refused(f"answered HTTP {status} without a count of purged objects")

    def names(key: str) -> tuple[str, ...]:
        value = data.get(key, [])
        return tuple(str(name)[:64] for name in value) if isinstance(value, list) else ()

    return purged, names("applied"), names("pending")


def _reason(error: OSError | ValueError) -> str:
    if isinstance(error, ConnectionRefusedError):
        return "connection refused"
    if isinstance(error, OSError):
        return f"cannot reach it: {error.strerror or type(error).__name__}"
    return str(error)
