"""The :class:`~millionscale.queue.broker.Broker` on NATS JetStream (nats-py).

Layout, for a queue named ``jobs`` (the default):

- stream ``JOBS``, file storage, work-queue retention (a message is removed once
  acked), subjects ``jobs.ready.<task>`` (due now) and ``jobs.delayed.<task>``
  (waiting for ``not_before``), with a 2-minute duplicate window on
  ``Nats-Msg-Id`` = the job's id: a publish retried after a lost confirm is
  stored once (JetStream's default window, its publisher deduplication);
- durable pull consumer ``workers`` on ``jobs.ready.>``: explicit acks, ack
  deadline :data:`ACK_WAIT_S` (JetStream's default), no delivery limit of its
  own (the worker's :class:`~millionscale.queue.retry.RetryPolicy` counts, so a
  job whose worker dies every time still ends in dead letters, with a reason);
- durable pull consumer ``scheduler`` on ``jobs.delayed.>``: a broker that
  fetches jobs (a worker's) also runs a task of its own, from its first fetch
  to its close, that every :data:`SCHEDULE_EVERY_S` moves due delayed jobs to
  ``jobs.ready`` (a confirmed publish, then the ack) and naks the others until
  they are due (NATS 2.9 has no scheduled messages); a broker that only
  publishes (a producer's, the CLI's) never reads it;
- stream ``JOBS_DEAD``, file storage, subjects ``jobs.dead.<task>``: dead letters,
  the original bytes with the reason, the last error and the delivery count in
  headers; ``retry`` republishes one and deletes it.

Durability: JetStream confirms a publish once the message is written to its
store files; they are synced to disk every 2 minutes (NATS 2.9 cannot sync on
every write), so a killed ``nats-server`` loses nothing, while a power loss
may lose the last 2 minutes. A cluster of 3 (``num_replicas=3``) confirms once
a quorum has the message: the setting for more than one machine.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import nats
import nats.errors
import nats.js.errors
import structlog
from nats.aio.client import Client
from nats.aio.msg import Msg
from nats.js import JetStreamContext
from nats.js.api import (
    AckPolicy,
    ConsumerConfig,
    RetentionPolicy,
    StorageType,
    StreamConfig,
)

from millionscale.errors import QueueError, first_line
from millionscale.queue.broker import Accepted, DeadLetterEntry, QueueStatus
from millionscale.queue.job import MAX_JOB_BYTES, TASK_NAME, Job, MalformedJob, decode, encode

__all__ = ["ACK_WAIT_S", "JetStreamBroker", "JetStreamDelivery", "redact"]

log = structlog.get_logger()

ACK_WAIT_S = 30.0  # JetStream's default AckWait
DEDUP_WINDOW_S = 120.0  # JetStream's default duplicate window
MAX_ACK_PENDING = 20_000  # deliveries in flight across all workers (JetStream's default: 1,000)
REQUEST_TIMEOUT_S = 5.0  # a publish confirm or an API call
CONNECT_TIMEOUT_S = 2.0
FIRST_CONNECT_S = 5.0  # a broker that does not answer a new client in this long is down
RECONNECT_WAIT_S = 0.25  # between reconnect attempts; nats-py's default is 2 s
SCHEDULE_EVERY_S = 0.25  # how often a worker's broker moves due delayed jobs: a due job waits
# at most this long (plus one 10 ms read) before it is ready
MAX_NAK_DELAY_S = 60.0  # a delayed job not due is looked at again at least this often
HEADER_CHARS = 1000  # a header value is one line of at most this many characters

REASON = "Millionscale-Reason"
ERROR = "Millionscale-Error"
DELIVERIES = "Millionscale-Deliveries"
SUBJECT = "Millionscale-Subject"
TRUNCATED = "Millionscale-Truncated"

_NatsErrors = (nats.errors.Error, OSError, asyncio.TimeoutError)


def redact(url: str) -> str:
    """``url`` without its token or password: safe to log."""
    parts = urlsplit(url)
    host = parts.hostname or "?"
    return f"{parts.scheme}://{host}:{parts.port}" if parts.port else f"{parts.scheme}://{host}"


def _header(value: str) -> str:
    return " ".join(value.split())[:HEADER_CHARS]


class _Watch:
    """The connection's callbacks: one log line per outage and per distinct error in
    it (a reconnect that keeps failing says why), none when we close it."""

    def __init__(self, address: str) -> None:
        self.address = address
        self.outage = self.closing = False
        self._errors: set[str] = set()

    async def disconnected(self) -> None:
        if not (self.outage or self.closing):
            self.outage = True
            log.warning(f"lost the broker at {self.address}; reconnecting", broker=self.address)

    async def reconnected(self) -> None:
        self.outage = False
        self._errors.clear()
        log.info(f"reconnected to the broker at {self.address}", broker=self.address)

    async def error(self, error: Exception) -> None:
        line = first_line(error)
        if self.closing or line in self._errors:
            return
        if self.outage:
            self._errors.add(line)
        log.warning(f"broker connection: {line}", broker=self.address)


@dataclass(frozen=True, slots=True)
class _Names:
    stream: str
    dead_stream: str
    ready: str  # subject prefix
    delayed: str
    dead: str

    @classmethod
    def of(cls, queue: str) -> _Names:
        if not TASK_NAME.fullmatch(queue):
            raise QueueError(f"queue name {queue!r} is not lowercase letters, digits or '_'")
        return cls(
            queue.upper(),
            f"{queue.upper()}_DEAD",
            f"{queue}.ready",
            f"{queue}.delayed",
            f"{queue}.dead",
        )


class JetStreamDelivery:
    """One JetStream delivery (:class:`~millionscale.queue.broker.Delivery`)."""

    __slots__ = ("_broker", "_msg", "count", "data", "sequence")

    def __init__(self, broker: JetStreamBroker, msg: Msg) -> None:
        self._broker, self._msg = broker, msg
        metadata = msg.metadata
        self.data: bytes = msg.data
        self.count: int = metadata.num_delivered or 1
        self.sequence: int = metadata.sequence.stream if metadata.sequence else 0

    async def ack(self) -> None:
        await self._settle(self._msg.ack())

    async def nack(self, delay_s: float = 0.0) -> None:
        await self._settle(self._msg.nak(delay=delay_s if delay_s > 0 else None))

    async def in_progress(self) -> None:
        await self._settle(self._msg.in_progress())

    async def dead_letter(self, reason: str, error: str = "") -> None:
        await self._broker.store_dead(
            self._msg.subject, self.data, reason, error, self.count, self.sequence
        )
        await self._settle(self._msg.ack_sync(timeout=REQUEST_TIMEOUT_S))

    async def _settle(self, call: Any) -> None:
        """An ack, nak or progress that cannot reach the broker is not retried: the
        delivery's deadline passes and the job is delivered again (at least once)."""
        try:
            await call
        except _NatsErrors as error:
            raise QueueError(
                f"the broker did not take the acknowledgement: {first_line(error)}",
                hint="the job will be delivered again after its ack deadline",
            ) from None


