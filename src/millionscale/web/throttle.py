"""Login throttling: failed logins counted per account and per client address.

A password guesser is slowed down two ways at once: per **account** (many
addresses guessing one user's password) and per **address** (one address
guessing many users' passwords). Each is a sliding-window counter (the
approximation Cloudflare describes in "How we built rate limiting capable of
scaling to millions of domains", 2017): the window's count is estimated as
``previous * (1 - elapsed) + current`` over two fixed slots, so a burst at a
slot boundary cannot pass twice the limit, and each slot is one integer a
shared store increments atomically.

Layers, as elsewhere in millionscale:

- :class:`SlidingWindow` decides, purely, from a clock reading and two
  counts: :class:`Allowed` or :class:`Refused` with the exact wait;
- a :class:`FailureCounter` holds the counts where every web server sees
  them: :class:`RedisFailureCounter` (the stateless web tier's Redis),
  :class:`PostgresFailureCounter` (the single-server stage's only shared
  store) or :class:`MemoryFailureCounter` (one process: tests, embedding;
  with N processes it allows N times the limit, and forgets on restart);
- :class:`LoginThrottle` puts them together for a login handler.

An attempt is counted **before** the password is checked and taken back if
it succeeds, so concurrent guesses cannot all pass a check made before any
of them failed: the (limit + 1)-th concurrent attempt is refused. A refused
attempt is not counted (the wait it is told stays true). A success clears
its account's count and takes its attempt back from its address's. Unknown
usernames are throttled like real ones, so a 429 says nothing about whether
an account exists.
"""

from __future__ import annotations

import hashlib
import ipaddress
import math
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol, TypeVar

from prometheus_client import Counter
from redis import exceptions as redis_errors
from redis.asyncio import Redis

from millionscale.errors import SessionStoreUnavailable

__all__ = [
    "ACCOUNT_FAILURES",
    "ADDRESS_FAILURES",
    "FAILURE_TABLE_SCHEMA",
    "WINDOW_S",
    "Allowed",
    "Decision",
    "FailureCounter",
    "LoginAttempt",
    "LoginThrottle",
    "MemoryFailureCounter",
    "PostgresFailureCounter",
    "RedisFailureCounter",
    "Refused",
    "SlidingWindow",
    "ThrottleStatistics",
    "address_key",
]

# Ours. NIST SP 800-63B §5.2.2 caps consecutive failures on one account at 100;
# a person mistyping a password makes a handful, so 10 in 10 minutes slows a
# guesser to one guess a minute while sparing a clumsy user.
ACCOUNT_FAILURES = 10
# Ours: several people behind one NAT (an office, a phone carrier) share an address;
# fail2ban's default for sshd is 5 per 10 minutes from one address, for one service.
ADDRESS_FAILURES = 50
WINDOW_S = 600.0  # 10 minutes: fail2ban's default findtime
# An estimate this close to the limit is at it: a clock reading that is a Retry-After
# later must be allowed, whatever floating point makes of the fraction.
_ROUNDING = 1e-9
IPV6_PREFIX = 64  # one IPv6 subscriber is a /64 (RFC 6177): its addresses cost nothing

_ATTEMPTS = Counter(
    "millionscale_login_attempts_total",
    "Login attempts seen by the throttle, by outcome.",
    ["outcome"],  # allowed, refused_account, refused_address
)


@dataclass(frozen=True, slots=True)
class Allowed:
    estimate: float  # the window's estimated count, this attempt included


@dataclass(frozen=True, slots=True)
class Refused:
    estimate: float
    retry_after_s: float  # from now until the next attempt would be allowed (if none came)

    @property
    def retry_after(self) -> int:
        """Whole seconds for ``Retry-After`` (RFC 9110 §10.2.3), never 0."""
        return max(1, math.ceil(self.retry_after_s))


Decision = Allowed | Refused


