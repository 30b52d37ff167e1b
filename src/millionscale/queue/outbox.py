"""The transactional outbox: a job enqueued by a transaction is sent if, and only if,
that transaction commits.

A request that writes a row and then publishes a job has two holes: it may
commit and die before the publish (the job is lost), or publish and then roll
back (a job for a write that never happened). Worse, while the broker is down
it must either fail the request or drop the job. The outbox closes all three:

- :func:`enqueue_in` inserts the encoded job into ``queue_outbox`` inside the
  caller's transaction, and ``NOTIFY``s :data:`CHANNEL`. The row and the write
  commit together or not at all, and PostgreSQL delivers a notification only
  on commit. The broker is not involved: writes commit while it is down.
- :class:`OutboxRelay` moves committed rows to a :class:`~.broker.Broker`, oldest
  first, in batches: ``SELECT ... ORDER BY id LIMIT batch FOR UPDATE SKIP
  LOCKED``, then :meth:`~.broker.Broker.publish` each job in order (each returns
  once the broker has stored it), then ``DELETE`` the published rows and commit.

Guarantees:

- **A committed job is published at least once**; a rolled-back one never.
  Only losing the database's committed rows loses a job.
- **Once per job id**, within the broker's dedup window. A relay that dies (or
  whose database fails) after a publish and before its ``DELETE`` commits
  leaves the row, and the next step of any relay publishes it again; the
  broker stores the same id once (:mod:`.broker`'s contract). A step holds its
  rows for at most ``batch`` publishes of at most ``publish_timeout_s`` each,
  far inside JetStream's default window of 2 minutes.
- **Several relays on one database never publish one row concurrently**: a
  row is locked by the one transaction that selected it, and ``SKIP LOCKED``
  makes the others take the next rows instead of waiting. Start one relay per
  web or worker host; they share the work.
- **Order**: a relay publishes its batch in ``id`` order, and stops at the
  first failed publish so that nothing after it goes first. Ids are drawn at
  insert, not at commit, and concurrent relays run side by side, so this is
  "roughly oldest first", not a total order; jobs never rely on order.
- **The broker down**: rows stay in the outbox and :attr:`OutboxStatistics.pending`
  grows; the relay logs one sentence when the outage starts and one when it
  ends, retries with backoff doubling from ``retry_s`` to ``max_retry_s``, and
  sends the backlog once the broker answers. The same for its database.
- **A failover of its database**: give the relay the primary as a callable
  (``lambda: router.primary_dsn``, a :class:`~millionscale.db.Router`'s
  current primary) rather than a fixed DSN. The relay asks it again for every
  connection it opens, and opens one after every database error, so once the
  old primary fails (killed, or drained read-only for a switchover: ``SELECT
  ... FOR UPDATE`` is refused there) the relay's next try reaches the primary
  the router has found. Nothing is lost or sent twice: a step's transaction
  cut before its COMMIT rolls back (its rows are published again, once per id
  at the broker); one cut *during* its COMMIT is ambiguous and is never
  retried as such: the relay opens a new connection and selects again, so the
  rows whose ``DELETE`` did not commit are published again, and the broker
  stores each id once. A row committed on the old primary and not replicated
  before it died is lost with the write it came with (the database's
  durability; a synchronous standby keeps it).
- **A row that is not a job** (its body does not decode, or the broker refuses
  it as malformed) never blocks the rows behind it: it is moved aside to
  ``queue_outbox_rejected`` with the reason, in the same transaction as the
  step's ``DELETE``, logged as an error and counted. It is never retried by
  itself: a person reads the reason, mends the body, and inserts it back.
  :func:`enqueue_in` encodes with :func:`~.job.encode`, which refuses what
  :func:`~.job.decode` could not read, so such a row was written by something
  else or damaged.

Knobs (arguments of :class:`OutboxRelay`): ``batch`` (:data:`BATCH`),
``poll_interval_s`` (:data:`POLL_INTERVAL_S`, the wait between steps when no
notification comes: a notification lost while the listening connection was
down delays a job by at most this), ``publish_timeout_s``
(:data:`PUBLISH_TIMEOUT_S`), ``retry_s`` and ``max_retry_s`` (:mod:`.outage`).
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import time
from collections.abc import Callable
from dataclasses import dataclass
from types import TracebackType
from typing import Any

import psycopg
import structlog
from prometheus_client import Counter, Gauge
from psycopg import AsyncConnection
from psycopg.rows import TupleRow

from millionscale.errors import ConfigError, DatabaseError, first_line
from millionscale.queue._transaction import require_transaction
from millionscale.queue.broker import Broker
from millionscale.queue.job import Job, MalformedJob, decode, encode
from millionscale.queue.outage import MAX_RETRY_S, RETRY_S, Outage

__all__ = [
    "BATCH",
    "CHANNEL",
    "OUTBOX_SCHEMA",
    "POLL_INTERVAL_S",
    "PUBLISH_TIMEOUT_S",
    "OutboxRelay",
    "OutboxStatistics",
    "Relayed",
    "create_outbox_schema",
    "enqueue_in",
    "triage",
]

Connection = AsyncConnection[TupleRow]

CHANNEL = "queue_outbox"  # the NOTIFY channel: one per database, like the table
BATCH = 100  # rows per step: one short transaction, ~100 publishes of ~1 ms on a LAN
POLL_INTERVAL_S = 1.0  # the longest a committed job waits when its notification is lost
PUBLISH_TIMEOUT_S = 5.0  # one publish; the step's row locks are held meanwhile
CONNECT_TIMEOUT_S = 2  # libpq's connect_timeout; it treats values below 2 as 2

OUTBOX_SCHEMA = """
CREATE TABLE IF NOT EXISTS queue_outbox (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    job_id      text NOT NULL,
    body        bytea NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now()
);
CREATE TABLE IF NOT EXISTS queue_outbox_rejected (
    id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    outbox_id    bigint NOT NULL,
    job_id       text NOT NULL,
    body         bytea NOT NULL,
    created_at   timestamptz NOT NULL,
    rejected_at  timestamptz NOT NULL DEFAULT now(),
    reason       text NOT NULL
);
"""

# One round trip: the row and its notification. PostgreSQL folds identical
# notifications of one transaction into one, so a transaction that enqueues a
# thousand jobs wakes the relays once.
_ENQUEUE = """
WITH inserted AS (
    INSERT INTO queue_outbox (job_id, body) VALUES (%s, %s) RETURNING id
)
SELECT pg_notify(%s, '') FROM inserted
"""
_SELECT_BATCH = "SELECT id, body FROM queue_outbox ORDER BY id LIMIT %s FOR UPDATE SKIP LOCKED"
_DELETE = "DELETE FROM queue_outbox WHERE id = ANY(%s)"
_REJECT = """
WITH moved AS (
    DELETE FROM queue_outbox WHERE id = %s RETURNING id, job_id, body, created_at
)
INSERT INTO queue_outbox_rejected (outbox_id, job_id, body, created_at, reason)
SELECT id, job_id, body, created_at, %s FROM moved
"""
_MEASURE = """
SELECT count(*), coalesce(extract(epoch FROM now() - min(created_at)), 0)::float8
FROM queue_outbox
"""

_PUBLISHED = Counter("millionscale_queue_outbox_published", "Outbox rows the broker confirmed")
_FAILURES = Counter("millionscale_queue_outbox_publish_failures", "Outbox publishes that failed")
_REJECTED = Counter("millionscale_queue_outbox_rejected", "Outbox rows moved aside as not a job")
_PENDING = Gauge("millionscale_queue_outbox_pending", "Rows in the outbox at the last look")
_OLDEST = Gauge(
    "millionscale_queue_outbox_oldest_age_seconds", "Age of the oldest outbox row at the last look"
)

log = structlog.get_logger()


async def create_outbox_schema(conn: AsyncConnection[Any]) -> None:
    """Create ``queue_outbox`` and ``queue_outbox_rejected`` if they do not exist
    (idempotent; commits on an autocommit connection, else joins the caller's
    transaction)."""
    await conn.execute(OUTBOX_SCHEMA.encode())  # our own constant SQL, two statements


async def enqueue_in(
    conn: AsyncConnection[Any], job: Job, *, clock: Callable[[], float] = time.time
) -> None:
    """Add ``job`` to the outbox in the caller's transaction.

    Once the transaction commits the job is sent (at least once, once per id
    at the broker); if it rolls back the job is never sent. Nothing waits for
    the broker. A job without ``enqueued_at`` is stamped with ``clock()`` (Unix
    seconds) now, so its age counts from the write, not from the relay's
    publish. Raises :class:`~.job.MalformedJob` (before writing anything) if
    the job cannot be encoded, and :class:`~millionscale.errors.QueueError` on
    an autocommit connection outside a transaction, where the job would
    commit apart from the write it goes with.
    """
    require_transaction(conn, "enqueue_in()")
    if not job.enqueued_at:
        job = dataclasses.replace(job, enqueued_at=clock())
    body = encode(job)
    await conn.execute(_ENQUEUE, (job.id, body, CHANNEL))


def triage(body: bytes) -> Job | str:
    """An outbox row's body: the job to publish, or why it is not one (pure)."""
    try:
        return decode(body)
    except MalformedJob as error:
        return str(error)