class JetStreamBroker:
    """A durable job queue on one JetStream; see the module docstring.

    Open with ``await JetStreamBroker.connect(url)``; it creates the streams and
    consumers it needs if they are missing (an existing one is used as it is).
    The constructor takes the client ``connect`` opened and its ``watch`` (the
    callbacks it was connected with, which know the broker's address).
    """

    def __init__(
        self,
        client: Client,
        watch: _Watch,
        queue: str,
        *,
        ack_wait_s: float = ACK_WAIT_S,
        clock: Any = time.time,
    ) -> None:
        self._nc = client
        self._watch = watch
        self._js: JetStreamContext = client.jetstream(timeout=REQUEST_TIMEOUT_S)
        self._names = _Names.of(queue)
        self.ack_wait_s = ack_wait_s
        self.dedup_window_s = DEDUP_WINDOW_S
        self.address = watch.address
        self._clock = clock
        self._workers: JetStreamContext.PullSubscription | None = None
        self._scheduler: JetStreamContext.PullSubscription | None = None
        self._mover: asyncio.Task[None] | None = None  # moves due delayed jobs; see _move_due
        self._closing = False
        self._fetching = asyncio.Lock()  # nats-py's pull subscription takes one fetch at a time

    @classmethod
    async def connect(
        cls,
        url: str,
        queue: str = "jobs",
        *,
        ack_wait_s: float = ACK_WAIT_S,
        name: str = "millionscale-queue",
    ) -> JetStreamBroker:
        """Connect to the NATS server at ``url`` and make sure the queue exists.
        :class:`QueueError` (naming the address, never the token) if it cannot."""
        client, watch = await _open(url, name)
        try:
            broker = cls(client, watch, queue, ack_wait_s=ack_wait_s)
            await broker._ensure()
        except BaseException:
            watch.closing = True  # our close: no "lost the broker" line
            await client.close()
            raise
        return broker

    async def _ensure(self) -> None:
        names = self._names
        try:
            await self._stream(
                StreamConfig(
                    name=names.stream,
                    subjects=[f"{names.ready}.*", f"{names.delayed}.*"],
                    retention=RetentionPolicy.WORK_QUEUE,
                    storage=StorageType.FILE,
                    duplicate_window=DEDUP_WINDOW_S,
                )
            )
            await self._stream(
                StreamConfig(
                    name=names.dead_stream,
                    subjects=[f"{names.dead}.*"],
                    retention=RetentionPolicy.LIMITS,
                    storage=StorageType.FILE,
                    duplicate_window=DEDUP_WINDOW_S,
                )
            )
            self._workers = await self._consumer("workers", f"{names.ready}.>")
            self._scheduler = await self._consumer("scheduler", f"{names.delayed}.>")
        except _NatsErrors as error:
            raise QueueError(
                f"the broker at {self.address} refused the queue's streams: {first_line(error)}",
                hint="is JetStream enabled on it?",
            ) from None

    async def _stream(self, config: StreamConfig) -> None:
        assert config.name is not None
        try:
            await self._js.stream_info(config.name)
        except nats.js.errors.NotFoundError:
            await self._js.add_stream(config)

    async def _consumer(self, durable: str, subject: str) -> JetStreamContext.PullSubscription:
        config = ConsumerConfig(
            durable_name=durable,
            ack_policy=AckPolicy.EXPLICIT,
            ack_wait=self.ack_wait_s,
            max_deliver=-1,
            max_ack_pending=MAX_ACK_PENDING,
            filter_subject=subject,
        )
        return await self._js.pull_subscribe(
            subject, durable=durable, stream=self._names.stream, config=config
        )

    # -- producers -------------------------------------------------------

    async def publish(self, job: Job) -> Accepted:
        if not job.enqueued_at:
            job = dataclasses.replace(job, enqueued_at=self._clock())
        data = encode(job)
        prefix = self._names.delayed if job.delay_s(self._clock()) > 0 else self._names.ready
        return await self._publish(f"{prefix}.{job.task}", data, job.id)

    async def _publish(
        self, subject: str, data: bytes, msg_id: str, headers: dict[str, str] | None = None
    ) -> Accepted:
        try:
            ack = await self._js.publish(
                subject,
                data,
                timeout=REQUEST_TIMEOUT_S,
                headers={"Nats-Msg-Id": msg_id, **(headers or {})},
            )
        except _NatsErrors as error:
            raise QueueError(
                f"the broker at {self.address} did not confirm the job: {first_line(error)}",
                hint="it may or may not be stored: publish it again (the same id is stored once)",
            ) from None
        return Accepted(ack.seq, bool(ack.duplicate))

    # -- workers ---------------------------------------------------------

    async def fetch(self, batch: int, timeout_s: float) -> Sequence[JetStreamDelivery]:
        if self._mover is None and not (self._closing or self._nc.is_closed):
            self._mover = asyncio.get_running_loop().create_task(
                self._move_due(), name=f"{self._names.stream} delayed jobs"
            )
        try:
            async with asyncio.timeout(timeout_s + REQUEST_TIMEOUT_S), self._fetching:
                messages = await self._fetch(batch, timeout_s)
        except TimeoutError:
            raise QueueError(f"a fetch from {self.address} did not return") from None
        return [JetStreamDelivery(self, message) for message in messages]

    async def _fetch(self, batch: int, timeout_s: float) -> list[Msg]:
        assert self._workers is not None
        try:
            return await self._workers.fetch(batch, timeout=timeout_s)
        except (TimeoutError, nats.errors.TimeoutError):
            return []
        except _NatsErrors as error:
            raise QueueError(
                f"cannot fetch jobs from {self.address}: {first_line(error)}"
            ) from None

    async def _move_due(self) -> None:
        """Move due delayed jobs every :data:`SCHEDULE_EVERY_S` until :meth:`close`
        (which cancels it, and sets ``_closing`` too: Python 3.11's ``wait_for``, used
        inside nats-py, can swallow a cancellation that meets a message). A step that
        fails (the broker down) is tried again at the next one; the first failure of a
        run of them is logged, and the step that works again."""
        failing = False
        while not self._closing:
            try:
                await self._schedule()
            except Exception as error:  # never ends the mover: delayed jobs would wait for ever
                if not failing:
                    line = error.one_line() if isinstance(error, QueueError) else repr(error)
                    log.warning(f"{line}; trying again every {SCHEDULE_EVERY_S:g} s")
                failing = True
            else:
                if failing:
                    log.info(f"moving delayed jobs from {self.address} again")
                failing = False
            await asyncio.sleep(SCHEDULE_EVERY_S)

    async def _schedule(self) -> int:
        """Move the delayed jobs that are due to the ready subjects; how many moved."""
        assert self._scheduler is not None
        try:
            messages = await self._scheduler.fetch(100, timeout=0.01)
        except (TimeoutError, nats.errors.TimeoutError):
            return 0
        except _NatsErrors as error:
            raise QueueError(
                f"cannot read delayed jobs from {self.address}: {first_line(error)}"
            ) from None
        moved = 0
        for message in messages:
            delivery = JetStreamDelivery(self, message)
            try:
                job = decode(message.data)
            except MalformedJob as error:
                await delivery.dead_letter(f"malformed delayed job: {error}")
                continue
            wait = job.delay_s(self._clock())
            if wait > 0:
                await delivery.nack(min(wait, MAX_NAK_DELAY_S))
                continue
            await self._publish(f"{self._names.ready}.{job.task}", message.data, f"{job.id}.due")
            await delivery.ack()
            moved += 1
        return moved

    async def store_dead(
        self, subject: str, data: bytes, reason: str, error: str, deliveries: int, sequence: int
    ) -> None:
        """Store a dead letter (confirmed) for the message ``data`` once at ``subject``."""
        task = subject.rsplit(".", 1)[-1]
        if not TASK_NAME.fullmatch(task):
            task = "unknown"
        headers = {
            REASON: _header(reason),
            ERROR: _header(error),
            DELIVERIES: str(deliveries),
            SUBJECT: _header(subject),
        }
        if len(data) > MAX_JOB_BYTES:
            headers[TRUNCATED] = f"first {MAX_JOB_BYTES} of {len(data)} bytes"
            data = data[:MAX_JOB_BYTES]
        await self._publish(f"{self._names.dead}.{task}", data, f"dead.{sequence}", headers)

    # -- operators -------------------------------------------------------

    async def status(self) -> QueueStatus:
        names = self._names
        try:
            workers = await self._js.consumer_info(names.stream, "workers")
            scheduler = await self._js.consumer_info(names.stream, "scheduler")
            dead = await self._js.stream_info(names.dead_stream)
            jobs = await self._js.stream_info(names.stream)
            oldest = await self._oldest_ready()
        except _NatsErrors as error:
            raise QueueError(
                f"cannot read the queue's state from {self.address}: {first_line(error)}"
            ) from None
        return QueueStatus(
            ready=workers.num_pending or 0,
            in_flight=workers.num_ack_pending or 0,
            delayed=(scheduler.num_pending or 0) + (scheduler.num_ack_pending or 0),
            dead_letters=dead.state.messages,
            oldest_age_s=max(0.0, self._clock() - oldest) if oldest is not None else 0.0,
            redelivered=workers.num_redelivered or 0,
            # Work-queue retention removes a message once acked: every sequence number
            # handed out and no longer stored is a message the queue is done with.
            finished=max(0, (jobs.state.last_seq or 0) - (jobs.state.messages or 0)),
        )

    async def _oldest_ready(self) -> float | None:
        """The publish time (Unix) of the oldest job on a ready subject, if any."""
        info = await self._js.stream_info(self._names.stream)
        if not info.state.messages:
            return None
        try:
            message = await self._js.get_msg(
                self._names.stream,
                seq=info.state.first_seq,
                subject=f"{self._names.ready}.*",
                next=True,
            )
        except nats.js.errors.NotFoundError:
            return None
        return message.time.timestamp() if message.time is not None else None

    async def dead_letters(self, limit: int = 100) -> Sequence[DeadLetterEntry]:
        try:
            info = await self._js.stream_info(self._names.dead_stream)
            entries: list[DeadLetterEntry] = []
            sequence = info.state.first_seq
            while info.state.messages and len(entries) < limit and sequence <= info.state.last_seq:
                entry = await self._dead_letter(sequence)
                if entry is not None:
                    entries.append(entry)
                sequence += 1
        except _NatsErrors as error:
            raise QueueError(
                f"cannot read dead letters from {self.address}: {first_line(error)}"
            ) from None
        return entries

    async def _dead_letter(self, sequence: int) -> DeadLetterEntry | None:
        try:
            message = await self._js.get_msg(self._names.dead_stream, seq=sequence)
        except nats.js.errors.NotFoundError:
            return None  # deleted: retried
        data = message.data or b""
        headers = message.headers or {}
        try:
            job: Job | None = decode(data)
        except MalformedJob:
            job = None
        deliveries = headers.get(DELIVERIES, "0")
        return DeadLetterEntry(
            id=sequence,
            job=job,
            raw=data,
            reason=headers.get(REASON, ""),
            error=headers.get(ERROR, ""),
            deliveries=int(deliveries) if deliveries.isdigit() else 0,
            dead_at=message.time.timestamp() if message.time is not None else 0.0,
        )

    async def retry(self, entry_id: int) -> Job:
        try:
            entry = await self._dead_letter(entry_id)
        except _NatsErrors as error:
            raise QueueError(
                f"cannot read dead letter {entry_id} from {self.address}: {first_line(error)}"
            ) from None
        if entry is None:
            raise QueueError(
                f"there is no dead letter {entry_id}",
                hint="'millionscale queue dead-letters' lists them",
            )
        if entry.job is None:
            raise QueueError(
                f"dead letter {entry_id} holds no job ({entry.reason})",
                hint="it cannot run; fix the producer that sent it",
            )
        job = entry.job
        await self._publish(
            f"{self._names.ready}.{job.task}", entry.raw, f"{job.id}.retry.{entry_id}"
        )
        try:
            await self._js.delete_msg(self._names.dead_stream, entry_id)
        except nats.js.errors.NotFoundError:
            pass  # another retry of it won the race; the dedup key made the two one
        except _NatsErrors as error:
            raise QueueError(
                f"dead letter {entry_id} is back on the queue but still listed: {first_line(error)}"
            ) from None
        return job

    async def purge(self) -> None:
        """Drop every job and dead letter (tests and benchmarks start empty)."""
        await self._js.purge_stream(self._names.stream)
        await self._js.purge_stream(self._names.dead_stream)

    async def close(self) -> None:
        """Stop moving delayed jobs, send what is buffered (acks), then close; never
        waits on a broker that is down."""
        self._closing = True
        if self._mover is not None:
            self._mover.cancel()
            await asyncio.wait({self._mover}, timeout=SCHEDULE_EVERY_S + REQUEST_TIMEOUT_S)
        if self._nc.is_closed:
            return
        self._watch.closing = True
        if self._nc.is_connected:
            with contextlib.suppress(*_NatsErrors):
                await self._nc.flush(timeout=1)
        await self._nc.close()