@dataclass(frozen=True, slots=True)
class SlidingWindow:
    """At most ``limit`` events in any ``window_s`` seconds (approximately: see above)."""

    limit: int
    window_s: float

    def __post_init__(self) -> None:
        if self.limit < 1 or not (math.isfinite(self.window_s) and self.window_s > 0):
            raise ValueError("a sliding window needs a limit of 1 or more and a positive window")

    def slot(self, now: float) -> int:
        """The fixed slot ``now`` falls in; counts are kept per slot."""
        return math.floor(now / self.window_s)

    def estimate(self, now: float, previous: int, current: int) -> float:
        fraction = now / self.window_s - self.slot(now)
        return max(previous, 0) * (1 - fraction) + max(current, 0)

    def decide(self, now: float, previous: int, current: int) -> Decision:
        """Whether the attempt counted in ``current`` (this slot's count) may pass.

        ``previous`` is the previous slot's count. Refused, it says how long
        until an attempt would pass if this one is taken back and none other
        comes: the soonest time the estimate with one more attempt is within
        the limit, in this slot, the next or the one after.
        """
        estimate = self.estimate(now, previous, current)
        if estimate <= self.limit + _ROUNDING:
            return Allowed(estimate)
        return Refused(estimate, self._soonest(now, max(previous, 0), max(current, 0)) - now)

    def _soonest(self, now: float, previous: int, current: int) -> float:
        start, w, limit = self.slot(now) * self.window_s, self.window_s, self.limit
        # This slot: previous * (1 - f) + current <= limit.
        if previous > 0 and current <= limit:
            at = start + w * (1 - (limit - current) / previous)
            if at >= now:
                return at
        # The next slot: this one's count less the refused attempt becomes the previous.
        carried = current - 1
        if carried <= limit - 1:
            return start + w
        return start + w + w * (1 - (limit - 1) / carried)


class FailureCounter(Protocol):
    """Counts per key and slot, shared by every web server.

    Contract: :meth:`add` increments each key's count for ``slot`` atomically
    (two concurrent adds are two counts, never one) and returns, per key,
    ``(previous slot's count, this slot's count after the add)``; a count
    lives at least ``ttl_s``; counts may be over-counted (a statement retried
    after a lost connection), never lost while the store runs.
    """

    async def add(self, keys: Sequence[str], slot: int, ttl_s: float) -> list[tuple[int, int]]: ...

    async def take_back(self, key: str, slot: int) -> None:
        """One count less for ``key`` in ``slot`` (never below 0 as seen by decisions)."""
        ...

    async def clear(self, key: str, slot: int) -> None:
        """Forget ``key``'s counts in ``slot`` and the slot before."""
        ...