@dataclass(frozen=True, slots=True)
class Relayed:
    """One step of a relay: what it moved, and what held the rest back."""

    published: int  # rows published and deleted
    rejected: int  # rows moved aside to queue_outbox_rejected
    more: bool  # the batch was full: rows may be waiting, step again at once
    held: str = ""  # why the step stopped early (the broker or the database failed); "" if not

    @property
    def sentence(self) -> str:
        if self.held:
            return f"published {self.published} job(s), then held the rest: {self.held}"
        rejected = f", moved {self.rejected} row(s) aside as not jobs" if self.rejected else ""
        return f"published {self.published} job(s){rejected}"


@dataclass(frozen=True, slots=True)
class OutboxStatistics:
    """A relay at one instant. ``pending`` and ``oldest_pending_age_s`` are the
    whole outbox's (every relay's), as of the relay's last look (at most one
    ``poll_interval_s`` old while its database answers); the counters are this
    relay's since it started."""

    pending: int
    oldest_pending_age_s: float
    published: int  # publishes the broker confirmed (a republish after a lost DELETE counts again)
    publish_failures: int
    rejected: int
    broker_up: bool
    database_up: bool


class OutboxRelay:
    """Moves committed outbox rows at ``conninfo`` to ``broker``; see the module docstring.

    ``conninfo`` is the database's connection string, or a callable returning
    the current primary's (``lambda: router.primary_dsn``), asked again for each
    connection the relay opens, so the relay follows a failover. It opens two
    connections of its own: one for its steps, one that ``LISTEN``s on
    :data:`CHANNEL`. It does not own ``broker``: close that yourself after
    :meth:`close`.
    """

    def __init__(
        self,
        conninfo: str | Callable[[], str],
        broker: Broker,
        *,
        batch: int = BATCH,
        poll_interval_s: float = POLL_INTERVAL_S,
        publish_timeout_s: float = PUBLISH_TIMEOUT_S,
        retry_s: float = RETRY_S,
        max_retry_s: float = MAX_RETRY_S,
        clock: Callable[[], float] = time.monotonic,
        name: str = "outbox",
    ) -> None:
        if batch < 1:
            raise ConfigError(f"an outbox batch is at least 1 row, not {batch}")
        if poll_interval_s <= 0 or publish_timeout_s <= 0:
            raise ConfigError("the outbox's poll interval and publish timeout must be positive")
        self._conninfo = conninfo
        self._broker = broker
        self._batch = batch
        self._poll_interval_s = poll_interval_s
        self._publish_timeout_s = publish_timeout_s
        self._clock = clock
        self._name = name
        self._broker_outage = Outage("the broker", retry_s, max_retry_s)
        self._database_outage = Outage("the outbox's database", retry_s, max_retry_s)
        self._conn: Connection | None = None
        self._conn_dsn = ""  # what self._conn was opened with
        self._wake = asyncio.Event()
        self._measured_at: float | None = None
        self._pending = 0
        self._oldest_s = 0.0
        self._published = 0
        self._failures = 0
        self._rejected = 0

    async def __aenter__(self) -> OutboxRelay:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.close()

    def statistics(self) -> OutboxStatistics:
        return OutboxStatistics(
            pending=self._pending,
            oldest_pending_age_s=self._oldest_s,
            published=self._published,
            publish_failures=self._failures,
            rejected=self._rejected,
            broker_up=self._broker_outage.up,
            database_up=self._database_outage.up,
        )

    async def run(self, stop: asyncio.Event) -> None:
        """Relay until ``stop`` is set, then close. A broker or database failure
        never ends it: it waits, logs, and tries again."""
        listener = asyncio.create_task(self._listen(), name=f"{self._name}-listen")
        try:
            while not stop.is_set():
                self._wake.clear()  # a notification from here on wakes the pause below
                relayed = await self.step()
                if relayed.held:
                    wait_s = max(self._broker_outage.wait_s(), self._database_outage.wait_s())
                    await self._pause(wait_s, stop, wakeable=False)
                elif not relayed.more:
                    await self._pause(self._poll_interval_s, stop, wakeable=True)
        finally:
            listener.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await listener
            await self.close()

    async def step(self) -> Relayed:
        """Move one batch (at most ``batch`` rows) to the broker. Never raises for a
        broker or database failure: the rows stay, and ``held`` says why."""
        try:
            conn = await self._connection()
            relayed = await self._move(conn)
            now = self._clock()
            if self._measured_at is None or now - self._measured_at >= self._poll_interval_s:
                await self._measure(conn, now)
        except (psycopg.Error, OSError, DatabaseError) as error:
            await self._drop_connection()
            reason = first_line(error)
            sentence = self._database_outage.failed(reason, self._clock())
            if sentence is not None:
                log.warning(sentence, relay=self._name)
            return Relayed(0, 0, more=False, held=f"the outbox's database failed: {reason}")
        sentence = self._database_outage.recovered(self._clock())
        if sentence is not None:
            log.info(sentence, relay=self._name)
        return relayed

    async def close(self) -> None:
        """Close the relay's connections (idempotent). Rows being moved by a step
        that is cancelled stay in the outbox: its transaction rolls back."""
        await self._drop_connection()

    async def _move(self, conn: Connection) -> Relayed:
        published: list[int] = []
        rejected: list[tuple[int, str]] = []
        held = ""
        async with conn.transaction():
            cursor = await conn.execute(_SELECT_BATCH, (self._batch,))
            rows = await cursor.fetchall()
            for row_id, body in rows:
                verdict = triage(bytes(body))
                if isinstance(verdict, Job):
                    refused, held = await self._publish(verdict)
                    if held:
                        break
                    if not refused:
                        published.append(row_id)
                        continue
                    verdict = refused
                rejected.append((row_id, verdict))
            if rejected:
                async with conn.cursor() as moving:
                    await moving.executemany(
                        _REJECT, [(row_id, reason) for row_id, reason in rejected]
                    )
            if published:
                await conn.execute(_DELETE, (published,))
        for row_id, reason in rejected:
            log.error(
                f"moved outbox row {row_id} aside to queue_outbox_rejected: {reason}",
                relay=self._name,
            )
        self._rejected += len(rejected)
        _REJECTED.inc(len(rejected))
        more = not held and len(rows) == self._batch
        return Relayed(len(published), len(rejected), more=more, held=held)

    async def _publish(self, job: Job) -> tuple[str, str]:
        """Publish ``job``: ("", "") once stored, (reason, "") if the broker refuses it
        as not a job, ("", reason) if it failed (the broker is down or slow)."""
        try:
            async with asyncio.timeout(self._publish_timeout_s):
                await self._broker.publish(job)
        except MalformedJob as error:
            return str(error), ""
        except TimeoutError:
            return "", self._broker_failed(f"no confirmation within {self._publish_timeout_s:g} s")
        except Exception as error:  # whatever the broker's client raises: hold the row, retry
            return "", self._broker_failed(first_line(error))
        self._published += 1
        _PUBLISHED.inc()
        sentence = self._broker_outage.recovered(self._clock())
        if sentence is not None:
            log.info(f"{sentence}; sending the outbox's backlog", relay=self._name)
        return "", ""

    def _broker_failed(self, reason: str) -> str:
        self._failures += 1
        _FAILURES.inc()
        sentence = self._broker_outage.failed(reason, self._clock())
        if sentence is not None:
            log.warning(f"{sentence}; jobs wait in the outbox meanwhile", relay=self._name)
        return f"the broker failed: {reason}"

    async def _measure(self, conn: Connection, now: float) -> None:
        cursor = await conn.execute(_MEASURE)
        row = await cursor.fetchone()
        assert row is not None  # an aggregate without GROUP BY returns one row
        self._pending, self._oldest_s = int(row[0]), float(row[1])
        self._measured_at = now
        _PENDING.set(self._pending)
        _OLDEST.set(self._oldest_s)

    def _dsn(self) -> str:
        """The database to connect to now (a callable's answer changes with a failover)."""
        return self._conninfo if isinstance(self._conninfo, str) else self._conninfo()

    async def _connection(self) -> Connection:
        """The steps' connection, to the database ``conninfo`` names now: when its
        answer has changed (the router found a new primary), the connection to the old
        one is closed first, though the old one still works."""
        dsn = self._dsn()
        if self._conn is not None and dsn != self._conn_dsn:
            await self._drop_connection()
        if self._conn is None or self._conn.closed:
            self._conn = await psycopg.AsyncConnection.connect(
                dsn, autocommit=True, connect_timeout=CONNECT_TIMEOUT_S
            )
            self._conn_dsn = dsn
        return self._conn

    async def _drop_connection(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            with contextlib.suppress(psycopg.Error, OSError):
                await conn.close()

    async def _listen(self) -> None:
        """Set the wake event on every notification; after a lost connection, listen
        again a poll interval later; when ``conninfo``'s answer changes, listen on the
        new database at once. Returns only when cancelled.

        The connection is this task's alone: closing it from another task while
        ``notifies()`` waits on its socket would leave the event loop watching a
        closed file descriptor, which the next connection to get that number
        inherits ("connection socket closed" at its connect)."""
        while True:
            dsn = self._dsn()
            try:
                async with await psycopg.AsyncConnection.connect(
                    dsn, autocommit=True, connect_timeout=CONNECT_TIMEOUT_S
                ) as conn:
                    await conn.execute(f"LISTEN {CHANNEL}")
                    self._wake.set()  # rows may have committed while nobody listened
                    while self._dsn() == dsn:
                        async for _ in conn.notifies(timeout=self._poll_interval_s):
                            self._wake.set()
                continue  # the primary moved: listen there
            except (psycopg.Error, OSError, DatabaseError):
                pass  # the steps log the database's outages; polling covers the gap
            await asyncio.sleep(self._poll_interval_s)

    async def _pause(self, seconds: float, stop: asyncio.Event, *, wakeable: bool) -> None:
        waiters = [asyncio.ensure_future(stop.wait())]
        if wakeable:
            waiters.append(asyncio.ensure_future(self._wake.wait()))
        try:
            await asyncio.wait(waiters, timeout=seconds, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for waiter in waiters:
                waiter.cancel()