async def _open(url: str, name: str) -> tuple[Client, _Watch]:
    """A connected client to ``url`` and its callbacks; QueueError within
    :data:`FIRST_CONNECT_S` if the broker does not answer."""
    address = redact(url)
    watch = _Watch(address)
    watch.closing = True  # quiet while the first connection is tried: its error is ours
    client = Client()
    options: dict[str, Any] = {  # nats-py types its seconds as int; it takes floats
        "name": name,
        "connect_timeout": CONNECT_TIMEOUT_S,
        "max_reconnect_attempts": -1,  # once connected, reconnect for ever
        "reconnect_time_wait": RECONNECT_WAIT_S,
        "allow_reconnect": True,
        "disconnected_cb": watch.disconnected,
        "reconnected_cb": watch.reconnected,
        "error_cb": watch.error,
    }
    try:
        async with asyncio.timeout(FIRST_CONNECT_S):
            await client.connect(url, **options)
    except (*_NatsErrors, ValueError) as error:
        with contextlib.suppress(*_NatsErrors):
            await client.close()
        reason = "no answer" if isinstance(error, TimeoutError) else first_line(error)
        last = f" ({first_line(client.last_error)})" if client.last_error else ""
        raise QueueError(
            f"cannot connect to the broker at {address} within {FIRST_CONNECT_S:g} s: "
            f"{reason}{last}",
            hint="is nats-server running there, with JetStream on?",
        ) from None
    watch.closing = False
    return client, watch