class MemoryFailureCounter:
    """Counts in this process: for one process (tests, embedding), not a web tier."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self.clock = clock
        self._counts: dict[tuple[str, int], tuple[int, float]] = {}  # -> count, expires at

    def _get(self, key: str, slot: int) -> int:
        count, expires = self._counts.get((key, slot), (0, math.inf))
        return count if expires > self.clock() else 0

    async def add(self, keys: Sequence[str], slot: int, ttl_s: float) -> list[tuple[int, int]]:
        now = self.clock()
        self._counts = {k: v for k, v in self._counts.items() if v[1] > now}  # expiry
        seen = []
        for key in keys:
            count = self._get(key, slot) + 1
            self._counts[(key, slot)] = (count, now + ttl_s)
            seen.append((self._get(key, slot - 1), count))
        return seen

    async def take_back(self, key: str, slot: int) -> None:
        count, expires = self._counts.get((key, slot), (0, 0.0))
        if count > 0:
            self._counts[(key, slot)] = (count - 1, expires)

    async def clear(self, key: str, slot: int) -> None:
        self._counts.pop((key, slot), None)
        self._counts.pop((key, slot - 1), None)


T = TypeVar("T")


_TAKE_BACK = """
if redis.call('EXISTS', KEYS[1]) == 1 then return redis.call('DECR', KEYS[1]) end
return 0
"""


class RedisFailureCounter:
    """Counts in Redis: one key per key and slot, ``INCR`` and ``PEXPIRE`` in one
    ``MULTI``, so every web server sees every count and Redis expires them.

    A Redis that does not answer raises :class:`SessionStoreUnavailable` (the
    same Redis holds the sessions: a login could not start one either).
    """

    def __init__(self, client: Redis, address: str, prefix: str = "ms:throttle:") -> None:
        self.client, self.address, self.prefix = client, address, prefix

    def _key(self, key: str, slot: int) -> str:
        return f"{self.prefix}{key}:{slot}"

    async def _call(self, work: Callable[[], Awaitable[T]]) -> T:
        try:
            return await work()
        except redis_errors.RedisError as error:
            reason = " ".join(str(error).split()) or type(error).__name__
            raise SessionStoreUnavailable(
                f"login throttle's redis at {self.address} cannot be used: {reason}",
                hint="check that Redis runs and REDIS_URL points at it; logins get 503 meanwhile",
            ) from None

    async def add(self, keys: Sequence[str], slot: int, ttl_s: float) -> list[tuple[int, int]]:
        async def work() -> list[Any]:
            async with self.client.pipeline(transaction=True) as pipe:
                for key in keys:
                    pipe.incr(self._key(key, slot))
                    pipe.pexpire(self._key(key, slot), math.ceil(ttl_s * 1000))
                    pipe.get(self._key(key, slot - 1))
                return list(await pipe.execute())

        replies = await self._call(work)
        return [(int(replies[i + 2] or 0), int(replies[i])) for i in range(0, len(replies), 3)]

    async def take_back(self, key: str, slot: int) -> None:
        async def work() -> None:  # never DECR a key that is gone: it would have no TTL
            await self.client.eval(_TAKE_BACK, 1, self._key(key, slot))

        await self._call(work)

    async def clear(self, key: str, slot: int) -> None:
        async def work() -> None:
            await self.client.delete(self._key(key, slot), self._key(key, slot - 1))

        await self._call(work)


FAILURE_TABLE_SCHEMA = """
CREATE TABLE IF NOT EXISTS login_failures (
    key         text NOT NULL,
    slot        bigint NOT NULL,
    count       integer NOT NULL,
    expires_at  timestamptz NOT NULL,
    PRIMARY KEY (key, slot)
);
CREATE INDEX IF NOT EXISTS login_failures_expires_at ON login_failures (expires_at);
"""


class Statements(Protocol):
    """Where the PostgreSQL counter's statements run (the photo app: its router's primary)."""

    async def write(self, work: Callable[[Any], Awaitable[T]]) -> T: ...


class PostgresFailureCounter:
    """Counts in a PostgreSQL table (``FAILURE_TABLE_SCHEMA``): an upsert per key
    (atomic under concurrent adds: ``INSERT ... ON CONFLICT DO UPDATE`` locks
    the row), expired rows of the keys touched deleted as it goes."""

    def __init__(self, db: Statements) -> None:
        self.db = db

    async def add(self, keys: Sequence[str], slot: int, ttl_s: float) -> list[tuple[int, int]]:
        async def work(conn: Any) -> list[tuple[int, int]]:
            seen = []
            for key in sorted(set(keys)):  # one lock order: concurrent adds never deadlock
                cur = await conn.execute(
                    "INSERT INTO login_failures (key, slot, count, expires_at)"
                    " VALUES (%s, %s, 1, now() + make_interval(secs => %s))"
                    " ON CONFLICT (key, slot) DO UPDATE SET count = login_failures.count + 1,"
                    " expires_at = EXCLUDED.expires_at RETURNING count",
                    (key, slot, ttl_s),
                )
                current = (await cur.fetchone())[0]
                cur = await conn.execute(
                    "SELECT count FROM login_failures WHERE key = %s AND slot = %s"
                    " AND expires_at > now()",
                    (key, slot - 1),
                )
                row = await cur.fetchone()
                await conn.execute(
                    "DELETE FROM login_failures WHERE key = %s AND expires_at <= now()", (key,)
                )
                seen.append((key, (int(row[0]) if row else 0, int(current))))
            found = dict(seen)
            return [found[key] for key in keys]

        return await self.db.write(work)

    async def take_back(self, key: str, slot: int) -> None:
        async def work(conn: Any) -> None:
            await conn.execute(
                "UPDATE login_failures SET count = count - 1"
                " WHERE key = %s AND slot = %s AND count > 0",
                (key, slot),
            )

        await self.db.write(work)

    async def clear(self, key: str, slot: int) -> None:
        async def work(conn: Any) -> None:
            await conn.execute(
                "DELETE FROM login_failures WHERE key = %s AND slot IN (%s, %s)",
                (key, slot, slot - 1),
            )

        await self.db.write(work)


def address_key(address: str) -> str:
    """The throttle's key for a client address: an IPv6 address's /64, else the address."""
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return address[:64]  # not an IP (a Unix socket peer, a test client): as it is
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:
            return str(ip.ipv4_mapped)
        return str(ipaddress.ip_network(f"{ip}/{IPV6_PREFIX}", strict=False))
    return str(ip)


@dataclass(frozen=True, slots=True)
class LoginAttempt:
    """One counted attempt: take it back with :meth:`LoginThrottle.succeeded`."""

    account: str
    address: str
    account_slot: int
    address_slot: int
    refused: Refused | None  # set when refused (and then already taken back)


@dataclass(frozen=True, slots=True)
class ThrottleStatistics:
    allowed: int
    refused_account: int
    refused_address: int


class LoginThrottle:
    """Failed logins per account and per address, over a shared :class:`FailureCounter`."""

    def __init__(
        self,
        counter: FailureCounter,
        *,
        per_account: SlidingWindow | None = None,
        per_address: SlidingWindow | None = None,
        clock: Callable[[], float] = time.time,  # one clock for every web server
    ) -> None:
        self.counter = counter
        self.per_account = per_account or SlidingWindow(ACCOUNT_FAILURES, WINDOW_S)
        self.per_address = per_address or SlidingWindow(ADDRESS_FAILURES, WINDOW_S)
        self.clock = clock
        self._counts = dict.fromkeys(ThrottleStatistics.__slots__, 0)

    async def attempt(self, username: str, address: str) -> LoginAttempt:
        """Count a login attempt; refused (and not counted) when over either limit."""
        now = self.clock()
        digest = hashlib.sha256(username.strip().lower().encode()).hexdigest()[:32]
        account, where = f"account:{digest}", f"address:{address_key(address)}"
        a_slot, b_slot = self.per_account.slot(now), self.per_address.slot(now)
        ttl = 2 * max(self.per_account.window_s, self.per_address.window_s)
        if a_slot == b_slot:
            a_counts, b_counts = await self.counter.add([account, where], a_slot, ttl)
        else:
            (a_counts,) = await self.counter.add([account], a_slot, ttl)
            (b_counts,) = await self.counter.add([where], b_slot, ttl)
        decisions = {
            "refused_account": self.per_account.decide(now, *a_counts),
            "refused_address": self.per_address.decide(now, *b_counts),
        }
        refusals = {k: d for k, d in decisions.items() if isinstance(d, Refused)}
        if not refusals:
            self._count("allowed")
            return LoginAttempt(account, where, a_slot, b_slot, None)
        await self.counter.take_back(account, a_slot)
        await self.counter.take_back(where, b_slot)
        worst = max(refusals, key=lambda k: refusals[k].retry_after_s)
        self._count(worst)
        return LoginAttempt(account, where, a_slot, b_slot, refusals[worst])

    async def succeeded(self, attempt: LoginAttempt) -> None:
        """The password was right: clear the account's count, take the attempt back."""
        await self.counter.clear(attempt.account, attempt.account_slot)
        await self.counter.take_back(attempt.address, attempt.address_slot)

    def _count(self, outcome: str) -> None:
        self._counts[outcome] += 1
        _ATTEMPTS.labels(outcome).inc()

    def statistics(self) -> ThrottleStatistics:
        return ThrottleStatistics(**self._counts)
